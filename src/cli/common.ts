/** Options and helpers shared by the inspection commands (thin admin API clients). */
import type { Command } from 'commander'
import { DEFAULTS } from '../config/schema.ts'
import { adminRequest } from '../admin/client.ts'

export interface InspectOptions { json?: boolean, adminSocket?: string }

/** addInspectOptions adds --json and --admin-socket with their real defaults. */
export function addInspectOptions (cmd: Command, json = true): Command {
  if (json) cmd.option('--json', 'print JSON instead of a table')
  return cmd.option('--admin-socket <path>', `admin socket of the daemon (env GRIDMESH_ADMIN_SOCKET; default ${DEFAULTS.adminSocket})`)
}

/** socketPath resolves the admin socket: flag, then env, then default. */
export function socketPath (opts: InspectOptions): string {
  return opts.adminSocket ?? process.env.GRIDMESH_ADMIN_SOCKET ?? DEFAULTS.adminSocket
}

/** getJson fetches a read-only endpoint. */
export function getJson (opts: InspectOptions, path: string): Promise<unknown> {
  return adminRequest(socketPath(opts), 'GET', path)
}

/** printJson writes stable, indented JSON to stdout. */
export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}
