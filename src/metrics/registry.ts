/**
 * The Prometheus metrics of a node. One non-global prom-client Registry is
 * created in the composition root and passed down (no module singletons, so
 * tests and several nodes in one process never share counters).
 *
 * Two kinds of sources: events the daemon pushes (reconcile passes, DHT
 * operations, WireGuard restarts, route changes) and counters other modules
 * already keep (membership's rejected records, unhandled errors), which are
 * read at scrape time through `setSources` instead of being mirrored.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { PeerIdString, RouteTable } from '../routing/types.ts'

/** Reconcile passes take ms normally; seconds means something is stuck. */
const PASS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
/** DHT queries: tens of ms in a LAN, up to the 10 s timeout when peers are gone. */
const DHT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** The peer states of the public contract. */
export type PeerState = 'direct' | 'relayed' | 'unreachable'

/** What one reconcile pass observed, for the gauges. */
export interface PassObservation {
  /** Members including this node (as `status.members`). */
  readonly members: number
  readonly peers: ReadonlyArray<{ readonly state: PeerState }>
  readonly links: ReadonlyMap<PeerIdString, { readonly state: string, readonly rttMs: number | null }>
  readonly routes: RouteTable
}

/** Counters kept elsewhere, read at scrape time. */
export interface MetricSources {
  rejected (): Readonly<Record<string, number>>
  unhandled (): number
}

export interface GridmeshMetrics {
  readonly registry: Registry
  /** Records a pass's observations; counts route changes against the previous pass. */
  observePass (o: PassObservation): void
  /** Wraps a reconcile pass: counts ok/error and times it. Rethrows. */
  timePass (pass: () => Promise<void>): () => Promise<void>
  /** The `onDhtOp` hook of the libp2p node. */
  dhtOp (op: 'put' | 'get', ms: number, ok: boolean): void
  wireguardRestarted (): void
  setSources (s: MetricSources): void
}

/**
 * routeChanges counts destinations whose (kind, via) differs between two
 * tables; a destination appearing or disappearing (reachable ↔ unreachable)
 * is a change too. A new `since` alone (same next hop, longer path) is not:
 * the packets go to the same peer.
 */
export function routeChanges (prev: RouteTable | null, next: RouteTable): number {
  if (prev === null) return 0
  let n = 0
  for (const [id, r] of next) {
    const old = prev.get(id)
    if (old === undefined || old.via !== r.via || old.kind !== r.kind) n++
  }
  for (const id of prev.keys()) if (!next.has(id)) n++
  return n
}

/** createMetrics defines every gridmesh_ metric on `registry`. */
export function createMetrics (registry: Registry): GridmeshMetrics {
  const registers = [registry]
  let sources: MetricSources | null = null
  let previous: RouteTable | null = null

  const members = new Gauge({ name: 'gridmesh_members', help: 'Members of the mesh, this node included.', registers })
  const peers = new Gauge({ name: 'gridmesh_peers', help: 'Peers by route state.', labelNames: ['state'] as const, registers })
  const rtt = new Gauge({ name: 'gridmesh_link_rtt_seconds', help: 'Smoothed RTT of the direct link to a peer (absent until measured).', labelNames: ['peer'] as const, registers })
  const up = new Gauge({ name: 'gridmesh_link_up', help: '1 when the direct link to a peer is usable (up or not yet measured), 0 when down.', labelNames: ['peer'] as const, registers })
  const changes = new Counter({ name: 'gridmesh_route_changes_total', help: 'Destinations whose next hop or kind changed between two reconcile passes.', registers })
  const reconciles = new Counter({ name: 'gridmesh_reconciles_total', help: 'Reconcile passes by result.', labelNames: ['result'] as const, registers })
  const passTime = new Histogram({ name: 'gridmesh_reconcile_duration_seconds', help: 'Duration of reconcile passes.', buckets: PASS_BUCKETS, registers })
  const dhtPut = new Histogram({ name: 'gridmesh_dht_put_duration_seconds', help: 'Duration of DHT puts.', buckets: DHT_BUCKETS, registers })
  const dhtGet = new Histogram({ name: 'gridmesh_dht_get_duration_seconds', help: 'Duration of DHT gets.', buckets: DHT_BUCKETS, registers })
  const dhtFailures = new Counter({ name: 'gridmesh_dht_failures_total', help: 'DHT operations that failed.', labelNames: ['op'] as const, registers })
  const restarts = new Counter({ name: 'gridmesh_wireguard_restarts_total', help: 'Restarts of the supervised wireguard-go.', registers })
  new Counter({
    name: 'gridmesh_records_rejected_total', help: 'Peer records refused by validation, by reason.', labelNames: ['reason'] as const, registers,
    collect () {
      this.reset()
      for (const [reason, n] of Object.entries(sources?.rejected() ?? {})) this.inc({ reason }, n)
    }
  })
  new Counter({
    name: 'gridmesh_unhandled_errors_total', help: 'Exceptions that escaped their handlers (bugs).', registers,
    collect () { this.reset(); this.inc(sources?.unhandled() ?? 0) }
  })
  // Zero-initialise labelled counters so dashboards see the series before the first event.
  for (const result of ['ok', 'error']) reconciles.inc({ result }, 0)
  for (const op of ['put', 'get']) dhtFailures.inc({ op }, 0)

  return {
    registry,
    observePass (o) {
      members.set(o.members)
      const counts: Record<PeerState, number> = { direct: 0, relayed: 0, unreachable: 0 }
      for (const p of o.peers) counts[p.state]++
      for (const [state, n] of Object.entries(counts)) peers.set({ state }, n)
      // Reset per pass so departed peers' series disappear instead of going stale.
      rtt.reset(); up.reset()
      for (const [peer, l] of o.links) {
        up.set({ peer }, l.state === 'down' ? 0 : 1)
        if (l.rttMs !== null) rtt.set({ peer }, l.rttMs / 1000)
      }
      changes.inc(routeChanges(previous, o.routes))
      previous = o.routes
    },
    timePass (pass) {
      return async () => {
        const end = passTime.startTimer()
        try {
          await pass()
          reconciles.inc({ result: 'ok' })
        } catch (err) {
          reconciles.inc({ result: 'error' })
          throw err
        } finally {
          end()
        }
      }
    },
    dhtOp (op, ms, ok) {
      (op === 'put' ? dhtPut : dhtGet).observe(ms / 1000)
      if (!ok) dhtFailures.inc({ op })
    },
    wireguardRestarted () { restarts.inc() },
    setSources (s) { sources = s }
  }
}
