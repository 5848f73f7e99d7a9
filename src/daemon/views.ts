/**
 * What the admin API shows: pure renderings of the daemon's current view.
 * The row types are the admin contract (src/admin/contract.ts), shared with
 * the CLI; field names are the public JSON contract of DESIGN.md.
 */
import { nodeAddress } from '../mesh/allocation.ts'
import { describeRoutes } from '../routing/plan.ts'
import type { MeshView } from '../routing/mesh-view.ts'
import type { MemberSnapshot } from '../mesh/membership.ts'
import type { LinkState } from '../routing/link-state.ts'
import type { DeviceState } from '../wireguard/types.ts'
import type { PeerRow, RouteRow, StatusView } from '../admin/contract.ts'

export interface StatusInput extends Omit<StatusView, 'uptimeS'> {
  readonly startedAt: number
}

/** statusView is `gridmesh status --json`. `members` counts this node too. */
export function statusView (s: StatusInput, now: number): StatusView {
  const { startedAt, ...rest } = s
  return { ...rest, uptimeS: Math.round((now - startedAt) / 1000) }
}

export type { PeerRow }

/** peersView is `gridmesh peers --json`: one row per planned member, sorted by address. */
export function peersView (view: MeshView | null, members: MemberSnapshot, links: ReadonlyMap<string, LinkState>, device: DeviceState | null): PeerRow[] {
  if (view === null) return []
  const byKey = new Map((device?.peers ?? []).map(p => [p.publicKey, p]))
  return view.members.map(m => {
    const route = view.routes.get(m.peerId)
    const dev = byKey.get(m.wgPublicKey)
    const link = links.get(m.peerId)
    const state = route === undefined ? 'unreachable' : route.kind === 'direct' ? 'direct' : 'relayed'
    return {
      peerId: m.peerId,
      wgPublicKey: m.wgPublicKey,
      address: nodeAddress(m.prefix),
      prefix: m.prefix,
      endpoint: dev?.endpoint ?? m.endpoint,
      state,
      via: route !== undefined && route.kind === 'relay' ? route.via : null,
      // An RTT is a fact about a usable path: an unreachable peer shows none (the last one is in `routes --explain`).
      rttMs: state === 'unreachable' || link?.rttMs === null || link?.rttMs === undefined ? null : Math.round(link.rttMs * 100) / 100,
      link: link?.state ?? 'unknown',
      liveness: members.get(m.peerId)?.state ?? 'unknown',
      lastHandshake: dev === undefined || dev.latestHandshake === 0 ? null : dev.latestHandshake * 1000,
      rxBytes: dev?.rxBytes ?? 0,
      txBytes: dev?.txBytes ?? 0,
      since: route?.since ?? null
    } satisfies PeerRow
  }).sort((a, b) => (a.address < b.address ? -1 : 1))
}

/** routesView is `gridmesh routes --json`. */
export function routesView (view: MeshView | null): RouteRow[] {
  if (view === null) return []
  return describeRoutes(view.routes, view.members)
}
