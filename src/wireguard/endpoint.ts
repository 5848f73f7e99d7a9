/**
 * Endpoint text normalisation, so the planner compares what we want with what
 * `wg show dump` prints (`10.0.0.2:51820`, `[fd00::9]:51821`) without
 * spurious updates. Hostnames are kept verbatim: `wg` resolves them, so the
 * device reports an IP and a hostname endpoint would be re-set on every apply;
 * desired endpoints should therefore be IP literals.
 */
import { canonicalIpv6 } from './prefix-math.ts'

/** normalizeEndpoint returns the canonical `host:port` / `[v6]:port` form, or the trimmed input if unparseable. */
export function normalizeEndpoint (endpoint: string): string {
  const s = endpoint.trim()
  const v6 = /^\[([^\]%]+)(%[^\]]+)?\]:(\d{1,6})$/.exec(s)
  if (v6 !== null) {
    const host = canonicalIpv6(v6[1] ?? '')
    if (host === null) return s
    return `[${host}${v6[2] ?? ''}]:${Number(v6[3])}`
  }
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,6})$/.exec(s)
  if (v4 !== null) {
    const [, a, b, c, d, port] = v4
    return `${[a, b, c, d].map(Number).join('.')}:${Number(port)}`
  }
  return s
}
