/**
 * Address helpers for the libp2p node: the public contract lets `--bootstrap`
 * be `host:port` (the PeerId is learned on connect) or a full multiaddr.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

/** listenAddr turns a listen host and TCP port into a multiaddr string. */
export function listenAddr (host: string, port: number): string {
  return `${isIPv6(host) ? '/ip6' : '/ip4'}/${host}/tcp/${port}`
}

/**
 * toDialAddr parses a bootstrap entry: a multiaddr (starts with `/`) as is,
 * else `host:port` / `[v6]:port` as `/ip4|ip6|dns/host/tcp/port`. Throws on
 * anything else (config validation should have caught it first).
 */
export function toDialAddr (entry: string): Multiaddr {
  if (entry.startsWith('/')) return multiaddr(entry)
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/]+)):([0-9]{1,5})$/.exec(entry)
  if (m === null) throw new Error(`bootstrap entry is neither host:port nor a multiaddr: ${entry}`)
  const host = m[1] ?? m[2] ?? ''
  const proto = isIPv6(host) ? 'ip6' : isIPv4(host) ? 'ip4' : 'dns'
  return multiaddr(`/${proto}/${host}/tcp/${m[3] ?? ''}`)
}
