/**
 * Which WireGuard endpoints this node publishes, and which of a peer's
 * endpoints to use. Pure.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { prefixContains, type Ipv6Address, type Ipv6Prefix } from '../net/prefix.ts'
import { expandIpv6, isUnicastIpv4, isUnicastIpv6, parseEndpoint } from '../mesh/endpoint.ts'

/** ipsOfMultiaddrs extracts the IP of every /ip4 or /ip6 multiaddr (others skipped). */
export function ipsOfMultiaddrs (addrs: readonly string[]): string[] {
  const out: string[] = []
  for (const a of addrs) {
    try {
      const c = multiaddr(a).getComponents()[0]
      if (c !== undefined && (c.name === 'ip4' || c.name === 'ip6') && c.value !== undefined) out.push(c.value)
    } catch { /* not a multiaddr we can use */ }
  }
  return out
}

/**
 * isUsableUnderlay keeps addresses a remote peer could send WireGuard packets
 * to: the same unicast rule the record validator applies to endpoints (so we
 * never publish what every peer would refuse), minus our own overlay.
 */
export function isUsableUnderlay (ip: string, meshPrefix: Ipv6Prefix): boolean {
  if (isIPv4(ip)) return isUnicastIpv4(ip)
  if (!isIPv6(ip) || !isUnicastIpv6(ip)) return false
  try { return !prefixContains(meshPrefix, ip.toLowerCase() as Ipv6Address) } catch { return false }
}

/**
 * ownEndpoints returns the endpoints to publish: the configured `announce`
 * list, or else every usable underlay IP libp2p listens on with the WireGuard
 * port (IPv4 first, then IPv6, each sorted, so the record is stable).
 */
export function ownEndpoints (announce: readonly string[], listenAddrs: readonly string[], wgPort: number, meshPrefix: Ipv6Prefix): string[] {
  if (announce.length > 0) return [...announce]
  const ips = [...new Set(ipsOfMultiaddrs(listenAddrs).filter(ip => isUsableUnderlay(ip, meshPrefix)))]
  const v4 = ips.filter(ip => isIPv4(ip)).sort()
  const v6 = ips.filter(ip => isIPv6(ip)).sort()
  return [...v4.map(ip => `${ip}:${wgPort}`), ...v6.map(ip => `[${ip}]:${wgPort}`)].slice(0, 8)
}

/** The address of an IPv4 or IPv6 literal as a bit string (for longest-common-prefix), or null. */
function addressBits (ip: string): string | null {
  if (isIPv4(ip)) return ip.split('.').map(o => Number(o).toString(2).padStart(8, '0')).join('')
  const words = isIPv6(ip) ? expandIpv6(ip) : null
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
