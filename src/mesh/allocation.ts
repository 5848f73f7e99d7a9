/**
 * Prefix allocation: pure, deterministic, with a stability contract.
 * Changing any derivation below changes every node's address: a breaking change.
 *
 * Mesh prefix: `fd` + the first 40 bits of
 *   sha256("gridmesh/mesh-prefix/v1\0" + meshName)
 * as an RFC 4193 global ID, giving a ULA /48.
 *
 * Node prefix candidates: candidate i of a peer is the /64 whose 16-bit
 * subnet id is the first 16 bits of
 *   d = sha256("gridmesh/node-prefix/v1\0" + meshPrefix + "\0" + peerId + "\0" + i)
 * (meshPrefix in canonical form, i in decimal). Subnet ids 0x0000 and 0xffff
 * are reserved: if hit, d = sha256(d) until another id comes out.
 *
 * Collision rule. Every node judges every claim {peerId, prefix}, its own
 * included, with the same function, so all nodes agree on every owner:
 *   rank = claimRank(meshPrefix, peerId, prefix)
 *        = the lowest i < MAX_CANDIDATES with candidate i == prefix,
 *          or MAX_CANDIDATES when the prefix is not among them (an explicitly
 *          configured or overflow prefix: ranked last);
 * the claim with the lowest (rank, peerId) owns the prefix (peerIds compared
 * by code units). Two claims never tie: that would need the same peerId.
 * Claims that are not a /64 inside the mesh prefix (or use a reserved
 * subnet id) own nothing.
 *
 * Incumbency (issue 19, attack 2). The rank alone let a newcomer take a
 * member's /64: 16-bit subnet ids are ground in seconds (~2^16 PeerIds give
 * a first candidate equal to the victim's /64, then half of them also sort
 * lower). So the rank only settles RACES: each claim may carry `since`, when
 * the judging node first saw that peer claim that /64 (MemberTable keeps
 * it; our own claim counts from when we took the prefix). Of the claims on
 * one /64, only those seen within CLAIM_RACE_WINDOW_MS of the earliest one
 * contend; the lowest (rank, peerId) among them owns it, and any later
 * claim, whatever its rank, owns nothing. Nothing in a record can say who
 * was first without being forgeable (an open mesh has no trusted clock or
 * authority), so `since` is each node's own observation. Every node that
 * saw the holder before the newcomer decides the same way: the holder keeps
 * its /64. A node that learns both claims within one window (it just
 * (re)started while a hostile member contests a /64) falls back to the rank
 * and may pick the grinder; that is the open-mesh limit (README
 * "Security"). Claims without `since` all count as seen together: pure rank,
 * as before, and the candidate derivation (golden tests) is unchanged.
 *
 * Choosing (choosePrefix): an explicitly requested prefix if we would own it,
 * else the current prefix if we still own it, else the first candidate
 * (0, 1, …) that no other member claims at all. A newcomer therefore never
 * displaces a member that already holds a prefix; the rank only settles
 * races where two nodes claim the same prefix at about the same time, and
 * the loser moves on to its next free candidate.
 *
 * Known limitation: 16-bit subnet ids give 65534 /64s per mesh; once most
 * are taken, nodes fall back to overflow candidates (ranked last).
 *
 * Host addresses: `<prefix>::1` is the node itself, `<prefix>::2` is its link
 * address (a /128 used for direct-link probes). Workloads must not use ::1
 * or ::2 of their node's /64.
 */
import { createHash } from 'node:crypto'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import type { ErrorCode } from '../errors.ts'
import { hostAddress, parseIpv6Prefix, prefixContains, prefixFromValue, prefixLength, prefixNetwork } from '../net/prefix.ts'
import type { Ipv6Address, Ipv6Prefix } from '../net/prefix.ts'

/** Hashed candidates per peer that carry a rank; later ones rank like off-list prefixes. */
export const MAX_CANDIDATES = 32
/** Length of every mesh prefix. */
export const MESH_PREFIX_LENGTH = 48
/** Length of every node prefix. */
export const NODE_PREFIX_LENGTH = 64

const MESH_DOMAIN = 'gridmesh/mesh-prefix/v1\0'
const NODE_DOMAIN = 'gridmesh/node-prefix/v1\0'
const ULA_FD = 0xfdn << 120n
const RESERVED_SUBNETS: ReadonlySet<number> = new Set([0x0000, 0xffff])
/** How far past MAX_CANDIDATES choosePrefix searches before giving up. */
const OVERFLOW_CANDIDATES = 4096

/** One node's claim on a /64, as read from its (validated) record. */
export interface Claim {
  readonly peerId: string
  readonly prefix: Ipv6Prefix
  /**
   * Unix ms when the judging node first saw this claim (-Infinity: held
   * since before anything it can compare with). Absent counts as 0.
   */
  readonly since?: number
}

