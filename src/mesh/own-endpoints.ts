/**
 * Which WireGuard endpoints this node publishes in its record: the
 * configured `announce` list, or else every usable underlay IP libp2p
 * listens on. Pure.
 */
import { prefixContains, type Ipv6Address, type Ipv6Prefix } from '../net/prefix.ts'
import { isIpv4Literal, isIpv6Literal } from '../net/ip-literal.ts'
import { isUnicastIpv4, isUnicastIpv6 } from './endpoint.ts'

/** ipsOfMultiaddrs extracts the IP of every /ip4 or /ip6 multiaddr (others skipped). */
export function ipsOfMultiaddrs (addrs: readonly string[]): string[] {
  const out: string[] = []
  for (const a of addrs) {
    const [lead, proto, value] = a.split('/')
    if (lead !== '' || value === undefined || value === '') continue
    if ((proto === 'ip4' && isIpv4Literal(value)) || (proto === 'ip6' && isIpv6Literal(value))) out.push(value)
  }
  return out
}

/**
 * isUsableUnderlay keeps addresses a remote peer could send WireGuard packets
 * to: the same unicast rule the record validator applies to endpoints (so we
 * never publish what every peer would refuse), minus our own overlay.
 */
export function isUsableUnderlay (ip: string, meshPrefix: Ipv6Prefix): boolean {
  if (isIpv4Literal(ip)) return isUnicastIpv4(ip)
  if (!isIpv6Literal(ip) || !isUnicastIpv6(ip)) return false
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
  const v4 = ips.filter(ip => isIpv4Literal(ip)).sort()
  const v6 = ips.filter(ip => isIpv6Literal(ip)).sort()
  return [...v4.map(ip => `${ip}:${wgPort}`), ...v6.map(ip => `[${ip}]:${wgPort}`)].slice(0, 8)
}
