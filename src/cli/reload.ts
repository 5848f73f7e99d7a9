/**
 * `gridmesh reload [--dry-run]`: the running daemon re-reads its config and
 * applies what can change live (same as SIGHUP / `systemctl reload`).
 * Prints one line per change; a refused config exits 2 and changes nothing.
 */
import type { Command } from 'commander'
import { adminCall } from '../admin/client.ts'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { describeReload } from '../daemon/reload.ts'
import { addInspectOptions, printJson, socketPath, type InspectOptions } from './common.ts'

export function registerReload (program: Command): void {
  addInspectOptions(program.command('reload')
    .description('re-read the config and apply what can change without a restart (log level, bootstrap, join token)')
    .option('--dry-run', 'only print what would change'))
    .action(async (opts: InspectOptions & { dryRun?: boolean }) => {
      const r = await adminCall(socketPath(opts), 'POST /v1/reload', { body: { dryRun: opts.dryRun === true } })
      if (opts.json === true) printJson(r)
      else if (r.ok) process.stdout.write(describeReload(r).join('\n') + '\n')
      if (!r.ok) throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `reload refused, nothing changed: ${r.error ?? 'unknown error'}`)
    })
}
