/**
 * The pure heart of the reconciler: from the member snapshot, our own links
 * and the device's handshake times, decide who owns which /64, the route to
 * every member, and the WireGuard peers that realise those routes.
 * Nothing here does I/O; the reconcile pass (reconcile-plan.ts) feeds it.
 */
import { CLAIM_RACE_WINDOW_MS, compareClaims, isNodePrefix, linkAddress, resolvePrefixOwners, type Claim } from '../mesh/allocation.ts'
import { parseLinkReport, type LinkReport } from './link-report.ts'
import { computeRoutes } from './routes.ts'
import { planMeshPeers, type MemberInfo } from './plan.ts'
import { chooseEndpoint } from './endpoint-choice.ts'
import type { MemberSnapshot } from '../mesh/member-table.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { OwnLink, PeerIdString, RouteTable } from './types.ts'
import type { DeviceState, PeerConfig } from '../wireguard/types.ts'

/**
 * A live session is left alone: WireGuard roams to the address authenticated
 * packets come from, and rewriting it from a record would fight that (I6).
 * Sessions rekey every 120 s, so a handshake younger than this means live.
 */
export const FRESH_HANDSHAKE_MS = 135_000

export interface MeshViewInput {
  readonly self: PeerIdString
  readonly meshPrefix: Ipv6Prefix
  readonly ownPrefix: Ipv6Prefix
  /**
   * When we took ownPrefix (unix ms; this run's start for a saved one). For
   * CLAIM_RACE_WINDOW_MS after it our claim is unsettled and we yield to any
   * other claim on it; after it, it is ours against every newcomer
   * (allocation.ts "Incumbency"). Absent: the rank alone decides (old rule).
   */
  readonly ownPrefixSince?: number
  readonly members: MemberSnapshot
  readonly ownLinks: ReadonlyMap<PeerIdString, OwnLink>
  readonly previousRoutes?: RouteTable
  /** Our underlay IPs, to pick the peer endpoint on a network we share. */
  readonly ownIps: readonly string[]
  /** What the device reports now (handshake times), or null before the first read. */
  readonly device: DeviceState | null
  readonly now: number
}

/** Why a member is not planned as a peer. */
export interface Excluded { readonly peerId: PeerIdString, readonly prefix: Ipv6Prefix, readonly reason: 'prefix-lost' | 'prefix-outside-mesh' }

export interface MeshView {
  /** Members we plan WireGuard peers for (each the owner of its /64). */
  readonly members: readonly MemberInfo[]
  readonly excluded: readonly Excluded[]
  /** Who owns the /64 we claim: self, or the member that outranks us. */
  readonly ownPrefixOwner: PeerIdString
  readonly routes: RouteTable
  readonly peers: readonly PeerConfig[]
}

function freshHandshakeKeys (device: DeviceState | null, now: number): Set<string> {
  const out = new Set<string>()
  for (const p of device?.peers ?? []) {
    if (p.latestHandshake > 0 && now - p.latestHandshake * 1000 < FRESH_HANDSHAKE_MS) out.add(p.publicKey)
  }
  return out
}

/** reportsFromMembers validates each member's shared link report; an invalid one is ignored (its edges count as unmeasured). */
export function reportsFromMembers (members: MemberSnapshot): Map<PeerIdString, LinkReport> {
  const out = new Map<PeerIdString, LinkReport>()
  for (const [id, m] of members) {
    if (m.links === undefined) continue
    try {
      const r = parseLinkReport(m.links)
      if (r.from === id) out.set(id, r)
    } catch { /* an invalid report is ignored: the edge counts as unmeasured */ }
  }
  return out
}

/**
 * ownClaim is our claim as the prefix rule sees it: settled (taken at least
 * CLAIM_RACE_WINDOW_MS ago) it predates every other claim we can see, so no
 * newcomer displaces it whatever its rank (issue 19, attack 2); unsettled,
 * we yield to any other claim on it (null: we claim nothing), since the
 * other may be an incumbent every other node already sides with.
 */
function ownClaim (input: MeshViewInput, others: readonly Claim[]): Claim | null {
  const base = { peerId: input.self, prefix: input.ownPrefix }
  if (input.ownPrefixSince === undefined) return base
  if (input.now - input.ownPrefixSince >= CLAIM_RACE_WINDOW_MS) return { ...base, since: -Infinity }
  return others.some(c => c.prefix === input.ownPrefix) ? null : { ...base, since: input.ownPrefixSince }
}

/** The best-ranked other claim on `prefix`, if any (whom we yield to while unsettled). */
function rivalOf (meshPrefix: Ipv6Prefix, prefix: Ipv6Prefix, claims: readonly Claim[]): string | undefined {
  const rivals = claims.filter(c => c.prefix === prefix).sort((a, b) => compareClaims(meshPrefix, a, b))
  return rivals[0]?.peerId
}

/** deriveMeshView computes ownership, routes and WireGuard peers. Pure. */
export function deriveMeshView (input: MeshViewInput): MeshView {
  const excluded: Excluded[] = []
  const claims: Claim[] = []
  for (const [id, m] of input.members) {
    if (!isNodePrefix(input.meshPrefix, m.record.prefix)) {
      excluded.push({ peerId: id, prefix: m.record.prefix, reason: 'prefix-outside-mesh' })
      continue
    }
    claims.push({ peerId: id, prefix: m.record.prefix, ...(m.prefixSince === undefined ? {} : { since: m.prefixSince }) })
  }
  const own = ownClaim(input, claims)
  if (own !== null) claims.unshift(own)
  const owners = resolvePrefixOwners(input.meshPrefix, claims)
  const fresh = freshHandshakeKeys(input.device, input.now)
  const members: MemberInfo[] = []
  for (const c of claims) {
    if (c.peerId === input.self) continue
    if (owners.get(c.prefix) !== c.peerId) { excluded.push({ peerId: c.peerId, prefix: c.prefix, reason: 'prefix-lost' }); continue }
    const record = input.members.get(c.peerId)?.record
    if (record === undefined) continue
    members.push({
      peerId: c.peerId,
      wgPublicKey: record.wgPublicKey,
      endpoint: fresh.has(record.wgPublicKey) ? null : chooseEndpoint(record.endpoints, input.ownIps),
      prefix: c.prefix,
      linkAddress: linkAddress(c.prefix)
    })
  }
  const routes = computeRoutes({
    self: input.self,
    members: members.map(m => m.peerId),
    reports: reportsFromMembers(input.members),
    ownLinks: input.ownLinks,
    ...(input.previousRoutes !== undefined ? { previous: input.previousRoutes } : {}),
    now: input.now
  })
  return {
    members,
    excluded,
    ownPrefixOwner: owners.get(input.ownPrefix) ?? rivalOf(input.meshPrefix, input.ownPrefix, claims) ?? input.self,
    routes,
    peers: planMeshPeers({ self: input.self, members, routes })
  }
}
