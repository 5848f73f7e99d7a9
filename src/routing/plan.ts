/**
 * Desired WireGuard peers and kernel routes from members + routes. Pure.
 *
 * WireGuard's cryptokey routing picks the outgoing peer by the destination's
 * longest allowed-ips match, and accepts an incoming packet only if its
 * source is in the sender's allowed-ips. So "route D via P" is expressed by
 * putting D's /64 on P's entry, and nothing else is needed in the kernel.
 *
 * Every member keeps its own entry even while relayed or unreachable, with
 * its link address /128 on it: direct probes (prober.ts) always travel the
 * direct link and tell us when it heals, even while its /64 is relayed.
 */
import type { Ipv6Address, Ipv6Prefix } from '../net/prefix.ts'
import type { WgPublicKey } from '../keys/types.ts'
import type { PeerConfig } from '../wireguard/types.ts'
import type { PeerIdString, RouteKind, RouteTable } from './types.ts'

/**
 * Keepalive every 5 s: keeps NAT/conntrack mappings open for the direct
 * path, and guarantees traffic on every session, so WireGuard's handshake age
 * is a liveness signal (link-state.ts HANDSHAKE_STALE_MS).
 */
export const PERSISTENT_KEEPALIVE_S = 5

/** A member as the planner needs it (self excluded). */
export interface MemberInfo {
  readonly peerId: PeerIdString
  readonly wgPublicKey: WgPublicKey
  readonly endpoint: string | null
  /** The member's /64. */
  readonly prefix: Ipv6Prefix
  /** `<prefix>::2`, used only to probe the direct link. */
  readonly linkAddress: Ipv6Address
}

/** One row of `gridmesh routes --json`. */
export interface RouteRow {
  readonly destination: Ipv6Prefix
  readonly destinationPeer: PeerIdString
  readonly via: PeerIdString
  readonly kind: RouteKind
  readonly metric: number
  readonly since: number
  readonly path: readonly PeerIdString[]
}

function byString (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * uniqueMembers drops self and every member whose public key, /64 or link
 * address was already claimed by a lower PeerId. Allocation should make that
 * impossible; if it happens anyway, planning one owner is safer than a
 * config the driver would reject (or WireGuard would silently reassign).
 */
function uniqueMembers (self: PeerIdString, members: readonly MemberInfo[]): MemberInfo[] {
  const taken = new Set<string>()
  const out: MemberInfo[] = []
  for (const m of [...members].sort((a, b) => byString(a.peerId, b.peerId))) {
    const keys = [`k ${m.wgPublicKey}`, `p ${m.prefix}`, `a ${m.linkAddress}`]
    if (m.peerId === self || keys.some(k => taken.has(k))) continue
    keys.forEach(k => taken.add(k))
    out.push(m)
  }
  return out
}

/**
 * planMeshPeers returns one PeerConfig per member, sorted by public key, with
 * allowed-ips = its link /128, + its /64 when the route to it is direct, + the
 * /64 of every destination relayed through it. Unreachable destinations'
 * /64 are on nobody; each /64 is on at most one peer.
 */
export function planMeshPeers (input: {
  readonly self: PeerIdString
  readonly members: readonly MemberInfo[]
  readonly routes: RouteTable
}): PeerConfig[] {
  const members = uniqueMembers(input.self, input.members)
  const byId = new Map(members.map(m => [m.peerId, m]))
  const allowed = new Map<PeerIdString, Ipv6Prefix[]>(
    members.map(m => [m.peerId, [`${m.linkAddress}/128` as Ipv6Prefix]]))
  for (const m of members) {
    const route = input.routes.get(m.peerId)
    if (route === undefined || !byId.has(route.via)) continue
    allowed.get(route.via)?.push(m.prefix)
  }
  return members
    .map(m => ({
      publicKey: m.wgPublicKey,
      endpoint: m.endpoint,
      allowedIps: (allowed.get(m.peerId) ?? []).sort(byString),
      persistentKeepalive: PERSISTENT_KEEPALIVE_S
    }))
    .sort((a, b) => byString(a.publicKey, b.publicKey))
}

/**
 * planKernelRoutes is the whole kernel routing for the mesh: one route for
 * the mesh prefix on the WireGuard interface. Which peer a packet goes to is
 * decided by cryptokey routing (allowed-ips), so relay changes never touch
 * the kernel table.
 */
export function planKernelRoutes (meshPrefix: Ipv6Prefix): Ipv6Prefix[] {
  return [meshPrefix]
}

/** describeRoutes renders the table for `gridmesh routes --json`, sorted by destination prefix. */
export function describeRoutes (routes: RouteTable, members: readonly MemberInfo[]): RouteRow[] {
  const rows: RouteRow[] = []
  for (const m of members) {
    const r = routes.get(m.peerId)
    if (r === undefined) continue
    rows.push({
      destination: m.prefix,
      destinationPeer: m.peerId,
      via: r.via,
      kind: r.kind,
      metric: r.metric,
      since: r.since,
      path: r.path
    })
  }
  return rows.sort((a, b) => byString(a.destination, b.destination) || byString(a.destinationPeer, b.destinationPeer))
}