/**
 * Claims on one /64 first seen within this of each other are a race, settled
 * by rank; a claim seen later than that is a newcomer and owns nothing while
 * an earlier claim stands. Long enough for a starting node to hear the whole
 * mesh (roster on the first connection, DHT lookups), short enough that a
 * node re-choosing after a lost race settles quickly.
 */
export const CLAIM_RACE_WINDOW_MS = 20_000

/** What choosePrefix decides; candidateIndex is null for an off-list prefix. */
export interface PrefixChoice {
  readonly prefix: Ipv6Prefix
  readonly candidateIndex: number | null
}

/** Inputs of choosePrefix: our identity, our wishes, and what other members claim. */
export interface ChoosePrefixInput {
  readonly meshPrefix: Ipv6Prefix
  readonly peerId: string
  /** An explicitly configured /64, taken when we would own it. */
  readonly requested?: Ipv6Prefix | null
  /** The prefix we hold now (from the state file), kept while we own it. */
  readonly current?: Ipv6Prefix | null
  readonly others: readonly Claim[]
}

/** meshPrefixFromName derives the mesh's ULA /48 from its name (see file header). */
export function meshPrefixFromName (meshName: string): Ipv6Prefix {
  if (meshName === '') throw new GridmeshError(ErrorCodes.CONFIG_INVALID, 'mesh name is empty; pass --mesh NAME')
  const globalId = BigInt(`0x${sha256(MESH_DOMAIN + meshName).subarray(0, 5).toString('hex')}`)
  return prefixFromValue(ULA_FD | (globalId << 80n), MESH_PREFIX_LENGTH)
}

/** parseMeshPrefix parses a configured mesh prefix and insists on a /48. */
export function parseMeshPrefix (s: string, code: ErrorCode = ErrorCodes.CONFIG_INVALID): Ipv6Prefix {
  const prefix = parseIpv6Prefix(s, code)
  assertMeshPrefix(prefix, code)
  return prefix
}

/** prefixCandidate returns a peer's candidate /64 number `index` (see file header). */
export function prefixCandidate (meshPrefix: Ipv6Prefix, peerId: string, index: number): Ipv6Prefix {
  assertMeshPrefix(meshPrefix, ErrorCodes.CONFIG_INVALID)
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new GridmeshError(ErrorCodes.INTERNAL, `candidate index ${index} is not a non-negative integer`)
  }
  let digest = sha256(`${NODE_DOMAIN}${meshPrefix}\0${peerId}\0${index}`)
  while (RESERVED_SUBNETS.has(digest.readUInt16BE(0))) digest = createHash('sha256').update(digest).digest()
  const subnet = BigInt(digest.readUInt16BE(0))
  return prefixFromValue(prefixNetwork(meshPrefix) | (subnet << 64n), NODE_PREFIX_LENGTH)
}

/** candidateIndexOf returns the lowest i < MAX_CANDIDATES whose candidate is `prefix`, or null. */
export function candidateIndexOf (meshPrefix: Ipv6Prefix, peerId: string, prefix: Ipv6Prefix): number | null {
  for (let i = 0; i < MAX_CANDIDATES; i++) {
    if (prefixCandidate(meshPrefix, peerId, i) === prefix) return i
  }
  return null
}

/** claimRank is the rank every node gives a claim: its candidate index, or MAX_CANDIDATES if off-list. */
export function claimRank (meshPrefix: Ipv6Prefix, peerId: string, prefix: Ipv6Prefix): number {
  return candidateIndexOf(meshPrefix, peerId, prefix) ?? MAX_CANDIDATES
}

/** compareClaims orders claims on one prefix: negative when `a` outranks `b` (lower rank, then lower peerId). */
export function compareClaims (meshPrefix: Ipv6Prefix, a: Claim, b: Claim): number {
  const byRank = claimRank(meshPrefix, a.peerId, a.prefix) - claimRank(meshPrefix, b.peerId, b.prefix)
  if (byRank !== 0) return byRank
  return a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0
}

/** isNodePrefix says whether `prefix` is a /64 inside the mesh prefix with a non-reserved subnet id. */
export function isNodePrefix (meshPrefix: Ipv6Prefix, prefix: Ipv6Prefix): boolean {
  if (prefixLength(prefix) !== NODE_PREFIX_LENGTH || !prefixContains(meshPrefix, prefix)) return false
  return !RESERVED_SUBNETS.has(Number((prefixNetwork(prefix) >> 64n) & 0xffffn))
}

