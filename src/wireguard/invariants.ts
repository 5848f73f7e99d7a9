/**
 * The invariants a desired WireGuard config must meet before anything touches
 * the device (DESIGN.md "Invariants"). WireGuard itself enforces none of them:
 * a prefix written to a second peer silently moves there, and `wg set` is not
 * transactional, so a bad config must be refused whole, up front.
 */
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { DeviceConfig, PeerConfig } from './types.ts'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { parsePrefixBits, prefixBitsContain, prefixBitsOverlap } from './prefix-math.ts'
import type { PrefixBits } from './prefix-math.ts'
import { wgPublicKeyOf } from './pubkey.ts'

/** Shortest allowed-ip a peer may hold: one node's /64 (a relay carries several, each a /64). */
export const MIN_ALLOWED_IP_LENGTH = 64

interface Held { readonly peer: string, readonly prefix: PrefixBits }

function violation (message: string, meta: Record<string, unknown>): GridmeshError {
  return new GridmeshError(ErrorCodes.INVARIANT_VIOLATED, `invariant violated: ${message}`, meta)
}

/** A peer the isolation pass left out of the desired config, and why (the violation's message and meta). */
export interface DroppedPeer {
  readonly publicKey: string
  readonly error: GridmeshError
}

/**
 * isolateViolations splits `desired` into what can be applied and the peers
 * that break a rule: an allowed-ip outside `meshPrefix` or shorter than /64;
 * the device's own key as a peer; a key listed twice; a bad keepalive; a
 * prefix on two peers or overlapping another peer's (except a /128 inside
 * another peer's /64: a relayed node's link address stays on its own
 * entry). Each offending peer is dropped alone, so one bad record never
 * blocks every apply (issue 19); of two peers in conflict the one listed
 * later is dropped (the mesh view lists only owners, so a conflict reaching
 * here is a bug upstream, and keeping one of them keeps the config valid).
 * Device-wide faults (mesh prefix, listen port) still throw
 * INVARIANT_VIOLATED: there is nothing sensible to apply then. Pure.
 */
export function isolateViolations (desired: DeviceConfig, meshPrefix: Ipv6Prefix): { config: DeviceConfig, dropped: DroppedPeer[] } {
  const mesh = parsePrefixBits(meshPrefix)
  if (mesh === null) throw violation(`mesh prefix ${meshPrefix} is not an IPv6 prefix`, { meshPrefix })
  checkPort(desired.listenPort)
  const own = wgPublicKeyOf(desired.privateKey)
  const seen = new Set<string>()
  const held: Held[] = []
  const kept: PeerConfig[] = []
  const dropped: DroppedPeer[] = []
  for (const peer of desired.peers) {
    try {
      if (seen.has(peer.publicKey)) throw violation(`peer ${peer.publicKey} is listed twice`, { peer: peer.publicKey })
      seen.add(peer.publicKey)
      if (own !== null && peer.publicKey === own) {
        throw violation(`peer ${peer.publicKey} is this device's own public key`, { peer: peer.publicKey })
      }
      checkKeepalive(peer)
      const mine = peer.allowedIps.map(text => ({ peer: peer.publicKey, prefix: checkPrefix(peer, text, mesh) }))
      for (const h of mine) checkOverlaps(held, h)
      held.push(...mine)
      kept.push(peer)
    } catch (err) {
      if (!(err instanceof GridmeshError)) throw err
      dropped.push({ publicKey: peer.publicKey, error: err })
    }
  }
  return { config: { ...desired, peers: kept }, dropped }
}

/**
 * checkInvariants throws INVARIANT_VIOLATED (naming the peer and prefix) when
 * `desired` breaks any rule of isolateViolations. Pure.
 */
export function checkInvariants (desired: DeviceConfig, meshPrefix: Ipv6Prefix): void {
  const first = isolateViolations(desired, meshPrefix).dropped[0]
  if (first !== undefined) throw new GridmeshError(ErrorCodes.INVARIANT_VIOLATED, `${first.error.message}; nothing was applied`, first.error.meta)
}

function checkPort (port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw violation(`listen port ${port} is not 0..65535`, { port })
}

function checkKeepalive (peer: PeerConfig): void {
  const k = peer.persistentKeepalive
  if (!Number.isInteger(k) || k < 0 || k > 65535) {
    throw violation(`peer ${peer.publicKey} keepalive ${k} is not 0..65535`, { peer: peer.publicKey })
  }
}

function checkPrefix (peer: PeerConfig, text: string, mesh: PrefixBits): PrefixBits {
  const p = parsePrefixBits(text)
  const meta = { peer: peer.publicKey, prefix: text, meshPrefix: mesh.text }
  if (p === null) throw violation(`peer ${peer.publicKey} allowed-ip ${text} is not an IPv6 prefix`, meta)
  if (p.text !== text.trim()) throw violation(`peer ${peer.publicKey} allowed-ip ${text} is not canonical (host bits set or not RFC 5952; expected ${p.text})`, meta)
  if (p.length < MIN_ALLOWED_IP_LENGTH) throw violation(`peer ${peer.publicKey} allowed-ip ${text} is shorter than /${MIN_ALLOWED_IP_LENGTH}`, meta)
  if (!prefixBitsContain(mesh, p)) throw violation(`peer ${peer.publicKey} allowed-ip ${text} is outside the mesh prefix ${mesh.text}`, meta)
  return p
}

/** The designed exception: a /128 link address inside another peer's /64. */
function isLinkAddressCase (a: PrefixBits, b: PrefixBits): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a]
  return long.length === 128 && short.length === 64 && prefixBitsContain(short, long)
}

/** checkOverlaps throws when `b` (a prefix of a peer being added) collides with one already held by another peer. */
function checkOverlaps (held: readonly Held[], b: Held): void {
  // O(n²) over all allowed-ips: a mesh of a few hundred nodes is ~10⁵ cheap
  // bigint comparisons, well under a millisecond per apply.
  for (const a of held) {
    if (a.peer === b.peer || !prefixBitsOverlap(a.prefix, b.prefix)) continue
    const meta = { peer: b.peer, otherPeer: a.peer, prefix: b.prefix.text, otherPrefix: a.prefix.text }
    if (a.prefix.text === b.prefix.text) {
      throw violation(`prefix ${a.prefix.text} is on two peers, ${a.peer} and ${b.peer}`, meta)
    }
    if (isLinkAddressCase(a.prefix, b.prefix)) continue
    throw violation(`prefix ${b.prefix.text} of peer ${b.peer} overlaps ${a.prefix.text} of peer ${a.peer}`, meta)
  }
}
