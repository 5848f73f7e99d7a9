/**
 * Which WireGuard endpoints this node publishes, and which of a peer's
 * endpoints to use. Pure.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { prefixContains, type Ipv6Address, type Ipv6Prefix } from '../net/prefix.ts'

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

/** isUsableUnderlay keeps addresses a remote peer could send WireGuard packets to. */
export function isUsableUnderlay (ip: string, meshPrefix: Ipv6Prefix): boolean {
  if (isIPv4(ip)) return !ip.startsWith('127.') && !ip.startsWith('0.') && !ip.startsWith('169.254.') && Number(ip.split('.')[0]) < 224
  if (!isIPv6(ip)) return false
  const lower = ip.toLowerCase()
  if (lower === '::1' || lower === '::' || lower.startsWith('fe80:') || lower.startsWith('ff')) return false
  try { return !prefixContains(meshPrefix, lower as Ipv6Address) } catch { return false }
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

function hostOf (endpoint: string): string {
  const m = /^\[(.+)\]:\d+$/.exec(endpoint)
  if (m?.[1] !== undefined) return m[1]
  return endpoint.slice(0, endpoint.lastIndexOf(':'))
}

function toBits (ip: string): string | null {
  if (isIPv4(ip)) return ip.split('.').map(o => Number(o).toString(2).padStart(8, '0')).join('')
  if (!isIPv6(ip)) return null
  const [head = '', tail = ''] = ip.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === '' ? [] : tail.split(':')
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
  return groups.map(g => parseInt(g, 16).toString(2).padStart(16, '0')).join('')
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
    const cb = toBits(hostOf(c))
    if (cb === null) continue
    for (const own of ownIps) {
      const ob = toBits(own)
      if (ob === null || ob.length !== cb.length) continue
      const score = commonBits(cb, ob)
      if (score > bestScore) { bestScore = score; best = c }
    }
  }
  return best
}
