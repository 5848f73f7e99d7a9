/**
 * Issue 4 acceptance: a member killed with SIGKILL (no goodbye) is purged by
 * every survivor — members, routes and WireGuard — without disturbing the
 * other pairs; its wireguard-go dies with it; restarted from its state dir it
 * comes back with the same identity and the mesh is whole again.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createMeshLab, hostProcesses, IFACE, type MeshLab, type StatusJson } from '../../netns/mesh.ts'
import { assertPurged as assertPurgedFrom, changedRoutes, formMesh, routeSince } from '../../netns/route-watch.ts'
import { waitFor } from '../../netns/lab.ts'
import { startInvariantMonitor, type InvariantMonitor } from '../../netns/invariant-monitor.ts'
import { describeSummary, overBudget, startPairProbes, type PairProbes } from '../../netns/pair-probes.ts'
import { closeWatchedLab } from '../../netns/watched-lab.ts'

const SIX = [1, 2, 3, 4, 5, 6]
const SURVIVORS = [1, 2, 3, 5, 6]
let m: MeshLab
const st = new Map<number, StatusJson>()
const S = (i: number): StatusJson => { const s = st.get(i); if (s === undefined) throw new Error(`no status for host ${i}`); return s }
/** Longest outage a surviving pair may see (ms): a crash of another member should cost them none. */
const BYSTANDER_BUDGET_MS = 3000
let inv: InvariantMonitor | undefined
let probes: PairProbes | undefined
let killedAt = 0
let purgedAt = 0

/** Throws unless host i no longer has host `gone` in peers, routes or WireGuard (and still has the others). */
async function assertPurged (i: number, gone: number, others: readonly number[]): Promise<void> {
  await assertPurgedFrom(m, i, S(gone), gone, others.length - 1)
}

let sinceBefore = new Map<string, number>()

test.before(async () => { m = await createMeshLab({ hosts: 6 }) })
test.after(async () => { await closeWatchedLab(m, [probes, inv]) })

test('6 hosts form a full mesh', async () => {
  for (const [i, status] of await formMesh(m, SIX)) st.set(i, status)
  inv = startInvariantMonitor(m, SIX)
})

test('kill -9 of host 4: its wireguard-go dies with it and its interface is gone', async () => {
  probes = startPairProbes(m.lab, SURVIVORS, j => S(j).address, { timeoutMs: 2000 })
  await waitFor(() => [...probes?.summaries(0) ?? []].every(([, x]) => x.answered >= 3), { what: 'every surviving pair answering its probes', timeoutMs: 30_000 })
  sinceBefore = await routeSince(m, SURVIVORS, j => S(j).peerId)
  killedAt = Date.now()
  inv?.depart(4)
  const code = await m.stop(4, 'SIGKILL')
  assert.is(code, null, 'killed by a signal, no exit code')
  await waitFor(async () => (await m.lab.exec(4, 'ip', ['link', 'show', IFACE])).code !== 0, { what: 'host 4 interface gone', timeoutMs: 15_000 })
  const left = await waitFor(async () => {
    const procs = (await hostProcesses(m.lab, 4)).filter(p => p.pid !== m.lab.host(4).keeperPid)
    if (procs.length > 0) throw new Error(`still running in host 4: ${procs.map(p => `${p.pid} ${p.comm}`).join(', ')}`)
    return true
  }, { what: 'no process (wireguard-go, daemon) left in host 4 but its keeper', timeoutMs: 15_000 })
  assert.ok(left)
})

test('every survivor purges host 4 from peers, routes and WireGuard', async () => {
  await waitFor(async () => {
    for (const i of SURVIVORS) await assertPurged(i, 4, SURVIVORS)
    return true
  }, { what: 'every survivor drops host 4', timeoutMs: 60_000 })
  purgedAt = Date.now()
})

test('no other pair was disturbed: all survivors direct, every surviving pair kept its connectivity', async () => {
  await m.waitFullMesh(SURVIVORS, 30_000)
  const failed = await m.pingAllPairs(SURVIVORS)
  assert.equal(failed, [], `failed pairs: ${failed.join(' ')}`)
  assert.ok(probes !== undefined)
  await probes.waitAnsweredAfter(purgedAt)
  const sums = probes.summaries(killedAt - 2000)
  await probes.stop()
  for (const [pair, x] of sums) console.log(`  probes ${pair}: ${describeSummary(x)}`)
  assert.equal(overBudget(sums, { budgetMs: BYSTANDER_BUDGET_MS, minSent: 5, cover: [killedAt, purgedAt] }), [], `surviving pairs over the ${BYSTANDER_BUDGET_MS} ms outage budget`)
  const changed = changedRoutes(sinceBefore, await routeSince(m, SURVIVORS, j => S(j).peerId))
  assert.equal(changed, [], `routes among survivors changed (their since moved): ${changed.join(' ')}`)
})

test('host 4 restarted from its state dir keeps PeerId and prefix; the mesh is full again', async () => {
  const before = S(4)
  m.start(4)
  inv?.rejoin(4)
  const after = await m.waitReady(4)
  assert.is(after.peerId, before.peerId)
  assert.is(after.prefix, before.prefix)
  assert.is(after.wgPublicKey, before.wgPublicKey)
  assert.ok(after.seq > before.seq, `published seq only grows (${before.seq} -> ${after.seq})`)
  await m.waitFullMesh(SIX, 60_000)
  const failed = await waitFor(async () => {
    const f = await m.pingAllPairs(SIX)
    if (f.length > 0) throw new Error(`failed pairs: ${f.join(' ')}`)
    return f
  }, { what: 'all 30 ordered pairs ping after the restart', timeoutMs: 30_000, intervalMs: 1000 })
  assert.equal(failed, [])
})

test('the live invariant checker saw no violation on any host', async () => {
  assert.ok(inv !== undefined)
  const { rounds, meanRoundMs } = inv.stats()
  console.log(`  invariant checker: ${rounds} rounds, ${Math.round(meanRoundMs)} ms per round`)
  inv.assertClean()
})

test('no daemon counted an unhandled error', async () => {
  for (const i of SIX) assert.is((await m.status(i)).counters.unhandled, 0, `host ${i}`)
})

test.run()
