/**
 * What the admin API shows: pure renderings of the daemon's current view.
 * Field names are the public JSON contract of DESIGN.md.
 */
import { nodeAddress } from '../mesh/allocation.ts'
import { describeRoutes } from '../routing/plan.ts'
import type { MeshView } from '../routing/mesh-view.ts'
import type { MemberSnapshot } from '../mesh/membership.ts'
import type { LinkState } from '../routing/link-state.ts'
import type { DeviceState } from '../wireguard/types.ts'

export interface StatusInput {
  readonly peerId: string
  readonly mesh: string
  readonly meshPrefix: string
  readonly prefix: string
  readonly address: string
  readonly linkAddress: string
  readonly interface: string
  readonly wgPublicKey: string
  readonly endpoints: readonly string[]
  readonly listen: readonly string[]
  readonly seq: number
  readonly startedAt: number
  readonly members: number
  readonly backend: string | null
  readonly memory: { rssMb: number, heapUsedMb: number }
  readonly counters: Record<string, unknown>
  /** Closed mesh (an authority is configured); the join token itself is never shown. */
  readonly closed?: boolean
  /** Closed meshes: when our membership certificate expires (unix ms; renewed before). */
  readonly certExpiresAt?: number | null
  /** Closed meshes: how many revocations this node knows. */
  readonly revocations?: number
}

/** statusView is `gridmesh status --json`. `members` counts this node too. */
export function statusView (s: StatusInput, now: number): Record<string, unknown> {
  const { startedAt, ...rest } = s
  return { ...rest, uptimeS: Math.round((now - startedAt) / 1000) }
}

export interface PeerRow {
  readonly peerId: string
  readonly address: string
  readonly prefix: string
  readonly endpoint: string | null
  readonly state: 'direct' | 'relayed' | 'unreachable'
  readonly via: string | null
  readonly rttMs: number | null
  readonly link: string
  readonly liveness: string
  readonly lastHandshake: number | null
  readonly rxBytes: number
  readonly txBytes: number
  readonly since: number | null
}

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
      address: nodeAddress(m.prefix),
      prefix: m.prefix,
      endpoint: dev?.endpoint ?? m.endpoint,
      state,
      via: route !== undefined && route.kind === 'relay' ? route.via : null,
      rttMs: link?.rttMs === null || link?.rttMs === undefined ? null : Math.round(link.rttMs * 100) / 100,
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
export function routesView (view: MeshView | null): unknown[] {
  if (view === null) return []
  return describeRoutes(view.routes, view.members)
}
