/**
 * WireGuard UDP endpoints as published in node records: `ip:port` or
 * `[v6]:port`, unicast only. A record is peer input, so an endpoint that would
 * make WireGuard send to ourselves (loopback), to nobody (unspecified), to a
 * group (multicast, broadcast) or to a link we cannot name (link-local, no zone)
 * is refused here, before it can reach a driver. Pure: no DNS, no I/O.
 */
import { isIPv4, isIPv6 } from 'node:net'

/** A parsed, usable WireGuard endpoint. */
export interface Endpoint {
  readonly family: 4 | 6
  /** The address without brackets, as written (IPv6 is not re-canonicalised). */
  readonly host: string
  readonly port: number
}

/** Longest endpoint string we accept: `[` + 45-char IPv6 text + `]:65535`. */
export const MAX_ENDPOINT_CHARS = 54

/**
 * parseEndpoint returns the endpoint, or null when the text is not a unicast
 * `ip:port`. Returning null (not throwing) keeps it usable inside schemas.
 */
export function parseEndpoint (text: string): Endpoint | null {
  if (text.length === 0 || text.length > MAX_ENDPOINT_CHARS) return null
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text)
  if (m === null) return null
  const port = Number(m[3])
  if (!Number.isInteger(port) || port < 1 || port > 65535 || m[3]?.startsWith('0') === true) return null
  if (m[2] !== undefined) {
    return isIPv4(m[2]) && isUnicastIpv4(m[2]) ? { family: 4, host: m[2], port } : null
  }
  const host = m[1] ?? ''
  return isIPv6(host) && isUnicastIpv6(host) ? { family: 6, host, port } : null
}

/** isUnicastIpv4 is false for 0/8, 127/8, 169.254/16, multicast and 240/4 (incl. broadcast). */
export function isUnicastIpv4 (addr: string): boolean {
  const o = addr.split('.').map(Number)
  const a = o[0] ?? 0
  const b = o[1] ?? 0
  if (a === 0 || a === 127 || a >= 224) return false
  return !(a === 169 && b === 254)
}

/** isUnicastIpv6 is false for ::, ::1, fe80::/10, ff00::/8 and IPv4-mapped/compatible forms. */
export function isUnicastIpv6 (addr: string): boolean {
  const words = expandIpv6(addr)
  if (words === null) return false
  const w0 = words[0] ?? 0
  if ((w0 & 0xff00) === 0xff00) return false // multicast
  if ((w0 & 0xffc0) === 0xfe80) return false // link-local: no zone in a record
  // Everything under ::/80 (unspecified, loopback, v4-compatible, v4-mapped
  // when word 5 is 0 or ffff) would smuggle a v4 address past the v4 checks.
  const high = words.slice(0, 5).every(w => w === 0)
  if (high && (words[5] === 0 || words[5] === 0xffff)) return false
  return true
}

/** expandIpv6 turns valid IPv6 text (as checked by isIPv6) into 8 16-bit words. */
export function expandIpv6 (addr: string): number[] | null {
  // Rewrite a trailing dotted quad as two hex words so one expansion handles both forms.
  const text = addr.toLowerCase().replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`)
  const halves = text.split('::')
  if (halves.length > 2) return null
  const parse = (s: string | undefined): number[] =>
    s === undefined || s === '' ? [] : s.split(':').map(h => parseInt(h, 16))
  const head = parse(halves[0])
  const rest = parse(halves[1])
  const fill = 8 - head.length - rest.length
  if (halves.length === 1) return fill === 0 ? head : null
  if (fill < 1) return null
  return [...head, ...new Array<number>(fill).fill(0), ...rest]
}

/** formatEndpoint writes an endpoint back in the record's text form. */
export function formatEndpoint (e: Endpoint): string {
  return e.family === 6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`
}
