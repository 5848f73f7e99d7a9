/** `gridmesh status`: this node's identity, addresses and mesh size. */
import type { Command } from 'commander'
import { addInspectOptions, call, printJson, type InspectOptions } from './common.ts'
import { shortId } from './table.ts'
import type { GraphView } from '../admin/contract.ts'

/** relayingLine says which other members' routes pass through this node. */
export function relayingLine (relaying: GraphView['relaying']): string {
  if (relaying.length === 0) return 'none'
  const shown = relaying.slice(0, 4).map(r => `${shortId(r.from)} > ${shortId(r.to)}`).join(', ')
  return `${relaying.length} route${relaying.length === 1 ? '' : 's'}: ${shown}${relaying.length > 4 ? ', …' : ''}`
}

export function registerStatus (program: Command): void {
  addInspectOptions(program.command('status').description('show this node: identity, prefix, address, members'))
    .action(async (opts: InspectOptions) => {
      const s = await call(opts, 'GET /v1/status')
      if (opts.json === true) { printJson(s); return }
      const { relaying } = await call(opts, 'GET /v1/graph')
      const rows: [string, string][] = [
        ['peer id', s.peerId], ['mesh', `${s.mesh} (${s.meshPrefix})`], ['prefix', s.prefix], ['address', s.address],
        ['interface', s.interface], ['wireguard key', s.wgPublicKey], ['members', String(s.members)],
        ['endpoints', s.endpoints.join(', ') || '-'], ['listening', s.listen.join(', ') || '-'],
        ['relaying for', relayingLine(relaying)], ['record seq', String(s.seq)], ['uptime', `${s.uptimeS}s`]
      ]
      const w = Math.max(...rows.map(r => r[0].length))
      process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n')
    })
}