/**
 * resolvePrefixOwners maps every validly claimed prefix to the peerId that
 * owns it under the collision rule. Independent of the order of `claims`.
 */
export function resolvePrefixOwners (meshPrefix: Ipv6Prefix, claims: readonly Claim[]): Map<Ipv6Prefix, string> {
  assertMeshPrefix(meshPrefix, ErrorCodes.CONFIG_INVALID)
  const earliest = new Map<Ipv6Prefix, number>()
  for (const claim of claims) {
    if (!isNodePrefix(meshPrefix, claim.prefix)) continue
    earliest.set(claim.prefix, Math.min(earliest.get(claim.prefix) ?? Infinity, sinceOf(claim)))
  }
  const best = new Map<Ipv6Prefix, Claim>()
  for (const claim of claims) {
    const first = earliest.get(claim.prefix)
    // Not a node prefix, or a newcomer against an earlier claim: owns nothing (see "Incumbency").
    if (first === undefined || sinceOf(claim) > first + CLAIM_RACE_WINDOW_MS) continue
    const incumbent = best.get(claim.prefix)
    if (incumbent === undefined || compareClaims(meshPrefix, claim, incumbent) < 0) best.set(claim.prefix, claim)
  }
  return new Map([...best].map(([prefix, claim]) => [prefix, claim.peerId]))
}

function sinceOf (claim: Claim): number {
  const s = claim.since ?? 0
  return Number.isNaN(s) ? 0 : s
}

/** losers returns the claims that do not own their prefix: they must not be routed to. */
export function losers (meshPrefix: Ipv6Prefix, claims: readonly Claim[]): Claim[] {
  const owners = resolvePrefixOwners(meshPrefix, claims)
  return claims.filter((claim) => owners.get(claim.prefix) !== claim.peerId)
}

/**
 * choosePrefix picks this node's /64: `requested` if we would own it, else
 * `current` if we still own it, else the first candidate nobody else claims.
 * Deterministic. Throws CONFIG_INVALID for a bad `requested`.
 */
export function choosePrefix (input: ChoosePrefixInput): PrefixChoice {
  const { meshPrefix, peerId } = input
  assertMeshPrefix(meshPrefix, ErrorCodes.CONFIG_INVALID)
  const claimed = groupByPrefix(input.others.filter((c) => c.peerId !== peerId))
  const owns = (prefix: Ipv6Prefix): boolean => isNodePrefix(meshPrefix, prefix) &&
    (claimed.get(prefix) ?? []).every((other) => compareClaims(meshPrefix, { peerId, prefix }, other) < 0)
  const requested = input.requested ?? null
  if (requested !== null && !isNodePrefix(meshPrefix, requested)) {
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID,
      `requested prefix ${requested} is not a /64 inside mesh prefix ${meshPrefix} (subnet ids 0 and ffff are reserved); pick another`)
  }
  for (const wish of [requested, input.current ?? null]) {
    if (wish !== null && owns(wish)) return choice(meshPrefix, peerId, wish)
  }
  for (let i = 0; i < MAX_CANDIDATES + OVERFLOW_CANDIDATES; i++) {
    const candidate = prefixCandidate(meshPrefix, peerId, i)
    if (!claimed.has(candidate)) return choice(meshPrefix, peerId, candidate)
  }
  throw new GridmeshError(ErrorCodes.INTERNAL, `no free /64 left for ${peerId} in mesh prefix ${meshPrefix}; the mesh is full`)
}

/** nodeAddress is the node's own overlay address, `<prefix>::1`. */
export function nodeAddress (prefix: Ipv6Prefix): Ipv6Address {
  return hostAddress(prefix, 1n)
}

/** linkAddress is the node's direct-link probe address, `<prefix>::2` (used as a /128). */
export function linkAddress (prefix: Ipv6Prefix): Ipv6Address {
  return hostAddress(prefix, 2n)
}

function choice (meshPrefix: Ipv6Prefix, peerId: string, prefix: Ipv6Prefix): PrefixChoice {
  return { prefix, candidateIndex: candidateIndexOf(meshPrefix, peerId, prefix) }
}

function groupByPrefix (claims: readonly Claim[]): Map<Ipv6Prefix, Claim[]> {
  const groups = new Map<Ipv6Prefix, Claim[]>()
  for (const claim of claims) groups.set(claim.prefix, [...(groups.get(claim.prefix) ?? []), claim])
  return groups
}

function assertMeshPrefix (prefix: Ipv6Prefix, code: ErrorCode): void {
  if (prefixLength(prefix) !== MESH_PREFIX_LENGTH) {
    throw new GridmeshError(code, `mesh prefix ${prefix} is not a /48; use a ULA /48 such as fd12:3456:789a::/48`)
  }
}

function sha256 (text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
