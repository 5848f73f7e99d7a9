import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { computeRoutes } from '../../../src/routing/routes.ts'
import { HOP_COST, RTT_STEP, pairPerturbation } from '../../../src/routing/weights.ts'
import type { LinkReport } from '../../../src/routing/link-report.ts'
import type { OwnLink, RouteTable } from '../../../src/routing/types.ts'
import { denseDijkstra, floydWarshall, ownLinksOf, pathCost, randomMesh, referenceWeights } from './mesh-fixtures.ts'
import type { Mesh } from './mesh-fixtures.ts'

const A = 'PeerA'; const B = 'PeerB'; const C = 'PeerC'; const D = 'PeerD'

function report (from: string, links: Array<[string, boolean, number?]>): LinkReport {
  return { from, seq: 1, at: 0, links: links.map(([to, up, cls]) => ({ to, up, rttClass: cls ?? 0, rttMs: null })) }
}

function routesOf (mesh: Mesh, self: string, previous?: RouteTable, now = 1000): RouteTable {
  const input = { self, members: mesh.ids, reports: mesh.reports, ownLinks: ownLinksOf(mesh, self), now }
  return computeRoutes(previous === undefined ? input : { ...input, previous })
}

test('a mesh with no reports at all is all-direct at once', () => {
  const routes = computeRoutes({ self: A, members: [A, B, C], reports: new Map(), ownLinks: new Map(), now: 5 })
  assert.equal([...routes.keys()], [B, C])
  assert.equal(routes.get(B)?.kind, 'direct')
  assert.equal(routes.get(B)?.path, [A, B])
  assert.is(routes.get(B)?.metric, Math.round(HOP_COST + pairPerturbation(A, B)))
  assert.is(routes.get(B)?.since, 5)
})

test('a link reported down by the far end only is relayed through the best other member', () => {
  const reports = new Map([[C, report(C, [[A, false], [B, true, 1], [D, true, 5]])]])
  const routes = computeRoutes({ self: A, members: [A, B, C, D], reports, ownLinks: new Map(), now: 0 })
  assert.equal(routes.get(C)?.path, [A, B, C])
  assert.is(routes.get(C)?.via, B)
  assert.is(routes.get(C)?.kind, 'relay')
})

test('own link state (not own report) decides self side; unknown counts as usable', () => {
  const ownLinks = new Map<string, OwnLink>([[B, { state: 'down', rttClass: 0 }], [C, { state: 'unknown', rttClass: 0 }]])
  const reports = new Map([[A, report(A, [[B, true], [C, false]])]])
  const routes = computeRoutes({ self: A, members: [A, B, C], reports, ownLinks, now: 0 })
  assert.equal(routes.get(B)?.path, [A, C, B])
  assert.equal(routes.get(C)?.path, [A, C])
})

test('the RTT class breaks ties between relays; the max of both ends counts', () => {
  // C is cut from A. Via B: A-B class 0, B-C classes (1, 9) → 9. Via D: classes 3 and 3.
  const reports = new Map([
    [C, report(C, [[A, false], [B, true, 1], [D, true, 3]])],
    [B, report(B, [[C, true, 9]])],
    [D, report(D, [[C, true, 3]])]
  ])
  const routes = computeRoutes({ self: A, members: [A, B, C, D], reports, ownLinks: new Map(), now: 0 })
  assert.equal(routes.get(C)?.path, [A, D, C])
  const expected = 2 * HOP_COST + RTT_STEP * 3 + pairPerturbation(A, D) + pairPerturbation(D, C)
  assert.is(routes.get(C)?.metric, Math.round(expected))
})

test('a member with every link down is absent (unreachable)', () => {
  const ownLinks = new Map<string, OwnLink>([[C, { state: 'down', rttClass: 0 }]])
  const reports = new Map([[C, report(C, [[B, false]])]])
  const routes = computeRoutes({ self: A, members: [A, B, C], reports, ownLinks, now: 0 })
  assert.is(routes.has(C), false)
  assert.is(routes.has(B), true)
})

test('reports filed under the wrong sender and links to non-members are ignored', () => {
  const reports = new Map([[B, report(C, [[A, false]])], [C, report(C, [['Stranger', false]])]])
  const routes = computeRoutes({ self: A, members: [A, B, C], reports, ownLinks: new Map(), now: 0 })
  assert.is(routes.get(B)?.kind, 'direct')
  assert.is(routes.get(C)?.kind, 'direct')
})

test('since is carried forward only while via and path are unchanged', () => {
  const mesh = randomMesh({ n: 30, seed: 7, broken: 0.2 })
  const self = mesh.ids[0] as string
  const first = routesOf(mesh, self, undefined, 100)
  const second = routesOf(mesh, self, first, 200)
  for (const r of second.values()) assert.is(r.since, 100)
  const [victim] = [...first].find(([, r]) => r.kind === 'direct') ?? []
  const own = ownLinksOf(mesh, self)
  own.set(victim as string, { state: 'down', rttClass: 0 })
  const third = computeRoutes({ self, members: mesh.ids, reports: mesh.reports, ownLinks: own, previous: second, now: 300 })
  assert.is(third.get(victim as string)?.since, 300)
})

