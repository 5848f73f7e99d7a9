/** `gridmesh status`: this node's identity, addresses and mesh size. */
import type { Command } from 'commander'
import { addInspectOptions, call, printJson, type InspectOptions } from './common.ts'

export function registerStatus (program: Command): void {
  addInspectOptions(program.command('status').description('show this node: identity, prefix, address, members'))
    .action(async (opts: InspectOptions) => {
      const s = await call(opts, 'GET /v1/status')
      if (opts.json === true) { printJson(s); return }
      const rows: [string, string][] = [
        ['peer id', s.peerId], ['mesh', `${s.mesh} (${s.meshPrefix})`], ['prefix', s.prefix], ['address', s.address],
        ['interface', s.interface], ['wireguard key', s.wgPublicKey], ['members', String(s.members)],
        ['endpoints', s.endpoints.join(', ') || '-'], ['listening', s.listen.join(', ') || '-'],
        ['record seq', String(s.seq)], ['uptime', `${s.uptimeS}s`]
      ]
      const w = Math.max(...rows.map(r => r[0].length))
      process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n')
    })
}
