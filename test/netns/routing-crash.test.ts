/**
 * Issue 4 acceptance: a member killed with SIGKILL (no goodbye) is purged by
 * every survivor — members, routes and WireGuard — without disturbing the
 * other pairs; its wireguard-go dies with it; restarted from its state dir it
 * comes back with the same identity and the mesh is whole again.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createMeshLab, describeTimeline, hostProcesses, IFACE, maxConsecutiveLosses, startPinger, type MeshLab, type Pinger, type StatusJson } from '../../netns/mesh.ts'
import { assertPurged as assertPurgedFrom, changedRoutes, formMesh, routeSince } from '../../netns/route-watch.ts'
import { waitFor } from '../../netns/lab.ts'

const SIX = [1, 2, 3, 4, 5, 6]
const SURVIVORS = [1, 2, 3, 5, 6]
let m: MeshLab
const st = new Map<number, StatusJson>()
const S = (i: number): StatusJson => { const s = st.get(i); if (s === undefined) throw new Error(`no status for host ${i}`); return s }
let bystander: Pinger | undefined

/** Throws unless host i no longer has host `gone` in peers, routes or WireGuard (and still has the others). */
async function assertPurged (i: number, gone: number, others: readonly number[]): Promise<void> {
  await assertPurgedFrom(m, i, S(gone), gone, others.length - 1)
}

let sinceBefore = new Map<string, number>()

test.before(async () => { m = await createMeshLab({ hosts: 6 }) })
test.after(async () => {
  for (const e of m.unexpectedExits()) console.error(`\n${e}`)
  if (bystander !== undefined) await bystander.stop()
  await m.destroy()
})

test('6 hosts form a full mesh', async () => {
  for (const [i, status] of await formMesh(m, SIX)) st.set(i, status)
})

test('kill -9 of host 4: its wireguard-go dies with it and its interface is gone', async () => {
  bystander = startPinger(m.lab, 1, S(6).address)
  await waitFor(() => bystander !== undefined && bystander.samples.filter(s => s.ok).length >= 3, { what: 'pinger 1>6 running', timeoutMs: 30_000 })
  sinceBefore = await routeSince(m, SURVIVORS, j => S(j).peerId)
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
})

test('no other pair was disturbed: all survivors direct, bystander 1>6 barely noticed', async () => {
  await m.waitFullMesh(SURVIVORS, 30_000)
  const failed = await m.pingAllPairs(SURVIVORS)
  assert.equal(failed, [], `failed pairs: ${failed.join(' ')}`)
  const t = bystander === undefined ? [] : await bystander.stop()
  bystander = undefined
  console.log(`  pinger 1>6: ${describeTimeline(t)}`)
  assert.ok(t.length >= 10, `bystander sent enough probes (${t.length})`)
  assert.ok(maxConsecutiveLosses(t) <= 2, `1>6 lost ${maxConsecutiveLosses(t)} consecutive probes`)
  const changed = changedRoutes(sinceBefore, await routeSince(m, SURVIVORS, j => S(j).peerId))
  assert.equal(changed, [], `routes among survivors changed (their since moved): ${changed.join(' ')}`)
})

test('host 4 restarted from its state dir keeps PeerId and prefix; the mesh is full again', async () => {
  const before = S(4)
  m.start(4)
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

test('no daemon counted an unhandled error', async () => {
  for (const i of SIX) assert.is((await m.status(i)).counters.unhandled, 0, `host ${i}`)
})

test.run()
