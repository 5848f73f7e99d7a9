/**
 * IPv6 prefix type shared by every module. Address math lives in ip-num; this
 * file only fixes the canonical string form so prefixes compare with ===.
 * (Implementation: see the functions below, filled in by the allocation work.)
 */

/** A canonical IPv6 CIDR string, e.g. `fd5e:1a2b:3c4d:12::/64` (RFC 5952 compressed, lower case, host bits zero). */
export type Ipv6Prefix = string & { readonly __brand: 'Ipv6Prefix' }

/** A canonical IPv6 address string without length, e.g. `fd5e:1a2b:3c4d:12::1`. */
export type Ipv6Address = string & { readonly __brand: 'Ipv6Address' }
