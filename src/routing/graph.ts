/**
 * The mesh graph, built from members + shared link reports without ever
 * materializing N² edges.
 *
 * The mesh is a complete graph minus broken edges. Edge (a, b) is usable iff
 * neither end reports it down; a missing report, a missing entry or
 * `unknown` counts as usable, so a mesh that just formed is all-direct at
 * once. For edges at `self`, self's side comes from `ownLinks` (fresher than
 * self's published report), the other side from the peer's report.
 *
 * Because a direct edge (< 2048) always beats two hops (≥ 2048, see
 * weights.ts), every member whose direct edge to self is usable is reached
 * directly, and only the other members ("relayed", R) need a search. So the
 * graph keeps, besides self's row, only the edges that touch R: one byte per
 * (r ∈ R, u ∈ members) holding max(rttClass) and a broken bit. That is
 * O(N·|R|) memory and time instead of O(N²) (plus indexing each report once,
 * memoized); |R| is the number of self's broken direct links, usually 0.
 */
import { clampRttClass, edgeWeight, idHash, pairHashOf, PERTURBATION_SCALE, UNMEASURED_RTT_CLASS } from './weights.ts'
import type { LinkReport, LinkReportEntry } from './link-report.ts'
import type { OwnLink, PeerIdString } from './types.ts'

/** Inputs of the route computation (the part that decides the graph). */
export interface GraphInput {
  readonly self: PeerIdString
  /** Current members; self may be included or not. */
  readonly members: readonly PeerIdString[]
  /** Latest validated report per member (keyed by its sender). */
  readonly reports: ReadonlyMap<PeerIdString, LinkReport>
  /** Self's own view of its direct links. */
  readonly ownLinks: ReadonlyMap<PeerIdString, OwnLink>
}

/** Broken flag in a relay cell; the low 4 bits hold max(rttClass). */
const BROKEN = 0x80

/** MeshGraph is the compact graph: nodes are indices into `ids` (sorted, so index order = PeerId order). */
export interface MeshGraph {
  readonly ids: readonly PeerIdString[]
  readonly self: number
  /** idHash of each node, for the O(1) pair perturbation. */
  readonly hashes: Uint32Array
  /** Weight of edge (self, v); Infinity when broken; 0 for self. */
  readonly selfWeight: Float64Array
  /** Nodes whose direct edge to self is broken, ascending. */
  readonly relayed: Int32Array
  /** node → position in `relayed`, or -1. */
  readonly relayPos: Int32Array
  /** relayed.length × ids.length cells: BROKEN | max rttClass of edge (relayed[p], u). */
  readonly cells: Uint8Array
}

/** buildGraph indexes members and folds the reports into self's row and the relay cells. */
export function buildGraph (input: GraphInput): MeshGraph {
  const ids = [...new Set([...input.members, input.self])].sort()
  const self = ids.indexOf(input.self)
  const hashes = Uint32Array.from(ids, idHash)
  const reports = reportViews(input, ids)
  const selfWeight = selfRow(input, { ids, self, hashes }, reports)
  const relayedList: number[] = []
  for (let v = 0; v < ids.length; v++) if (selfWeight[v] === Infinity) relayedList.push(v)
  const relayed = Int32Array.from(relayedList)
  const relayPos = new Int32Array(ids.length).fill(-1)
  relayed.forEach((v, p) => { relayPos[v] = p })
  const cells = new Uint8Array(relayed.length * ids.length)
  const graph = { ids, self, hashes, selfWeight, relayed, relayPos, cells }
  if (relayed.length > 0) fillRelayCells(graph, reports)
  return graph
}

/** A report's links by target, each packed as `BROKEN | rttClass` (a small int: no pointer chase in hot loops). */
type LinkView = ReadonlyMap<PeerIdString, number>

function pack (e: LinkReportEntry): number {
  return (e.up ? 0 : BROKEN) | clampRttClass(e.rttClass)
}

