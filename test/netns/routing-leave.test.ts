/**
 * Issue 4 acceptance: a graceful leave — by `gridmesh leave` or by SIGTERM —
 * is purged by every survivor (members, routes, WireGuard); the leaving
 * daemon exits 0 and takes its interface and wireguard-go with it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createMeshLab, hostProcesses, IFACE, type MeshLab, type StatusJson } from '../../netns/mesh.ts'
import { assertPurged as assertPurgedFrom, changedRoutes, formMesh, routeSince } from '../../netns/route-watch.ts'
import { waitFor, type LabProcess } from '../../netns/lab.ts'
import { startInvariantMonitor, type InvariantMonitor } from '../../netns/invariant-monitor.ts'
import { describeSummary, overBudget, startPairProbes, type PairProbes } from '../../netns/pair-probes.ts'
import { closeWatchedLab } from '../../netns/watched-lab.ts'

const SIX = [1, 2, 3, 4, 5, 6]
let m: MeshLab
const st = new Map<number, StatusJson>()
const S = (i: number): StatusJson => { const s = st.get(i); if (s === undefined) throw new Error(`no status for host ${i}`); return s }
const BYSTANDERS = [1, 2, 3, 4]
/** Longest outage a pair that is not leaving may see (ms): a graceful leave should cost them none. */
const BYSTANDER_BUDGET_MS = 3000
let inv: InvariantMonitor | undefined
let probes: PairProbes | undefined
let probeFrom = 0
let firstDeparture = 0
let lastPurge = 0

/** Throws unless host i no longer has host `gone` in peers, routes or WireGuard (and still has the others). */
async function assertPurged (i: number, gone: number, others: readonly number[]): Promise<void> {
  await assertPurgedFrom(m, i, S(gone), gone, others.length - 1)
}

/** Waits until `proc` exits (within timeoutMs) and returns its exit code. */
async function exitOf (proc: LabProcess, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>(resolve => { timer = setTimeout(() => { resolve('late') }, timeoutMs) })
  const r = await Promise.race([proc.exited, late])
  clearTimeout(timer)
  if (r === 'late') throw new Error(`process ${proc.pid} still running after ${timeoutMs} ms`)
  return r
}

/** Asserts host i has no interface, no UAPI socket and no process but its keeper left. */
async function assertClean (i: number): Promise<void> {
  const link = await m.lab.exec(i, 'ip', ['link', 'show', IFACE])
  assert.ok(link.code !== 0, `host ${i}: interface removed`)
  const socks = await m.lab.exec(i, 'ls', ['/run/wireguard'])
  assert.is(socks.stdout.trim(), '', `host ${i}: no UAPI socket left`)
  const procs = await waitFor(async () => {
    const left = (await hostProcesses(m.lab, i)).filter(p => p.pid !== m.lab.host(i).keeperPid)
    if (left.length > 0) throw new Error(`still running in host ${i}: ${left.map(p => `${p.pid} ${p.comm}`).join(', ')}`)
    return true
  }, { what: `no process left in host ${i} but its keeper`, timeoutMs: 10_000 })
  assert.ok(procs)
}

let sinceBefore = new Map<string, number>()

test.before(async () => { m = await createMeshLab({ hosts: 6 }) })
test.after(async () => { await closeWatchedLab(m, [probes, inv]) })

test('6 hosts form a full mesh', async () => {
  for (const [i, status] of await formMesh(m, SIX)) st.set(i, status)
  inv = startInvariantMonitor(m, SIX)
  probes = startPairProbes(m.lab, BYSTANDERS, j => S(j).address, { timeoutMs: 2000 })
  await waitFor(() => [...probes?.summaries(0) ?? []].every(([, x]) => x.answered >= 3), { what: 'every bystander pair answering its probes', timeoutMs: 30_000 })
  probeFrom = Date.now() - 2000
})

test('`gridmesh leave` on host 6 exits 0; its daemon exits 0 and removes its interface', async () => {
  const proc = m.proc(6)
  assert.ok(proc !== undefined, 'host 6 runs a daemon')
  sinceBefore = await routeSince(m, [1, 2, 3, 4], j => S(j).peerId)
  const t0 = Date.now()
  firstDeparture = t0
  inv?.depart(6)
  const r = await m.cli(6, ['leave', '--admin-socket', m.adminSocket(6)])
  const t1 = Date.now()
  assert.is(r.code, 0, `gridmesh leave exit code (stderr: ${r.stderr.trim()})`)
  assert.is(await exitOf(proc, 20_000), 0, 'the daemon exits 0 after leave')
  console.log(`  gridmesh leave took ${t1 - t0} ms; the daemon exited ${Date.now() - t1} ms after it returned`)
  await m.stop(6) // already exited: only forgets the process
  await assertClean(6)
})

test('every survivor purges host 6 from peers, routes and WireGuard', async () => {
  const t0 = Date.now()
  const five = [1, 2, 3, 4, 5]
  await waitFor(async () => {
    for (const i of five) await assertPurged(i, 6, five)
    return true
  }, { what: 'every survivor drops host 6', timeoutMs: 60_000 })
  console.log(`  host 6 purged everywhere within ${Date.now() - t0} ms of its exit`)
  await m.waitFullMesh(five, 30_000)
})

test('SIGTERM of host 5: exit 0, interface gone, every survivor purges it', async () => {
  inv?.depart(5)
  assert.is(await m.stop(5, 'SIGTERM'), 0, 'SIGTERM exits 0')
  await assertClean(5)
  const four = [1, 2, 3, 4]
  await waitFor(async () => {
    for (const i of four) await assertPurged(i, 5, four)
    return true
  }, { what: 'every survivor drops host 5', timeoutMs: 60_000 })
  lastPurge = Date.now()
  await m.waitFullMesh(four, 30_000)
  const failed = await m.pingAllPairs(four)
  assert.equal(failed, [], `failed pairs: ${failed.join(' ')}`)
})

test('every bystander pair (1-4, both ways) kept its connectivity through both departures', async () => {
  assert.ok(probes !== undefined)
  await probes.waitAnsweredAfter(lastPurge)
  const sums = probes.summaries(probeFrom)
  await probes.stop()
  for (const [pair, x] of sums) console.log(`  probes ${pair}: ${describeSummary(x)}`)
  assert.equal(overBudget(sums, { budgetMs: BYSTANDER_BUDGET_MS, minSent: 5, cover: [firstDeparture, lastPurge] }), [], `bystander pairs over the ${BYSTANDER_BUDGET_MS} ms outage budget`)
  const changed = changedRoutes(sinceBefore, await routeSince(m, [1, 2, 3, 4], j => S(j).peerId))
  assert.equal(changed, [], `routes among survivors changed (their since moved): ${changed.join(' ')}`)
})

test('the live invariant checker saw no violation on any host', async () => {
  assert.ok(inv !== undefined)
  const { rounds, meanRoundMs } = inv.stats()
  console.log(`  invariant checker: ${rounds} rounds, ${Math.round(meanRoundMs)} ms per round`)
  inv.assertClean()
})

test('no surviving daemon counted an unhandled error', async () => {
  for (const i of [1, 2, 3, 4]) assert.is((await m.status(i)).counters.unhandled, 0, `host ${i}`)
})

test.run()
