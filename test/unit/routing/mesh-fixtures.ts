/**
 * Test fixtures for routing: seeded random meshes and an independent
 * reference (dense weight matrix + Floyd–Warshall / per-source Dijkstra)
 * that prices edges straight from the spec, sharing only weights.ts.
 */
import { rttClass } from '../../../src/routing/link-state.ts'
import { HOP_COST, PERTURBATION_SCALE, RTT_STEP, idHash, pairHashOf } from '../../../src/routing/weights.ts'
import type { LinkReport, LinkReportEntry } from '../../../src/routing/link-report.ts'
import type { OwnLink, PeerIdString } from '../../../src/routing/types.ts'

/** mulberry32: small seeded PRNG so every failure is reproducible from its seed. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** fakePeerIds makes n distinct PeerId-shaped strings. */
export function fakePeerIds (n: number, rand: () => number): PeerIdString[] {
  const out = new Set<string>()
  while (out.size < n) {
    let s = '12D3KooW'
    for (let i = 0; i < 44; i++) s += B58[Math.floor(rand() * B58.length)]
    out.add(s)
  }
  return [...out]
}

export interface MeshSpec {
  n: number
  seed: number
  /** Fraction of pairs whose link is reported down by one or both ends. */
  broken: number
  /** Fraction of members that publish no report at all. */
  silent?: number
  /** Fraction of entries left out of reports (unmeasured). */
  missing?: number
  /** Reports list only the links that are down (a large mesh where missing means usable). */
  onlyDown?: boolean
}

export interface Mesh {
  ids: PeerIdString[]
  reports: Map<PeerIdString, LinkReport>
}

/** randomMesh builds a mesh with random RTTs (each end measures its own jitter) and random broken links. */
export function randomMesh (spec: MeshSpec): Mesh {
  const rand = prng(spec.seed)
  const ids = fakePeerIds(spec.n, rand)
  const links = ids.map(() => [] as LinkReportEntry[])
  for (let i = 0; i < spec.n; i++) {
    for (let j = i + 1; j < spec.n; j++) {
      const base = 1 + rand() * 200
      const down = rand() < spec.broken ? 1 + Math.floor(rand() * 3) : 0 // 1: i says, 2: j says, 3: both
      for (const [a, b, bit] of [[i, j, 1], [j, i, 2]] as const) {
        if (rand() < (spec.missing ?? 0)) continue
        const rtt = base * (0.8 + rand() * 0.4)
        const up = (down & bit) === 0
        if (up && spec.onlyDown === true) continue
        links[a]?.push({ to: ids[b] as string, up, rttClass: rttClass(rtt), rttMs: up ? rtt : null })
      }
    }
  }
  const reports = new Map<PeerIdString, LinkReport>()
  ids.forEach((id, i) => {
    if (rand() < (spec.silent ?? 0)) return
    reports.set(id, { from: id, seq: 1, at: 0, links: links[i] ?? [] })
  })
  return { ids, reports }
}

/** ownLinksOf derives a node's ownLinks from its own published report (the steady state). */
export function ownLinksOf (mesh: Mesh, self: PeerIdString): Map<PeerIdString, OwnLink> {
  const own = new Map<PeerIdString, OwnLink>()
  for (const e of mesh.reports.get(self)?.links ?? []) own.set(e.to, { state: e.up ? 'up' : 'down', rttClass: e.rttClass })
  return own
}

/** referenceWeights is the dense N×N weight matrix straight from the spec (Infinity = broken). */
export function referenceWeights (mesh: Mesh, self: PeerIdString, ownLinks: Map<PeerIdString, OwnLink>): Float64Array {
  const n = mesh.ids.length
  const index = new Map(mesh.ids.map((id, i) => [id, i]))
  // side[a*n+b]: a's view of link a→b; 0 = unmeasured (usable, class 0), else 1 + class, or -1 = down.
  const side = new Int8Array(n * n)
  for (const [id, r] of mesh.reports) {
    const a = index.get(id) as number
    if (id === self) continue
    for (const l of r.links) {
      const b = index.get(l.to)
      if (b !== undefined) side[a * n + b] = l.up ? 1 + l.rttClass : -1
    }
  }
  const s = index.get(self) as number
  for (const [to, l] of ownLinks) {
    const b = index.get(to)
    if (b !== undefined) side[s * n + b] = l.state === 'down' ? -1 : 1 + l.rttClass
  }
  const h = mesh.ids.map(idHash)
  const w = new Float64Array(n * n).fill(Infinity)
  for (let i = 0; i < n; i++) {
    w[i * n + i] = 0
    for (let j = i + 1; j < n; j++) {
      const sa = side[i * n + j] as number
      const sb = side[j * n + i] as number
      if (sa < 0 || sb < 0) continue
      const lo = (mesh.ids[i] as string) < (mesh.ids[j] as string)
      const pert = (lo ? pairHashOf(h[i] as number, h[j] as number) : pairHashOf(h[j] as number, h[i] as number)) / PERTURBATION_SCALE
      const weight = HOP_COST + RTT_STEP * Math.max(sa - 1, sb - 1, 0) + pert
      w[i * n + j] = weight
      w[j * n + i] = weight
    }
  }
  return w
}

/** floydWarshall returns all-pairs distances and next-hop indices (-1 = none). */
export function floydWarshall (w: Float64Array, n: number): { dist: Float64Array, next: Int32Array } {
  const dist = Float64Array.from(w)
  const next = new Int32Array(n * n).fill(-1)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (w[i * n + j] !== Infinity) next[i * n + j] = j
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      const dik = dist[i * n + k] as number
      if (dik === Infinity) continue
      for (let j = 0; j < n; j++) {
        const d = dik + (dist[k * n + j] as number)
        if (d < (dist[i * n + j] as number)) {
          dist[i * n + j] = d
          next[i * n + j] = next[i * n + k] as number
        }
      }
    }
  }
  return { dist, next }
}

/** denseDijkstra is the textbook O(N²) array Dijkstra from one source. */
export function denseDijkstra (w: Float64Array, n: number, s: number): { dist: Float64Array, pred: Int32Array } {
  const dist = new Float64Array(n).fill(Infinity)
  const pred = new Int32Array(n).fill(-1)
  const done = new Uint8Array(n)
  dist[s] = 0
  for (;;) {
    let u = -1
    for (let v = 0; v < n; v++) if (done[v] === 0 && dist[v] !== Infinity && (u === -1 || (dist[v] as number) < (dist[u] as number))) u = v
    if (u === -1) return { dist, pred }
    done[u] = 1
    for (let v = 0; v < n; v++) {
      const d = (dist[u] as number) + (w[u * n + v] as number)
      if (done[v] === 0 && d < (dist[v] as number)) { dist[v] = d; pred[v] = u }
    }
  }
}

/** pathCost prices a path with the reference weights. */
export function pathCost (w: Float64Array, n: number, index: Map<string, number>, path: readonly string[]): number {
  let c = 0
  for (let i = 1; i < path.length; i++) c += w[(index.get(path[i - 1] as string) as number) * n + (index.get(path[i] as string) as number)] as number
  return c
}
