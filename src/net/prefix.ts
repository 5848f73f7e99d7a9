/**
 * IPv6 prefix type shared by every module. Address parsing lives in ip-num;
 * this file fixes the canonical string form (RFC 5952: lower case, longest
 * zero run compressed, host bits zero) so prefixes compare with ===, and
 * holds the few pure helpers the allocation, routing and drivers need.
 */
import { IPv6, Validator } from 'ip-num'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import type { ErrorCode } from '../errors.ts'

/** A canonical IPv6 CIDR string, e.g. `fd5e:1a2b:3c4d:12::/64` (RFC 5952 compressed, lower case, host bits zero). */
export type Ipv6Prefix = string & { readonly __brand: 'Ipv6Prefix' }

/** A canonical IPv6 address string without length, e.g. `fd5e:1a2b:3c4d:12::1`. */
export type Ipv6Address = string & { readonly __brand: 'Ipv6Address' }

const ADDRESS_BITS = 128
const ALL_ONES = (1n << 128n) - 1n
const MAX_SHOWN_INPUT = 64
/** fc00::/7, the Unique Local Address block (RFC 4193). */
const ULA_BASE = 0xfcn << 120n
const ULA_LENGTH = 7

/**
 * parseIpv6Prefix turns any valid IPv6 CIDR (`2001:DB8::5/32`) into its
 * canonical form (`2001:db8::/32`), zeroing host bits. `code` lets the
 * caller say what a bad value means (config vs record vs state file).
 */
export function parseIpv6Prefix (s: string, code: ErrorCode = ErrorCodes.CONFIG_INVALID): Ipv6Prefix {
  const match = /^([0-9A-Fa-f:.]+)\/(0|[1-9]\d{0,2})$/.exec(s)
  const length = Number(match?.[2])
  const value = match?.[1] === undefined ? null : addressValue(match[1])
  if (value === null || length > ADDRESS_BITS) {
    throw new GridmeshError(code, `invalid IPv6 prefix ${show(s)}: expected CIDR notation such as fd00:1:2::/48`)
  }
  return prefixFromValue(value & networkMask(length), length)
}

/** parseIpv6Address turns any valid IPv6 address into its canonical RFC 5952 form. */
export function parseIpv6Address (s: string, code: ErrorCode = ErrorCodes.CONFIG_INVALID): Ipv6Address {
  const value = addressValue(s)
  if (value === null) {
    throw new GridmeshError(code, `invalid IPv6 address ${show(s)}: expected a form such as fd00:1:2::1`)
  }
  return formatIpv6(value)
}

/** prefixLength returns the length (0..128) of a canonical prefix. */
export function prefixLength (p: Ipv6Prefix): number {
  return Number(p.slice(p.lastIndexOf('/') + 1))
}

/** prefixNetwork returns the first address of a prefix as a 128-bit integer. */
export function prefixNetwork (p: Ipv6Prefix): bigint {
  const value = addressValue(p.slice(0, p.lastIndexOf('/')))
  if (value === null) throw new GridmeshError(ErrorCodes.INTERNAL, `prefixNetwork: not a canonical prefix ${show(p)}`)
  return value
}

/**
 * prefixFromValue builds a canonical prefix from a network integer and a
 * length; host bits are zeroed. Used by allocation to compose subnets.
 */
export function prefixFromValue (network: bigint, length: number): Ipv6Prefix {
  if (!Number.isInteger(length) || length < 0 || length > ADDRESS_BITS || network < 0n || network > ALL_ONES) {
    throw new GridmeshError(ErrorCodes.INTERNAL, `prefixFromValue: out-of-range network or length /${length}`)
  }
  return `${formatIpv6(network & networkMask(length))}/${length}` as Ipv6Prefix
}

