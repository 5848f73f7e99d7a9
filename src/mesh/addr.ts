/**
 * Address helpers for the libp2p node: the public contract lets `--bootstrap`
 * be `host:port` (the PeerId is learned on connect) or a full multiaddr.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'

/** listenAddr turns a listen host and TCP port into a multiaddr string. */
export function listenAddr (host: string, port: number): string {
  return `${isIPv6(host) ? '/ip6' : '/ip4'}/${host}/tcp/${port}`
}

/** What every bootstrap entry must look like. */
export const BOOTSTRAP_SHAPE = 'is neither HOST:PORT nor a /ip4|ip6|dns4|dns6|dns/HOST/tcp/PORT[/p2p/PEERID] multiaddr'

const MULTIADDR = /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d{1,5})(?:\/p2p\/([1-9A-HJ-NP-Za-km-z]+))?$/
const HOST_PORT = /^(?:\[([^\]]*)\]|([^:[\]/]+)):(\d{1,5})$/
/** A DNS name: dot-separated labels of 1-63 letters, digits and inner hyphens (a trailing dot allowed), 253 chars at most. */
const DNS_NAME = /^(?=.{1,253}\.?$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/

/** BootstrapError says why an entry cannot be dialled; `shape` when it is not even one of the forms. */
export class BootstrapError extends Error {
  readonly shape: boolean
  constructor (message: string, shape = false) { super(message); this.shape = shape }
}

/** Why `host` cannot be dialled as written (null when it can): an IP literal of its family, or a DNS name. */
function hostProblem (host: string, family: 'ip4' | 'ip6' | 'dns'): string | null {
  if (family === 'ip4' || (family === 'dns' && /^[0-9.]+$/.test(host))) return isIPv4(host) ? null : `"${host}" is not an IPv4 address`
  if (family === 'ip6') return isIPv6(host) ? null : `"${host}" is not an IPv6 address`
  return DNS_NAME.test(host) ? null : `"${host}" is not a valid host name`
}

/**
 * toDialAddr parses a bootstrap entry — `host:port`, `[v6]:port`, or
 * /ip4|ip6|dns4|dns6|dns/HOST/tcp/PORT[/p2p/PEERID] — into the multiaddr the
 * node dials. It is the one check: config validation calls it too, so what
 * the config accepts is exactly what the node can dial. Throws BootstrapError.
 */
export function toDialAddr (entry: string): Multiaddr {
  const ma = MULTIADDR.exec(entry)
  const hp = ma === null ? HOST_PORT.exec(entry) : null
  if (ma === null && hp === null) throw new BootstrapError(BOOTSTRAP_SHAPE, true)
  const proto = ma !== null ? ma[1] ?? '' : hp?.[1] !== undefined ? 'ip6' : 'dns'
  const host = ma !== null ? ma[2] ?? '' : hp?.[1] ?? hp?.[2] ?? ''
  const portText = (ma ?? hp)?.[3] ?? ''
  const peer = ma?.[4]
  if (!/^[1-9]\d*$/.test(portText) || Number(portText) > 65535) throw new BootstrapError(`port ${portText} is not 1-65535`)
  const family = proto === 'ip4' || proto === 'ip6' ? proto : 'dns'
  const bad = hostProblem(host, family)
  if (bad !== null) throw new BootstrapError(bad)
  if (peer !== undefined) {
    try { peerIdFromString(peer) } catch (err) { throw new BootstrapError(`"${peer}" is not a peer id (${firstLine(err)})`) }
  }
  const p = ma !== null ? proto : isIPv4(host) ? 'ip4' : 'dns'
  try {
    return multiaddr(`/${p}/${host}/tcp/${portText}${peer === undefined ? '' : `/p2p/${peer}`}`)
  } catch (err) { throw new BootstrapError(firstLine(err)) }
}

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split(/\r?\n/)[0] ?? ''
