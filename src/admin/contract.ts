/**
 * The admin API contract: the one place that says what each endpoint takes
 * and answers. The daemon's views (src/daemon/views.ts, explain.ts) produce
 * these types and the admin server is typed with them; the CLI reads replies
 * only through `AdminReply<…>`, never through its own copies. Renaming a
 * field here breaks the build on both sides at once.
 *
 * Field names are the public JSON contract of DESIGN.md: add fields, never
 * rename or remove them.
 */
import type { WorkloadView } from '../workload/manager.ts'

/** `gridmesh status --json`. `members` counts this node too. */
export interface StatusView {
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
  readonly members: number
  readonly backend: string | null
  readonly memory: { readonly rssMb: number, readonly heapUsedMb: number }
  readonly counters: Readonly<Record<string, unknown>>
  /** Closed mesh (an authority is configured); the join token itself is never shown. */
  readonly closed?: boolean
  /** Closed meshes: when our membership certificate expires (unix ms; renewed before). */
  readonly certExpiresAt?: number | null
  /** Closed meshes: how many revocations this node knows. */
  readonly revocations?: number
  readonly uptimeS: number
}

/** How this node reaches a peer. */
export type PeerState = 'direct' | 'relayed' | 'unreachable'

/** One row of `gridmesh peers --json`. */
export interface PeerRow {
  readonly peerId: string
  /** The peer's WireGuard public key (base64), as in its signed record. */
  readonly wgPublicKey: string
  readonly address: string
  readonly prefix: string
  readonly endpoint: string | null
  readonly state: PeerState
  readonly via: string | null
  /** Smoothed direct-link RTT, ms; null when not measured or when the peer is unreachable. */
  readonly rttMs: number | null
  readonly link: string
  readonly liveness: string
  readonly lastHandshake: number | null
  readonly rxBytes: number
  readonly txBytes: number
  readonly since: number | null
}

/** One row of `gridmesh routes --json`. */
export interface RouteRow {
  readonly destination: string
  readonly destinationPeer: string
  readonly via: string
  readonly kind: 'direct' | 'relay'
  readonly metric: number
  readonly since: number
  readonly path: readonly string[]
}

/** This node's direct link to an explained destination, as both ends see it. */
export interface DirectLinkFacts {
  /** Our link state machine: `up`, `down` or `unknown` (not measured yet, usable). */
  readonly state: 'up' | 'down' | 'unknown'
  /** When our state last changed (unix ms). */
  readonly since: number | null
  /** Probes unanswered in a row right now. */
  readonly failedProbes: number
  /** Smoothed RTT, ms (the last measured one while the link is down). */
  readonly rttMs: number | null
  readonly lastHandshake: number | null
  /** The destination's own report says its side of the link is down. */
  readonly peerReportsDown: boolean
}

/** One relay the router could have used, priced like the router prices it. */
export interface Alternative { readonly via: string, readonly metric: number }

/** `gridmesh routes --explain TARGET --json`. */
export interface Explanation {
  readonly destination: string
  readonly destinationPeer: string
  readonly address: string
  readonly kind: 'direct' | 'relay' | 'unreachable'
  readonly via: string | null
  readonly since: number | null
  readonly metric: number | null
  readonly path: readonly string[]
  readonly hops: number
  /** metric − hops × HOP_COST: the RTT classes (plus a sub-unit tie-breaker). */
  readonly rttCost: number | null
  readonly direct: DirectLinkFacts
  /** Cheapest two-hop relays other than the one in use, ascending by metric (relay routes only). */
  readonly alternatives: readonly Alternative[]
  /** One sentence: the reason. */
  readonly reason: string
  readonly now: number
}

/** One pair of members and what each end reports about their direct link. */
export interface GraphEdge {
  readonly a: string
  readonly b: string
  /** `down` when either end says down, `up` when both say up, else `unmeasured`. */
  readonly state: 'up' | 'down' | 'unmeasured'
  /** On a relay path this node uses. */
  readonly onRelayPath: boolean
  /** a's view, then b's: up (null: not measured) and RTT. */
  readonly ends: readonly [{ readonly up: boolean | null, readonly rttMs: number | null }, { readonly up: boolean | null, readonly rttMs: number | null }]
}

