/**
 * Prefix math for the planner and the invariant checks, as total functions
 * (null instead of a throw) over the shared helpers in src/net/prefix.ts:
 * the driver must be able to read whatever `wg` prints without crashing.
 */
import { parseIpv6Address, parseIpv6Prefix, prefixLength, prefixNetwork, type Ipv6Prefix } from '../net/prefix.ts'

/** A prefix as numbers: network bits (host bits zero) and length. */
export interface PrefixBits {
  readonly network: bigint
  readonly length: number
  /** Canonical text, `network/length`. */
  readonly text: Ipv6Prefix
}

/** canonicalIpv6 returns the RFC 5952 text of an IPv6 address, or null if it is not one. */
export function canonicalIpv6 (addr: string): string | null {
  try { return parseIpv6Address(addr) } catch { return null }
}

/** parsePrefixBits parses `addr/len` (len 0..128; host bits are cleared); null if malformed. */
export function parsePrefixBits (s: string): PrefixBits | null {
  try {
    const text = parseIpv6Prefix(s.trim())
    return { network: prefixNetwork(text), length: prefixLength(text), text }
  } catch {
    return null
  }
}

/** prefixBitsContain is true when `inner` lies entirely inside `outer` (or equals it). */
export function prefixBitsContain (outer: PrefixBits, inner: PrefixBits): boolean {
  if (inner.length < outer.length) return false
  const shift = BigInt(128 - outer.length)
  return (inner.network >> shift) === (outer.network >> shift)
}

/** prefixBitsOverlap is true when two prefixes share at least one address. */
export function prefixBitsOverlap (a: PrefixBits, b: PrefixBits): boolean {
  return prefixBitsContain(a, b) || prefixBitsContain(b, a)
}
