/**
 * Plain data shared by the routing core: member ids, own link views and the
 * route table. Kept in one small file so link-state, graph, routes and plan
 * can depend on the shapes without depending on each other.
 */

export type { PeerIdString } from '../keys/types.ts'
import type { PeerIdString } from '../keys/types.ts'

/** Direct-link state of one peer as this node sees it (see link-state.ts). */
export type LinkStateName = 'unknown' | 'up' | 'down'

/** This node's own, freshest view of its direct link to one peer. */
export interface OwnLink {
  readonly state: LinkStateName
  /** Coarse RTT cost 0..15 (see `rttClass`); 0 when nothing was measured. */
  readonly rttClass: number
}

/** How a destination is reached: by its own WireGuard entry, or through another member. */
export type RouteKind = 'direct' | 'relay'

/** One destination's route. Unreachable destinations are absent from the table. */
export interface Route {
  /** Next hop: the member whose WireGuard entry carries the destination's /64 (`path[1]`). */
  readonly via: PeerIdString
  readonly kind: RouteKind
  /** Path cost rounded to an integer (HOP_COST per hop plus RTT terms). */
  readonly metric: number
  /** Full path from this node (`path[0]`) to the destination (last element). */
  readonly path: readonly PeerIdString[]
  /** When this exact route (via + path) was first chosen; carried over from the previous table. */
  readonly since: number
}

/** Destination member → route. A destination that cannot be reached has no entry. */
export type RouteTable = ReadonlyMap<PeerIdString, Route>
