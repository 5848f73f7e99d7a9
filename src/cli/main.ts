/**
 * The gridmesh CLI entry point: the only place (with the daemon's top level)
 * that exits the process. Every error becomes one stderr line and an exit code
 * from `exitCodeFor`: 2 for usage/config errors, 1 for runtime failures.
 * Usage errors (commander's) are rendered by usage.ts.
 */
import { Command, CommanderError } from 'commander'
import { errorLine, exitCodeFor } from '../errors.ts'
import { configureUsage } from './usage.ts'
import { registerUp } from './up.ts'
import { registerStatus } from './status.ts'
import { registerPeers } from './peers.ts'
import { registerRoutes } from './routes.ts'
import { registerGraph } from './graph.ts'
import { registerLeave } from './leave.ts'
import { registerWorkload } from './workload.ts'
import { registerMeshInit } from './mesh-init.ts'
import { registerInvite } from './invite.ts'
import { registerRevoke } from './revoke.ts'
import { registerPsk } from './psk.ts'
import { registerRevocation } from './revocation.ts'
import { registerReload } from './reload.ts'
import { registerPing } from './ping.ts'
import { registerDoctor } from './doctor.ts'
import { registerCompletion } from './completion.ts'
import { registerMan } from './man.ts'

function buildProgram (): Command {
  const program = new Command('gridmesh')
    .description('private WireGuard full mesh keyed through a private libp2p DHT')
    .version('0.1.0')
  registerUp(program)
  registerStatus(program)
  registerPeers(program)
  registerRoutes(program)
  registerGraph(program)
  registerLeave(program)
  registerWorkload(program)
  registerMeshInit(program)
  registerInvite(program)
  registerRevoke(program)
  registerPsk(program)
  registerRevocation(program)
  registerReload(program)
  registerPing(program)
  registerDoctor(program)
  registerCompletion(program)
  registerMan(program)
  // Every command at every depth: one-line usage errors, no flag swallowed as a value.
  configureUsage(program)
  return program
}

async function main (): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are not errors; everything else commander reports is usage.
      process.exitCode = err.exitCode === 0 ? 0 : 2
      return
    }
    process.stderr.write(errorLine(err) + '\n')
    process.exitCode = exitCodeFor(err)
  }
}

await main()
