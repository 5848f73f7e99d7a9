/**
 * Route computation: members + shared link reports → one route per
 * destination. Pure: the clock comes in as `now`, nothing is read or written.
 *
 * Why every node's routes fit together (hop-by-hop relaying):
 * a relay B forwards A's packets for C by B's OWN table, and C answers A by
 * C's table. That only works if all nodes agree on paths. So:
 * 1. Weights are symmetric (max of both ends' RTT classes, see weights.ts)
 *    and every node prices every edge from the same shared reports.
 * 2. A symmetric pair hash perturbs each edge by < 1/16, making shortest
 *    paths unique (ties are astronomically unlikely). With unique shortest
 *    paths, A's path to C is exactly the reverse of C's path to A, and every
 *    sub-path of a shortest path is itself the shortest path between its
 *    ends, so B's own route to C continues A's path exactly.
 * 3. Exact ties fall back to "lower predecessor PeerId wins" — deterministic,
 *    though not symmetric; accepted for a case that needs a 2^-20 collision.
 *
 * Why NO route hysteresis here (decision): "keep the old route while it is
 * within 10%" would make a node's choice depend on its own history, so two
 * nodes with the same inputs could pick different paths and break point 2
 * (A relays via B, but B sends C's traffic for A elsewhere, or C answers via
 * D). Flap damping therefore lives only in link-state.ts, before links are
 * shared; computeRoutes is a pure function of (members, reports, ownLinks),
 * and `previous` is used only to carry `since` forward for an unchanged route.
 *
 * Known transient asymmetry: self's side of its own edges comes from
 * `ownLinks`, which others only see once self publishes its next report.
 * Until then the two ends of a changed link may disagree for one report
 * interval; the link-state hysteresis keeps such windows rare.
 *
 * Search: members with a usable direct edge are final at once (a direct edge
 * beats any two hops). The others (relayed set R) get Dijkstra: first every
 * direct node relaxes its edges into R (all direct nodes are closer than any
 * R node, so their order is irrelevant), then a binary heap over R.
 * O(total report entries + N·|R| + |R|² log |R|).
 */
import { buildGraph, relayEdgeWeight } from './graph.ts'
import { NodeHeap } from './heap.ts'
import type { GraphInput, MeshGraph } from './graph.ts'
import type { PeerIdString, Route, RouteTable } from './types.ts'

/** Inputs of computeRoutes: the graph inputs plus the previous table (for `since` only) and the clock. */
export interface ComputeRoutesInput extends GraphInput {
  readonly previous?: RouteTable
  readonly now: number
}

/** Shortest-path tree from self: distance and predecessor per node index (-1 = none). */
interface Tree {
  readonly dist: Float64Array
  readonly pred: Int32Array
}

/**
 * computeRoutes returns the route to every reachable member other than self
 * (unreachable members are absent), in ascending PeerId order. Deterministic:
 * the same (members, reports, ownLinks) give the same paths on every node.
 */
export function computeRoutes (input: ComputeRoutesInput): RouteTable {
  const g = buildGraph(input)
  const tree = shortestPaths(g)
  return toTable(g, tree, input.previous, input.now)
}

function shortestPaths (g: MeshGraph): Tree {
  const n = g.ids.length
  const dist = new Float64Array(n).fill(Infinity)
  const pred = new Int32Array(n).fill(-1)
  dist[g.self] = 0
  for (let v = 0; v < n; v++) {
    if (v === g.self || g.selfWeight[v] === Infinity) continue
    dist[v] = g.selfWeight[v] as number
    pred[v] = g.self
  }
  if (g.relayed.length > 0) searchRelayed(g, dist, pred)
  return { dist, pred }
}

/** relax offers the path via u to relayed node r; exact ties keep the lower predecessor index (= PeerId). */
function relax (dist: Float64Array, pred: Int32Array, u: number, r: number, d: number): boolean {
  const old = dist[r] as number
  if (d < old || (d === old && u < (pred[r] as number))) {
    dist[r] = d
    pred[r] = u
    return d < old
  }
  return false
}

function searchRelayed (g: MeshGraph, dist: Float64Array, pred: Int32Array): void {
  const n = g.ids.length
  const settled = new Uint8Array(g.relayed.length)
  for (let u = 0; u < n; u++) {
    if (u === g.self || g.relayPos[u] !== -1) continue
    const du = dist[u] as number
    for (let p = 0; p < g.relayed.length; p++) {
      relax(dist, pred, u, g.relayed[p] as number, du + relayEdgeWeight(g, p, u))
    }
  }
  const heap = new NodeHeap()
  g.relayed.forEach(r => { if (dist[r] !== Infinity) heap.push(r, dist[r] as number) })
  while (heap.size > 0) {
    const u = heap.pop()
    const uPos = g.relayPos[u] as number
    if (settled[uPos] === 1) continue
    settled[uPos] = 1
    const du = dist[u] as number
    for (let p = 0; p < g.relayed.length; p++) {
      if (settled[p] === 1) continue
      const r = g.relayed[p] as number
      if (relax(dist, pred, u, r, du + relayEdgeWeight(g, p, u))) heap.push(r, dist[r] as number)
    }
  }
}

function pathTo (g: MeshGraph, pred: Int32Array, v: number): PeerIdString[] {
  const path: PeerIdString[] = []
  for (let x = v; x !== -1; x = pred[x] as number) path.push(g.ids[x] as PeerIdString)
  return path.reverse()
}

function samePath (a: readonly PeerIdString[], b: readonly PeerIdString[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i])
}

function toTable (g: MeshGraph, tree: Tree, previous: RouteTable | undefined, now: number): RouteTable {
  const table = new Map<PeerIdString, Route>()
  for (let v = 0; v < g.ids.length; v++) {
    if (v === g.self || tree.dist[v] === Infinity) continue
    const id = g.ids[v] as PeerIdString
    const path = pathTo(g, tree.pred, v)
    const via = path[1] as PeerIdString
    const old = previous?.get(id)
    const since = old !== undefined && old.via === via && samePath(old.path, path) ? old.since : now
    const kind = path.length === 2 ? 'direct' : 'relay'
    table.set(id, { via, kind, metric: Math.round(tree.dist[v] as number), path, since })
  }
  return table
}