/** prefixContains says whether `inner` (a prefix or an address) lies entirely inside `outer`. */
export function prefixContains (outer: Ipv6Prefix, inner: Ipv6Prefix | Ipv6Address): boolean {
  const innerPrefix = inner.includes('/') ? inner as Ipv6Prefix : addressToPrefix128(inner as Ipv6Address)
  const outerLength = prefixLength(outer)
  if (prefixLength(innerPrefix) < outerLength) return false
  return (prefixNetwork(innerPrefix) & networkMask(outerLength)) === prefixNetwork(outer)
}

/** prefixesOverlap says whether two prefixes share any address (one contains the other). */
export function prefixesOverlap (a: Ipv6Prefix, b: Ipv6Prefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a)
}

/**
 * hostAddress returns the n-th address of a prefix (n = 0 is the network
 * address itself). Throws INTERNAL when n does not fit in the prefix.
 */
export function hostAddress (prefix: Ipv6Prefix, n: bigint): Ipv6Address {
  const hostBits = BigInt(ADDRESS_BITS - prefixLength(prefix))
  if (n < 0n || n >= (1n << hostBits)) {
    throw new GridmeshError(ErrorCodes.INTERNAL, `host number ${n} does not fit in ${prefix}`)
  }
  return formatIpv6(prefixNetwork(prefix) + n)
}

/** addressToPrefix128 returns the /128 holding exactly one address (for allowed-ips and routes). */
export function addressToPrefix128 (addr: Ipv6Address): Ipv6Prefix {
  return `${addr}/128` as Ipv6Prefix
}

/** isUlaPrefix says whether a prefix lies inside fc00::/7 (RFC 4193 unique local addresses). */
export function isUlaPrefix (p: Ipv6Prefix): boolean {
  return prefixLength(p) >= ULA_LENGTH && (prefixNetwork(p) & networkMask(ULA_LENGTH)) === ULA_BASE
}

/**
 * formatIpv6 renders a 128-bit integer in RFC 5952 form: lower-case hex, no
 * leading zeros, the longest run (first on ties) of two or more zero groups
 * as `::`. IPv4-mapped addresses are printed in hex too.
 */
export function formatIpv6 (value: bigint): Ipv6Address {
  const groups: string[] = []
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16))
  const run = longestZeroRun(groups)
  if (run.length < 2) return groups.join(':') as Ipv6Address
  const head = groups.slice(0, run.start).join(':')
  const tail = groups.slice(run.start + run.length).join(':')
  return `${head}::${tail}` as Ipv6Address
}

function longestZeroRun (groups: readonly string[]): { start: number, length: number } {
  let best = { start: 0, length: 0 }
  let start = -1
  for (let i = 0; i <= groups.length; i++) {
    if (i < groups.length && groups[i] === '0') {
      if (start < 0) start = i
      continue
    }
    if (start >= 0 && i - start > best.length) best = { start, length: i - start }
    start = -1
  }
  return best
}

function networkMask (length: number): bigint {
  return ALL_ONES ^ ((1n << BigInt(ADDRESS_BITS - length)) - 1n)
}

/**
 * Parsed addresses, remembered: the reconcile pass, the planner's invariant
 * checks and `wg show` parsing re-read the same few hundred prefixes on every
 * pass, and ip-num's parse was a visible share of a busy daemon's CPU. Pure,
 * so caching cannot change a result; cleared when full so it stays bounded.
 */
const parsed = new Map<string, bigint | null>()
const PARSED_MAX = 4096

function addressValue (s: string): bigint | null {
  const known = parsed.get(s)
  if (known !== undefined || parsed.has(s)) return known ?? null
  const value = /^[0-9A-Fa-f:.]+$/.test(s) && Validator.isValidIPv6String(s)[0] ? IPv6.fromString(s).getValue() : null
  if (parsed.size >= PARSED_MAX) parsed.clear()
  parsed.set(s, value)
  return value
}

function show (s: string): string {
  return JSON.stringify(s.length > MAX_SHOWN_INPUT ? `${s.slice(0, MAX_SHOWN_INPUT)}…` : s)
}