function checkAgainstFloydWarshall (mesh: Mesh, label: string): void {
  const n = mesh.ids.length
  const index = new Map(mesh.ids.map((id, i) => [id, i]))
  for (const self of mesh.ids.slice(0, 8)) {
    const w = referenceWeights(mesh, self, ownLinksOf(mesh, self))
    const { dist, next } = floydWarshall(w, n)
    const s = index.get(self) as number
    const routes = routesOf(mesh, self)
    for (let d = 0; d < n; d++) {
      if (d === s) continue
      const r = routes.get(mesh.ids[d] as string)
      const ref = dist[s * n + d] as number
      if (ref === Infinity) { assert.is(r, undefined, `${label}: ${d} should be unreachable`); continue }
      assert.ok(r !== undefined, `${label}: ${d} should be reachable`)
      assert.is(pathCost(w, n, index, r.path), ref, `${label}: path cost = shortest distance`)
      assert.is(r.metric, Math.round(ref))
      assert.is(r.via, mesh.ids[next[s * n + d] as number], `${label}: next hop matches the reference`)
      assert.is(r.kind, r.path.length === 2 ? 'direct' : 'relay')
    }
  }
}

test('previous routes never influence the choice of path (no per-node route hysteresis)', () => {
  const mesh = randomMesh({ n: 20, seed: 8, broken: 0.4 })
  const self = mesh.ids[0] as string
  const fresh = routesOf(mesh, self)
  const bogus = new Map([...fresh].map(([d, r]) => [d, { ...r, via: d, kind: 'direct' as const, path: [self, d], since: 1 }]))
  const withPrevious = routesOf(mesh, self, bogus)
  assert.equal([...withPrevious].map(([d, r]) => [d, r.path]), [...fresh].map(([d, r]) => [d, r.path]))
})

test('matches Floyd–Warshall on 200-member meshes (broken links, silent members, unmeasured links)', () => {
  checkAgainstFloydWarshall(randomMesh({ n: 200, seed: 1, broken: 0.05 }), 'seed 1')
  checkAgainstFloydWarshall(randomMesh({ n: 200, seed: 2, broken: 0.3, silent: 0.1, missing: 0.1 }), 'seed 2')
})

test('matches Floyd–Warshall on small, heavily broken meshes (multi-hop, partitions)', () => {
  for (let seed = 10; seed < 40; seed++) {
    checkAgainstFloydWarshall(randomMesh({ n: 12, seed, broken: 0.6 + (seed % 3) * 0.1 }), `seed ${seed}`)
  }
})

test('matches a per-source reference Dijkstra at 1,000 members with 5% broken links', () => {
  const mesh = randomMesh({ n: 1000, seed: 99, broken: 0.05 })
  const n = mesh.ids.length
  const index = new Map(mesh.ids.map((id, i) => [id, i]))
  for (const s of [0, 1, 500, 999]) {
    const self = mesh.ids[s] as string
    const w = referenceWeights(mesh, self, ownLinksOf(mesh, self))
    const ref = denseDijkstra(w, n, s)
    const routes = routesOf(mesh, self)
    for (let d = 0; d < n; d++) {
      if (d === s) continue
      const r = routes.get(mesh.ids[d] as string)
      assert.ok(r !== undefined)
      assert.is(pathCost(w, n, index, r.path), ref.dist[d])
      let hop = d
      while (ref.pred[hop] !== s) hop = ref.pred[hop] as number
      assert.is(r.via, mesh.ids[hop])
    }
  }
})

test('paths are symmetric and hop-by-hop consistent across all nodes', () => {
  for (const seed of [3, 4, 5]) {
    const mesh = randomMesh({ n: 40, seed, broken: 0.5 })
    const tables = new Map(mesh.ids.map(id => [id, routesOf(mesh, id)]))
    for (const [a, table] of tables) {
      for (const [c, route] of table) {
        assert.equal([...(tables.get(c)?.get(a)?.path ?? [])].reverse(), route.path, `seed ${seed}: ${a}→${c} reversed`)
        for (let i = 1; i < route.path.length - 1; i++) {
          const relay = route.path[i] as string
          assert.equal(tables.get(relay)?.get(c)?.path, route.path.slice(i), `seed ${seed}: relay ${i} continues the path`)
        }
      }
    }
  }
})

test('the same inputs give the same table regardless of member and report order', () => {
  const mesh = randomMesh({ n: 50, seed: 11, broken: 0.3 })
  const self = mesh.ids[3] as string
  const a = routesOf(mesh, self)
  const shuffled: Mesh = { ids: [...mesh.ids].reverse(), reports: new Map([...mesh.reports].reverse()) }
  const b = routesOf(shuffled, self)
  assert.equal([...a], [...b])
})

test.run()
