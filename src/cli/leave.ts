/** `gridmesh leave`: graceful leave of the running daemon (same as SIGTERM). */
import type { Command } from 'commander'
import { addInspectOptions, call, type InspectOptions } from './common.ts'

export function registerLeave (program: Command): void {
  addInspectOptions(program.command('leave').description('announce leaving the mesh, tear down the interface and stop the daemon'), false)
    .action(async (opts: InspectOptions) => {
      await call(opts, 'POST /v1/leave')
      process.stderr.write('gridmesh: leaving the mesh; the daemon is shutting down\n')
    })
}