/**
 * Indexed form of each report, memoized by object identity. Reports are
 * immutable values (parsed once, replaced whole by a newer seq), so indexing
 * one costs O(links) once, and each computation then does O(1) lookups
 * instead of rescanning all N² entries. Observably pure: same input, same
 * output; the WeakMap lets replaced reports be collected.
 */
const views = new WeakMap<LinkReport, LinkView>()

function viewOf (report: LinkReport): LinkView {
  let view = views.get(report)
  if (view === undefined) {
    view = new Map(report.links.map(e => [e.to, pack(e)]))
    views.set(report, view)
  }
  return view
}

/** reportViews returns each node's indexed report, only if it really is that node's (key and sender agree). */
function reportViews (input: GraphInput, ids: readonly PeerIdString[]): Array<LinkView | undefined> {
  return ids.map(id => {
    const r = input.reports.get(id)
    return r !== undefined && r.from === id ? viewOf(r) : undefined
  })
}

function selfRow (input: GraphInput, g: Pick<MeshGraph, 'ids' | 'self' | 'hashes'>, reports: Array<LinkView | undefined>): Float64Array {
  const row = new Float64Array(g.ids.length)
  for (let v = 0; v < g.ids.length; v++) {
    if (v === g.self) continue
    const own = input.ownLinks.get(g.ids[v] as PeerIdString)
    const theirs = reports[v]?.get(input.self) ?? UNMEASURED_RTT_CLASS
    if (own?.state === 'down' || (theirs & BROKEN) !== 0) {
      row[v] = Infinity
      continue
    }
    const ownClass = own === undefined ? UNMEASURED_RTT_CLASS : clampRttClass(own.rttClass)
    const theirClass = theirs
    row[v] = edgeWeight(ownClass, theirClass, perturbation(g.hashes, g.self, v))
  }
  return row
}

/** perturbation of edge (u, v) by index; indices are in PeerId order, so min index = min id. */
export function perturbation (hashes: Uint32Array, u: number, v: number): number {
  const lo = u < v ? u : v
  const hi = u < v ? v : u
  return pairHashOf(hashes[lo] as number, hashes[hi] as number) / PERTURBATION_SCALE
}

function mark (cells: Uint8Array, at: number, packed: number): void {
  const old = cells[at] as number
  cells[at] = (old & BROKEN) | (packed & BROKEN) | Math.max(old & 0x0f, packed & 0x0f)
}

/**
 * fillRelayCells folds both ends' entries of every edge (u, r), r relayed,
 * into r's cell for u. Edges at self are skipped: they are in `selfWeight`,
 * and self never relaxes an edge to a relayed node. The u-side loop keeps
 * one map hot for all its lookups (≈5× faster than alternating maps, which
 * is memory-bound at 10k members).
 */
function fillRelayCells (g: MeshGraph, reports: Array<LinkView | undefined>): void {
  const n = g.ids.length
  const index = new Map(g.ids.map((id, i) => [id, i]))
  const rIds = Array.from(g.relayed, r => g.ids[r] as PeerIdString)
  g.relayed.forEach((r, p) => {
    // r's own side: walk r's (usually short) report instead of probing it N times.
    for (const [to, packed] of reports[r] ?? []) {
      const u = index.get(to)
      if (u !== undefined && u !== g.self) mark(g.cells, p * n + u, packed)
    }
  })
  for (let u = 0; u < n; u++) {
    const uView = reports[u]
    if (u === g.self || uView === undefined) continue
    for (let p = 0; p < rIds.length; p++) {
      const packed = uView.get(rIds[p] as PeerIdString)
      if (packed !== undefined) mark(g.cells, p * n + u, packed)
    }
  }
}

/** relayEdgeWeight is the weight of edge (u, relayed[pos]); Infinity when broken. */
export function relayEdgeWeight (g: MeshGraph, pos: number, u: number): number {
  const cell = g.cells[pos * g.ids.length + u] as number
  if ((cell & BROKEN) !== 0) return Infinity
  return edgeWeight(cell & 0x0f, 0, perturbation(g.hashes, u, g.relayed[pos] as number))
}
