/**
 * Issue 17 / anchor R8: a formed 6-host mesh is split into two random halves
 * for 60 s (every cross-half underlay pair dropped both ways), then healed.
 * While split, each half stops routing to the other (unreachable or removed)
 * and keeps its own pairs working; nobody mints a new prefix or identity;
 * after the heal the full mesh is back within 30 s with every member on the
 * /64, key and PeerId it had before. The live invariant checker runs
 * throughout, and every ordered pair is probed (10 Hz).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createMeshLab, type MeshLab, type StatusJson } from '../../netns/mesh.ts'
import { formMesh, waitAllPairsPing } from '../../netns/route-watch.ts'
import { waitFor } from '../../netns/lab.ts'
import { startInvariantMonitor, type InvariantMonitor } from '../../netns/invariant-monitor.ts'
import { describeSummary, overBudget, startPairProbes, type PairProbes } from '../../netns/pair-probes.ts'
import { closeWatchedLab } from '../../netns/watched-lab.ts'

const SIX = [1, 2, 3, 4, 5, 6]
const SPLIT_MS = 60_000
/** Full mesh again after the heal within this (issue 17). */
const HEAL_BOUND_MS = 30_000
/** Longest outage a pair inside one half may see (ms): the split is not theirs. */
const SAME_HALF_BUDGET_MS = 3000
let m: MeshLab
let inv: InvariantMonitor | undefined
let probes: PairProbes | undefined
const before = new Map<number, StatusJson>()
const S = (i: number): StatusJson => { const s = before.get(i); if (s === undefined) throw new Error(`no status for host ${i}`); return s }
let halves: [number[], number[]] = [[], []]
let splitAt = 0
let healedAt = 0

function randomHalves (): [number[], number[]] {
  const order = [...SIX]
  for (let k = order.length - 1; k > 0; k--) {
    const r = Math.floor(Math.random() * (k + 1))
    ;[order[k], order[r]] = [order[r] as number, order[k] as number]
  }
  return [order.slice(0, 3).sort(), order.slice(3).sort()]
}
const sameHalf = (i: number, j: number): boolean => halves.some(h => h.includes(i) && h.includes(j))

test.before(async () => { m = await createMeshLab({ hosts: 6 }) })
test.after(async () => { await closeWatchedLab(m, [probes, inv]) })

test('6 hosts form a full mesh; probes and the invariant checker start', async () => {
  for (const [i, s] of await formMesh(m, SIX)) before.set(i, s)
  inv = startInvariantMonitor(m, SIX)
  probes = startPairProbes(m.lab, SIX, j => S(j).address, { timeoutMs: 2000 })
  await waitFor(() => [...probes?.summaries(0) ?? []].every(([, x]) => x.answered >= 3), { what: 'every pair answering its probes', timeoutMs: 30_000 })
})

test('split into random halves for 60 s: each half stops routing across, keeps its own pairs, and the split holds', async () => {
  halves = randomHalves()
  console.log(`  halves: {${halves[0].join(',')}} | {${halves[1].join(',')}}`)
  splitAt = Date.now()
  const heal = await m.lab.partition(halves[0], halves[1])
  try {
    await waitFor(async () => {
      for (const i of SIX) {
        for (const r of await m.routes(i)) {
          const j = [...before].find(([, s]) => s.peerId === r.destinationPeer)?.[0]
          if (j !== undefined && !sameHalf(i, j)) throw new Error(`host ${i} still routes to host ${j} (${r.kind})`)
        }
      }
      return true
    }, { what: 'no host routes to the other half', timeoutMs: 45_000 })
    console.log(`  no cross-half route left ${Date.now() - splitAt} ms after the split`)
    for (const i of SIX) {
      for (const j of SIX) {
        if (i === j || sameHalf(i, j)) continue
        assert.not.ok(await m.lab.ping6(i, S(j).address, { count: 1, timeoutS: 1 }), `host ${i} must not reach host ${j} across the split`)
      }
    }
    const wait = splitAt + SPLIT_MS - Date.now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    for (const h of halves) {
      const failed = await m.pingAllPairs(h)
      assert.equal(failed, [], `pairs inside half {${h.join(',')}} failing at the end of the split: ${failed.join(' ')}`)
    }
  } finally {
    await heal()
    healedAt = Date.now()
  }
})

test('healed: full mesh again within 30 s, same PeerId, /64 and key everywhere', async () => {
  await m.waitFullMesh(SIX, HEAL_BOUND_MS)
  console.log(`  full mesh again ${Date.now() - healedAt} ms after the heal`)
  await waitAllPairsPing(m, SIX, ' after the heal')
  for (const i of SIX) {
    const now = await m.status(i)
    assert.equal([now.peerId, now.prefix, now.wgPublicKey], [S(i).peerId, S(i).prefix, S(i).wgPublicKey], `host ${i} kept its identity and /64`)
    const rows = (await m.peers(i)).map(p => `${p.peerId} ${p.prefix}`).sort()
    const want = SIX.filter(j => j !== i).map(j => `${S(j).peerId} ${S(j).prefix}`).sort()
    assert.equal(rows, want, `host ${i} lists every other member on its old /64`)
    const wg = (await m.wg(i)).peers.map(p => p.publicKey).sort()
    assert.equal(wg, SIX.filter(j => j !== i).map(j => S(j).wgPublicKey).sort(), `host ${i}'s WireGuard peers are the old keys`)
  }
})

test('pairs inside a half kept their connectivity through the split and the heal', async () => {
  assert.ok(probes !== undefined)
  await probes.waitAnsweredAfter(healedAt)
  const sums = probes.summaries(splitAt - 2000)
  await probes.stop()
  for (const [pair, x] of sums) console.log(`  probes ${pair}${sameHalf(Number(pair[0]), Number(pair[2])) ? '' : ' (across)'}: ${describeSummary(x)}`)
  const inside = new Map([...sums].filter(([k]) => sameHalf(Number(k[0]), Number(k[2]))))
  assert.equal(overBudget(inside, { budgetMs: SAME_HALF_BUDGET_MS, minSent: 5, cover: [splitAt, healedAt] }), [], `same-half pairs over the ${SAME_HALF_BUDGET_MS} ms outage budget`)
  const across = new Map([...sums].filter(([k]) => !inside.has(k)))
  for (const [pair, x] of across) {
    assert.ok(x.maxOutageMs >= SPLIT_MS / 2, `${pair}: the probes saw the split (${describeSummary(x)})`)
    assert.ok((x.lastAnsweredMs ?? 0) > healedAt, `${pair}: answered again after the heal`)
  }
})

test('the live invariant checker saw no violation; no daemon counted an unhandled error', async () => {
  assert.ok(inv !== undefined)
  const { rounds, meanRoundMs } = inv.stats()
  console.log(`  invariant checker: ${rounds} rounds, ${Math.round(meanRoundMs)} ms per round`)
  inv.assertClean()
  for (const i of SIX) assert.is((await m.status(i)).counters.unhandled, 0, `host ${i}`)
  assert.equal(m.unexpectedExits(), [])
})

test.run()
