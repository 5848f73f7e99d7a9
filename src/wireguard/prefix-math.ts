/**
 * Tiny private IPv6 prefix math for the planner and the invariant checks.
 * src/net/prefix.ts will own the shared helpers (parseIpv6Prefix,
 * prefixContains, …); until they land this keeps the driver self-contained.
 * Address text is canonicalised by the WHATWG URL parser, whose IPv6
 * serialiser is RFC 5952 (lower case, longest zero run compressed).
 */
import type { Ipv6Prefix } from '../net/prefix.ts'

/** A prefix as numbers: network bits (host bits zero) and length. */
export interface PrefixBits {
  readonly network: bigint
  readonly length: number
  /** Canonical text, `network/length`. */
  readonly text: Ipv6Prefix
}

const ALL_ONES = (1n << 128n) - 1n

/** canonicalIpv6 returns the RFC 5952 text of an IPv6 address, or null if it is not one. */
export function canonicalIpv6 (addr: string): string | null {
  if (!/^[0-9a-fA-F:.]+$/.test(addr)) return null
  try {
    return new URL(`http://[${addr}]/`).hostname.slice(1, -1)
  } catch {
    return null
  }
}

function toBigInt (canonical: string): bigint {
  const [head = '', tail] = canonical.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n)
}

function fromBigInt (n: bigint): string {
  const groups: string[] = []
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16))
  return canonicalIpv6(groups.join(':')) ?? '::'
}

/** parsePrefixBits parses `addr/len` (len 0..128; host bits are cleared); null if malformed. */
export function parsePrefixBits (s: string): PrefixBits | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s.trim())
  if (m === null) return null
  const canonical = canonicalIpv6(m[1] ?? '')
  const length = Number(m[2])
  if (canonical === null || length > 128) return null
  const mask = length === 0 ? 0n : (ALL_ONES << BigInt(128 - length)) & ALL_ONES
  const network = toBigInt(canonical) & mask
  return { network, length, text: `${fromBigInt(network)}/${length}` as Ipv6Prefix }
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