/** `gridmesh graph --json` (without --svg): the DOT text and the same graph as data. */
export interface GraphView {
  readonly dot: string
  readonly nodes: ReadonlyArray<{ readonly peerId: string, readonly prefix: string, readonly address: string, readonly self: boolean }>
  readonly edges: readonly GraphEdge[]
  /** The relay routes this node uses: destination peer, relay, full path. */
  readonly relays: ReadonlyArray<{ readonly destination: string, readonly via: string, readonly path: readonly string[] }>
  /** The relaying this node does: other members' routes (from → to) that pass through it. */
  readonly relaying: ReadonlyArray<{ readonly from: string, readonly to: string }>
}

/** `POST /v1/revocations`. */
export interface RevocationResult { readonly id: string, readonly result: string, readonly revocations: number }

export type { WorkloadView }

/** One changed setting (secrets shown as `[redacted]`). */
export interface ConfigChange { readonly key: string, readonly from: unknown, readonly to: unknown }

/** What a reload did (or, dry run, would do). */
export interface ReloadResult {
  readonly ok: boolean
  readonly dryRun: boolean
  /** Changes applied live (dry run: that would be). */
  readonly applied: readonly ConfigChange[]
  /** Changes that need a restart; the running value is kept. */
  readonly needsRestart: readonly ConfigChange[]
  readonly notes: readonly string[]
  /** Why nothing changed (ok false). */
  readonly error?: string
}

/**
 * Every endpoint: its query, its body and its reply. The CLI's `adminCall`
 * and the daemon's `AdminServices` are both derived from this table.
 */
export interface AdminApi {
  'GET /v1/status': { query: undefined, body: undefined, reply: StatusView }
  'GET /v1/peers': { query: undefined, body: undefined, reply: PeerRow[] }
  'GET /v1/routes': { query: undefined, body: undefined, reply: RouteRow[] }
  'GET /v1/routes/explain': { query: { target: string }, body: undefined, reply: Explanation }
  'GET /v1/graph': { query: undefined, body: undefined, reply: GraphView }
  'POST /v1/leave': { query: undefined, body: undefined, reply: { leaving: true } }
  'POST /v1/revocations': { query: undefined, body: { revocation: string }, reply: RevocationResult }
  'GET /v1/workloads': { query: undefined, body: undefined, reply: WorkloadView[] }
  'POST /v1/workloads': { query: undefined, body: { name: string, netns: string }, reply: WorkloadView }
  'POST /v1/workloads/remove': { query: undefined, body: { name: string }, reply: WorkloadView }
  'POST /v1/reload': { query: undefined, body: { dryRun: boolean }, reply: ReloadResult }
}

export type AdminEndpoint = keyof AdminApi
export type AdminReply<E extends AdminEndpoint> = AdminApi[E]['reply']
export type AdminQuery<E extends AdminEndpoint> = AdminApi[E]['query']
export type AdminBody<E extends AdminEndpoint> = AdminApi[E]['body']

/**
 * What each endpoint is called in messages: the command an operator typed,
 * never the URL (no percent-encoded internals in an error line).
 */
export const ENDPOINT_LABELS: Readonly<Record<AdminEndpoint, string>> = {
  'GET /v1/status': 'status',
  'GET /v1/peers': 'peers',
  'GET /v1/routes': 'routes',
  'GET /v1/routes/explain': 'routes --explain',
  'GET /v1/graph': 'graph',
  'POST /v1/leave': 'leave',
  'POST /v1/revocations': 'revocation publish',
  'GET /v1/workloads': 'workload list',
  'POST /v1/workloads': 'workload add',
  'POST /v1/workloads/remove': 'workload remove',
  'POST /v1/reload': 'reload'
}
