/** `gridmesh peers`: every member with its link state, relay and counters, then a summary line. */
import type { Command } from 'commander'
import type { PeerRow } from '../admin/contract.ts'
import { addInspectOptions, call, printJson, type InspectOptions } from './common.ts'
import { ago, bytes, renderTable, shortId } from './table.ts'

/**
 * peersSummary is the line under the table: "4/4 direct" when every peer is
 * direct, else the count per state ("3 direct, 1 relayed"), or a warning
 * when this node sees no peer at all.
 */
export function peersSummary (peers: readonly PeerRow[]): string {
  if (peers.length === 0) return 'no peers: this node is alone in the mesh (check --bootstrap and the mesh name)'
  const count = (s: PeerRow['state']): number => peers.filter(p => p.state === s).length
  const direct = count('direct')
  if (direct === peers.length) return `${direct}/${peers.length} direct`
  const parts = [`${direct} direct`, `${count('relayed')} relayed`, `${count('unreachable')} unreachable`]
  return parts.filter(p => !p.startsWith('0 ') || p.endsWith(' direct')).join(', ')
}

/** renderPeers is the human form: the table and the summary line. */
export function renderPeers (peers: readonly PeerRow[], now = Date.now()): string {
  const rows = peers.map(p => [
    shortId(p.peerId), p.address, p.state, shortId(p.via), p.rttMs === null ? '-' : `${p.rttMs.toFixed(1)}ms`,
    ago(p.lastHandshake, now), `${bytes(p.rxBytes)}/${bytes(p.txBytes)}`, p.endpoint ?? '-', ago(p.since, now)
  ])
  const table = peers.length === 0 ? '' : renderTable(['PEER', 'ADDRESS', 'STATE', 'VIA', 'RTT', 'HANDSHAKE', 'RX/TX', 'ENDPOINT', 'AGE'], rows)
  return `${table}${peersSummary(peers)}\n`
}

export function registerPeers (program: Command): void {
  addInspectOptions(program.command('peers').description('list mesh peers: state (direct|relayed|unreachable), via, RTT, handshake, traffic'))
    .action(async (opts: InspectOptions) => {
      const peers = await call(opts, 'GET /v1/peers')
      if (opts.json === true) { printJson(peers); return }
      process.stdout.write(renderPeers(peers))
    })
}
