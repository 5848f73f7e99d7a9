/**
 * `gridmesh revocation publish gmr1.…`: hand a revocation (from `gridmesh
 * revoke`) to a running member, which verifies it with the mesh authority,
 * keeps it, and spreads it through the DHT and the members topic.
 */
import type { Command } from 'commander'
import { addInspectOptions, call, printJson, type InspectOptions } from './common.ts'

export function registerRevocation (program: Command): void {
  const rev = program.command('revocation').description('spread revocations through a running member')
  addInspectOptions(rev.command('publish')
    .description('publish a gmr1. revocation (from `gridmesh revoke`) to the mesh through this node')
    .argument('<revocation>', 'the gmr1.… line printed by `gridmesh revoke`'), false)
    .action(async (revocation: string, opts: InspectOptions) => {
      const result = await call(opts, 'POST /v1/revocations', { body: { revocation: revocation.trim() } })
      printJson(result)
    })
}
