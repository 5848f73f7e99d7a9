/**
 * Readers for `ip -j` JSON output. Parsing is defensive: `ip`'s JSON is
 * stable in practice but untyped, so every field is checked and anything
 * unexpected becomes DRIVER_FAILED instead of a TypeError deep in a driver.
 */
import type { CommandRunner } from './command.ts'
import { GridmeshError, ErrorCodes } from '../errors.ts'

/** Link state relevant to the net driver. */
export interface LinkState { readonly mtu: number, readonly up: boolean }

/** An interface's MTU, up flag and global (non link-local) IPv6 addresses as `addr/len`. */
export interface IfaceAddrs extends LinkState { readonly globalAddrs: readonly string[] }

/** One route we own, as `ip` reports it (destination always with a length). */
export interface OwnRoute { readonly dst: string, readonly metric: number, readonly src: string | null }

function parseJsonArray (text: string, what: string): unknown[] {
  let parsed: unknown
  try { parsed = JSON.parse(text.trim() === '' ? '[]' : text) } catch (err) {
    throw new GridmeshError(ErrorCodes.DRIVER_FAILED, `${what}: ip printed invalid JSON`, {}, { cause: err })
  }
  if (!Array.isArray(parsed)) throw new GridmeshError(ErrorCodes.DRIVER_FAILED, `${what}: ip JSON is not an array`, {})
  return parsed
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** parseLinkJson reads MTU and the UP flag from `ip -j link show dev <if>` output. */
export function parseLinkJson (text: string, iface: string): LinkState {
  const first = parseJsonArray(text, `reading link ${iface}`)[0]
  if (!isRecord(first) || typeof first.mtu !== 'number' || !Array.isArray(first.flags)) {
    throw new GridmeshError(ErrorCodes.DRIVER_FAILED, `reading link ${iface}: unexpected ip JSON`, { iface })
  }
  return { mtu: first.mtu, up: first.flags.includes('UP') }
}

/** parseAddrJson lists global-scope `addr/len` from `ip -j -6 addr show dev <if>` output. */
export function parseAddrJson (text: string): string[] {
  const out: string[] = []
  for (const entry of parseJsonArray(text, 'reading addresses')) {
    if (!isRecord(entry) || !Array.isArray(entry.addr_info)) continue
    for (const a of entry.addr_info) {
      if (!isRecord(a) || a.family !== 'inet6' || a.scope !== 'global') continue
      if (typeof a.local === 'string' && typeof a.prefixlen === 'number') out.push(`${a.local}/${a.prefixlen}`)
    }
  }
  return out.sort()
}

/** parseRouteJson reads `ip -j -6 route show …`; a host route printed without length gets /128. */
export function parseRouteJson (text: string): OwnRoute[] {
  const out: OwnRoute[] = []
  for (const r of parseJsonArray(text, 'reading routes')) {
    if (!isRecord(r) || typeof r.dst !== 'string') continue
    const dst = r.dst === 'default' ? '::/0' : r.dst.includes('/') ? r.dst : `${r.dst}/128`
    out.push({ dst, metric: typeof r.metric === 'number' ? r.metric : 0, src: typeof r.prefsrc === 'string' ? r.prefsrc : null })
  }
  return out
}

/** readIfaceAddrs reads link state and global addresses of `iface`. */
export async function readIfaceAddrs (runner: CommandRunner, iface: string): Promise<IfaceAddrs> {
  const link = await runner.run('ip', ['-j', 'link', 'show', 'dev', iface])
  const addrs = await runner.run('ip', ['-j', '-6', 'addr', 'show', 'dev', iface])
  return { ...parseLinkJson(link.stdout, iface), globalAddrs: parseAddrJson(addrs.stdout) }
}

/** readOwnRoutes lists the IPv6 routes on `iface` carrying our protocol number. */
export async function readOwnRoutes (runner: CommandRunner, iface: string, proto: string): Promise<OwnRoute[]> {
  const r = await runner.run('ip', ['-j', '-6', 'route', 'show', 'dev', iface, 'proto', proto])
  return parseRouteJson(r.stdout)
}
