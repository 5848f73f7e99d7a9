/** `gridmesh peers`: every member with its link state, relay and counters. */
import type { Command } from 'commander'
import { addInspectOptions, getJson, printJson, type InspectOptions } from './common.ts'
import { ago, bytes, renderTable, shortId } from './table.ts'

interface PeerView {
  peerId: string, address: string, prefix: string, endpoint: string | null, state: string, via: string | null,
  rttMs: number | null, lastHandshake?: number | null, rxBytes?: number, txBytes?: number, since?: number | null
}

export function registerPeers (program: Command): void {
  addInspectOptions(program.command('peers').description('list mesh peers: state (direct|relayed|unreachable), via, RTT, handshake, traffic'))
    .action(async (opts: InspectOptions) => {
      const peers = await getJson(opts, '/v1/peers') as PeerView[]
      if (opts.json === true) { printJson(peers); return }
      const rows = peers.map(p => [
        shortId(p.peerId), p.address, p.state, shortId(p.via), p.rttMs === null ? '-' : `${p.rttMs.toFixed(1)}ms`,
        ago(p.lastHandshake === undefined || p.lastHandshake === null ? null : p.lastHandshake),
        `${bytes(p.rxBytes)}/${bytes(p.txBytes)}`, p.endpoint ?? '-', ago(p.since)
      ])
      process.stdout.write(renderTable(['PEER', 'ADDRESS', 'STATE', 'VIA', 'RTT', 'HANDSHAKE', 'RX/TX', 'ENDPOINT', 'AGE'], rows))
    })
}
