/** Options and helpers shared by the inspection commands (thin admin API clients). */
import type { Command } from 'commander'
import { DEFAULTS } from '../config/schema.ts'
import { adminCall, type CallParts } from '../admin/client.ts'
import type { AdminEndpoint, AdminReply } from '../admin/contract.ts'

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

/** call calls one admin endpoint; the reply is typed by the contract (src/admin/contract.ts). */
export function call<E extends AdminEndpoint> (opts: InspectOptions, endpoint: E, parts?: CallParts<E>): Promise<AdminReply<E>> {
  return adminCall(socketPath(opts), endpoint, parts)
}

/** printJson writes stable, indented JSON to stdout. */
export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}
