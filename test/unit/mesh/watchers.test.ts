import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_WATCHERS, assignWatchers, handOver } from '../../../src/mesh/watchers.ts'

/** PeerId-shaped member names. */
function members (n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `12D3KooW${(from + i).toString(36).padStart(44, 'Q')}`)
}

const K = DEFAULT_WATCHERS
const N = 1000
const mesh = members(N)
const assignment = assignWatchers(mesh)

test('determinism: the same member set gives the same assignment whatever the order or duplicates', () => {
  const shuffled = [...mesh].reverse().concat(mesh.slice(0, 50))
  const again = assignWatchers(shuffled)
  for (const t of mesh) assert.equal(again.watchersOf(t), assignment.watchersOf(t), t)
})

test('every member has K distinct watchers, never itself; watchedBy is the exact inverse', () => {
  const inverse = new Map<string, string[]>()
  for (const t of mesh) {
    const ws = assignment.watchersOf(t)
    assert.is(ws.length, K)
    assert.is(new Set(ws).size, K)
    assert.not.ok(ws.includes(t))
    for (const w of ws) inverse.set(w, [...(inverse.get(w) ?? []), t])
  }
  for (const w of mesh) assert.equal([...assignment.watchedBy(w)], (inverse.get(w) ?? []).sort())
})

test('balance at N = 1,000: nobody watches more than 2K members (plain rendezvous hashing would)', () => {
  const loads = mesh.map(w => assignment.watchedBy(w).length)
  assert.ok(Math.max(...loads) <= 2 * K, `max load ${Math.max(...loads)}`)
  assert.is(loads.reduce((a, b) => a + b, 0), K * N)
  // The cap is what bounds it: without one, Poisson(K) loads exceed 2K somewhere in 1,000 members.
  const unbounded = assignWatchers(mesh, { maxLoad: N })
  assert.ok(Math.max(...mesh.map(w => unbounded.watchedBy(w).length)) > 2 * K, 'the test can tell a cap from none')
})

test('hand-over on join: only ≈ K/N of the members change watchers', () => {
  let changed = 0
  let common = 0
  for (const newcomer of members(10, 5000)) {
    const h = handOver(assignment, assignWatchers([...mesh, newcomer]))
    changed += h.changedTargets
    common += h.commonTargets
    assert.ok(h.gained.filter(p => p.watcher === newcomer).length >= 1, 'the newcomer takes over some watching')
    assert.is(h.gained.length - h.lost.length, K, 'the newcomer itself gains K watchers')
  }
  const fraction = changed / common
  assert.ok(fraction <= 2 * K / N, `changed fraction ${fraction} vs K/N = ${K / N}`)
  assert.ok(fraction >= 0.25 * K / N, `changed fraction ${fraction} is suspiciously small`)
})

test('hand-over on leave: the leaver\'s targets get a new watcher, ≈ K/N of the rest change', () => {
  let changed = 0
  let common = 0
  for (const leaver of mesh.slice(0, 10)) {
    const after = assignWatchers(mesh.filter(m => m !== leaver))
    const h = handOver(assignment, after)
    changed += h.changedTargets
    common += h.commonTargets
    for (const t of assignment.watchedBy(leaver)) {
      assert.is(after.watchersOf(t).length, K, 'still K watchers')
      assert.not.ok(after.watchersOf(t).includes(leaver))
    }
  }
  const fraction = changed / common
  assert.ok(fraction <= 2 * K / N, `changed fraction ${fraction} vs K/N = ${K / N}`)
})

test('small meshes: K shrinks to N − 1; a lone member has no watchers', () => {
  assert.equal(assignWatchers(members(1)).watchersOf(members(1)[0] as string), [])
  const three = assignWatchers(members(3))
  for (const t of members(3)) assert.is(three.watchersOf(t).length, 2)
  assert.equal(three.watchersOf('not-a-member'), [])
})

test.run()
