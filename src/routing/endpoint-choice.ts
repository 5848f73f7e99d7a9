/**
 * Which of a peer's published endpoints we configure: the one on a network
 * we share. Pure.
 */
import { isIpv4Literal, ipv6Words } from '../net/ip-literal.ts'
import { parseEndpoint } from '../mesh/endpoint.ts'

/** The address of an IPv4 or IPv6 literal as a bit string (for longest-common-prefix), or null. */
function addressBits (ip: string): string | null {
  if (isIpv4Literal(ip)) return ip.split('.').map(o => Number(o).toString(2).padStart(8, '0')).join('')
  const words = ipv6Words(ip)
  return words === null ? null : words.map(w => w.toString(2).padStart(16, '0')).join('')
}

function commonBits (a: string, b: string): number {
  let n = 0
  while (n < a.length && n < b.length && a[n] === b[n]) n++
  return n
}

/**
 * chooseEndpoint picks the peer endpoint that shares the longest prefix with
 * one of our own underlay IPs of the same family (a peer on two networks is
 * reached on the one we share), falling back to its first endpoint.
 */
export function chooseEndpoint (candidates: readonly string[], ownIps: readonly string[]): string | null {
  let best: string | null = candidates[0] ?? null
  let bestScore = -1
  for (const c of candidates) {
    const e = parseEndpoint(c)
    const cb = e === null ? null : addressBits(e.host)
    if (cb === null) continue
    for (const own of ownIps) {
      const ob = addressBits(own)
      if (ob === null || ob.length !== cb.length) continue
      const score = commonBits(cb, ob)
      if (score > bestScore) { bestScore = score; best = c }
    }
  }
  return best
}
