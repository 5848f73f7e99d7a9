/**
 * `HOST:PORT` as the config writes listen addresses (IPv6 in brackets):
 * one splitter for the config schema and every listener that binds one.
 */
import { ErrorCodes, GridmeshError } from '../errors.ts'

/** A host (IPv6 without its brackets) and a TCP/UDP port. */
export interface HostPort { readonly host: string, readonly port: number }

/** parseHostPort splits `host:port` / `[v6]:port`; null unless the port is 0-65535 (0: any free port, for a bind). */
export function parseHostPort (s: string): HostPort | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s)
  const port = Number(m?.[2])
  return m === null || m[1] === undefined || port > 65535 ? null : { host: m[1], port }
}

/** splitHostPort is parseHostPort for a validated config value: a bad one is a config error. */
export function splitHostPort (s: string): HostPort {
  const hp = parseHostPort(s)
  if (hp === null) throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `expected HOST:PORT (IPv6 as [addr]:port), got ${JSON.stringify(s)}`)
  return hp
}
