/**
 * The decisions of one reconcile pass, without the I/O: whether the device
 * must be read (handshake ages, drift), what the desired WireGuard peers and
 * routes are (deriveMeshView), whether our /64 was lost to a better claim,
 * whether the desired peers must be applied, and whom the prober targets.
 * The reconciler (src/daemon/reconciler.ts) reads and applies what this
 * decides. Passes run on every membership or link change (several per
 * second in a busy mesh), so the device is read only at the resync interval
 * and applied only when the desired peers differ from the last apply: each
 * `wg` call is a process spawn.
 */
import { deriveMeshView, type MeshView } from './mesh-view.ts'
import type { Claim } from '../mesh/allocation.ts'
import type { MemberSnapshot } from '../mesh/member-table.ts'
import type { Ipv6Address, Ipv6Prefix } from '../net/prefix.ts'
import type { DeviceState, PeerChange, PeerConfig } from '../wireguard/types.ts'
import type { OwnLink, PeerIdString, RouteTable } from './types.ts'

/**
 * Handshake ages and drift are re-checked this often even when nothing else
 * happens. Link changes and membership changes trigger a pass at once; this
 * only catches what nobody told us about (each read spawns `wg show`).
 */
export const RESYNC_MS = 3_000

export interface PassInput {
  readonly self: PeerIdString
  readonly meshPrefix: Ipv6Prefix
  readonly ownPrefix: Ipv6Prefix
  /** When we took ownPrefix (mesh-view.ts ownClaim: settled after CLAIM_RACE_WINDOW_MS, then no newcomer displaces it). */
  readonly ownPrefixSince?: number
  readonly members: MemberSnapshot
  readonly ownLinks: ReadonlyMap<PeerIdString, OwnLink>
  readonly ownIps: readonly string[]
  readonly now: number
  /** Whether this pass read the device (then it also re-applies, to repair drift). */
  readonly resynced: boolean
}

export type PassDecision =
  /** Our /64 is owned by a better-ranked member: move (every claim given for choosePrefix). */
  | { readonly kind: 'move-prefix', readonly owner: PeerIdString, readonly claims: readonly Claim[] }
  | {
    readonly kind: 'converge'
    readonly view: MeshView
    /** Peers to apply, or null when the device already has them. */
    readonly apply: readonly PeerConfig[] | null
    readonly probeTargets: ReadonlyMap<PeerIdString, Ipv6Address>
  }

/** A route whose next hop or kind changed (logged at info: a relay decision can be explained from the log alone). */
export interface RouteTransition {
  readonly peer: PeerIdString
  readonly prefix: Ipv6Prefix
  readonly route: { readonly kind: string, readonly via: PeerIdString | null, readonly metric: number } | null
}

export class ReconcilePlan {
  /** The view of the last completed pass (null before the first). */
  view: MeshView | null = null
  /** The device as last read (null before the first read). */
  device: DeviceState | null = null
  private lastRead = 0
  private lastApplied = ''
  /** Keys we last configured: a cached handshake only counts for a peer that stayed configured. */
  private configured = new Set<string>()

  /** readDue: the device has never been read, or not for RESYNC_MS. */
  readDue (now: number): boolean { return this.device === null || now - this.lastRead >= RESYNC_MS }

  /** deviceRead records a read and returns each member's handshake age (ms, null = never) for the link table. */
  deviceRead (device: DeviceState, members: MemberSnapshot, now: number): Map<PeerIdString, number | null> {
    this.device = device
    this.lastRead = now
    const byKey = new Map(device.peers.map(p => [p.publicKey, p]))
    const ages = new Map<PeerIdString, number | null>()
    for (const [id, m] of members) {
      const p = byKey.get(m.record.wgPublicKey)
      ages.set(id, p === undefined || p.latestHandshake === 0 ? null : now - p.latestHandshake * 1000)
    }
    return ages
  }

  decide (input: PassInput): PassDecision {
    // A peer removed and re-added since the last read must get its endpoint
    // from the record: its old "fresh handshake" belongs to a session that is gone.
    const device = this.device
    const liveDevice = device === null ? null : { ...device, peers: device.peers.filter(p => this.configured.has(p.publicKey)) }
    const view = deriveMeshView({
      self: input.self, meshPrefix: input.meshPrefix, ownPrefix: input.ownPrefix, members: input.members, ownLinks: input.ownLinks,
      ...(input.ownPrefixSince === undefined ? {} : { ownPrefixSince: input.ownPrefixSince }),
      ...(this.view !== null ? { previousRoutes: this.view.routes } : {}),
      ownIps: input.ownIps, device: liveDevice, now: input.now
    })
    if (view.ownPrefixOwner !== input.self) {
      return { kind: 'move-prefix', owner: view.ownPrefixOwner, claims: [...input.members].map(([id, m]) => ({ peerId: id, prefix: m.record.prefix })) }
    }
    const stale = input.resynced || JSON.stringify(view.peers) !== this.lastApplied
    return { kind: 'converge', view, apply: stale ? view.peers : null, probeTargets: new Map(view.members.map(m => [m.peerId, m.linkAddress])) }
  }

  /** applied records what the device now has; peers that came or went make the next pass re-read it. */
  applied (peers: readonly PeerConfig[], changes: readonly PeerChange[]): void {
    this.lastApplied = JSON.stringify(peers)
    this.configured = new Set(peers.map(p => p.publicKey))
    if (changes.some(c => c.kind !== 'update')) this.lastRead = 0
  }

  /** adopt makes `next` the current view and returns the route transitions since the last one. */
  adopt (next: MeshView): RouteTransition[] {
    const prev = this.view
    this.view = next
    return routeTransitions(prev?.routes ?? null, next)
  }
}

function routeTransitions (prev: RouteTable | null, next: MeshView): RouteTransition[] {
  const out: RouteTransition[] = []
  for (const m of next.members) {
    const a = prev?.get(m.peerId)
    const b = next.routes.get(m.peerId)
    if (a?.via === b?.via && a?.kind === b?.kind) continue
    out.push({ peer: m.peerId, prefix: m.prefix, route: b === undefined ? null : { kind: b.kind, via: b.via, metric: b.metric } })
  }
  return out
}
