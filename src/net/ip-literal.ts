/**
 * Is this text an IPv4 or IPv6 address literal? Pure string checks (the
 * protocol core may not import node:net): dotted quads without leading
 * zeros; IPv6 in any RFC 4291 text form, optionally with a trailing dotted
 * quad, without a zone.
 */

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`)

export function isIpv4Literal (text: string): boolean {
  return IPV4.test(text)
}

export function isIpv6Literal (text: string): boolean {
  if (!text.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(text)) return false
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  if (tail.includes('.') && !isIpv4Literal(tail)) return false
  const hex = tail.includes('.') ? text.slice(0, lastColon + 1) + '0:0' : text
  const halves = hex.split('::')
  if (halves.length > 2) return false
  const groups = halves.flatMap(h => h === '' ? [] : h.split(':'))
  if (groups.some(g => g.length === 0 || g.length > 4)) return false
  return halves.length === 2 ? groups.length < 8 : groups.length === 8
}

/** ipv6Words turns a valid IPv6 literal into its 8 16-bit words. */
export function ipv6Words (text: string): number[] | null {
  if (!isIpv6Literal(text)) return null
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  let hex = text
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number]
    hex = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = hex.split('::')
  const parse = (s: string | undefined): number[] => s === undefined || s === '' ? [] : s.split(':').map(h => parseInt(h, 16))
  const head = parse(halves[0])
  const rest = parse(halves[1])
  if (halves.length === 1) return head
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest]
}
