/**
 * Issue 4 acceptance: two underlay segments joined only by host 3. Hosts on
 * different segments can never talk directly, so the mesh relays them through
 * host 3 (on both ends), while same-segment pairs stay direct.
 *
 *   segment A: 1 2 3        segment B: 3 4 5
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createMeshLab, LISTEN_PORT, type MeshLab, type StatusJson } from '../../netns/mesh.ts'
import { waitFor } from '../../netns/lab.ts'
import { startInvariantMonitor, type InvariantMonitor } from '../../netns/invariant-monitor.ts'

const ALL = [1, 2, 3, 4, 5]
const A = new Set([1, 2, 3])
const B = new Set([3, 4, 5])
const sameSegment = (i: number, j: number): boolean => (A.has(i) && A.has(j)) || (B.has(i) && B.has(j))
let m: MeshLab
let inv: InvariantMonitor | undefined
const st = new Map<number, StatusJson>()
const S = (i: number): StatusJson => { const s = st.get(i); if (s === undefined) throw new Error(`no status for host ${i}`); return s }
const hostOfPeer = (peerId: string): string => { for (const [i, s] of st) if (s.peerId === peerId) return `host ${i}`; return peerId }

test.before(async () => { m = await createMeshLab({ hosts: 5, segments: [[1, 2, 3], [3, 4, 5]] }) })
test.after(async () => {
  for (const e of m.unexpectedExits()) console.error(`\n${e}`)
  await inv?.stop()
  await m.destroy()
})

test('hosts on segment B bootstrap from host 3 on their own segment; all 5 become members everywhere', async () => {
  const h3b = m.lab.host(3).ipv4b
  assert.ok(h3b !== undefined, 'host 3 has a second underlay address')
  m.start(1)
  await m.waitReady(1)
  m.start(2)
  m.start(3)
  await m.waitReady(3)
  m.start(4, { bootstrapAddrs: [`${h3b}:${LISTEN_PORT}`] })
  m.start(5, { bootstrapAddrs: [`${h3b}:${LISTEN_PORT}`] })
  for (const i of ALL) st.set(i, await m.waitReady(i))
  await waitFor(async () => {
    for (const i of ALL) {
      const s = await m.status(i)
      const peers = await m.peers(i)
      if (s.members !== 5 || peers.length !== 4) throw new Error(`host ${i}: ${s.members} members, ${peers.length} peers`)
    }
    return true
  }, { what: 'every host knows all 5 members', timeoutMs: 90_000 })
  inv = startInvariantMonitor(m, ALL)
})

test('routes: same-segment pairs direct, cross-segment pairs relayed via host 3 on both ends', async () => {
  const via3 = S(3).peerId
  await waitFor(async () => {
    for (const i of ALL) {
      const routes = await m.routes(i)
      for (const j of ALL) {
        if (j === i) continue
        const r = routes.find(x => x.destination === S(j).prefix)
        if (r === undefined) throw new Error(`host ${i} has no route to host ${j}`)
        const want = sameSegment(i, j) ? { kind: 'direct', via: S(j).peerId } : { kind: 'relay', via: via3 }
        if (r.kind !== want.kind || r.via !== want.via) throw new Error(`host ${i} -> host ${j}: ${r.kind} via ${hostOfPeer(r.via)}, want ${want.kind} via ${hostOfPeer(want.via)}`)
      }
    }
    return true
  }, { what: 'direct within a segment, relayed via host 3 across', timeoutMs: 60_000 })
  for (const i of ALL) {
    const peers = await m.peers(i)
    for (const j of ALL.filter(x => x !== i)) {
      const p = peers.find(x => x.peerId === S(j).peerId)
      assert.ok(p !== undefined, `host ${i} lists host ${j}`)
      if (sameSegment(i, j)) assert.equal([p.state, p.via], ['direct', null], `host ${i} peers: host ${j} direct`)
      else assert.equal([p.state, p.via], ['relayed', via3], `host ${i} peers: host ${j} relayed via host 3`)
    }
  }
})

test('WireGuard: cross-segment /64s sit on host 3\'s entry, host 3 holds every /64 on its owner', async () => {
  await waitFor(async () => {
    for (const i of ALL) {
      const dev = await m.wg(i)
      if (dev.peers.length !== 4) throw new Error(`host ${i}: ${dev.peers.length} WireGuard peers, want 4`)
      for (const j of ALL.filter(x => x !== i)) {
        const holders = dev.peers.filter(p => (p.allowedIps as readonly string[]).includes(S(j).prefix)).map(p => p.publicKey)
        const want = sameSegment(i, j) ? S(j).wgPublicKey : S(3).wgPublicKey
        if (holders.length !== 1 || holders[0] !== want) throw new Error(`host ${i}: host ${j}'s /64 on ${holders.length} entries, not only ${sameSegment(i, j) ? 'its own' : 'host 3\'s'}`)
      }
      for (const p of dev.peers) {
        if (p.allowedIps.some(a => a === S(i).meshPrefix || a === '::/0')) throw new Error(`host ${i}: mesh prefix or ::/0 on a peer`)
      }
    }
    return true
  }, { what: 'WireGuard entries match the routes', timeoutMs: 30_000 })
})

test('every ordered pair pings the other over the overlay', async () => {
  const failed = await waitFor(async () => {
    const f = await m.pingAllPairs(ALL)
    if (f.length > 0) throw new Error(`failed pairs: ${f.join(' ')}`)
    return f
  }, { what: 'all 20 ordered pairs ping', timeoutMs: 30_000, intervalMs: 1000 })
  assert.equal(failed, [])
})

test('the underlay really is split: host 1 cannot reach host 4 outside the overlay', async () => {
  assert.not.ok(await m.lab.ping(1, m.lab.host(4).ipv4, { count: 1, timeoutS: 1 }), 'host 1 -> host 4 underlay')
})

test('the live invariant checker saw no violation on any host', async () => {
  assert.ok(inv !== undefined)
  const { rounds, meanRoundMs } = inv.stats()
  console.log(`  invariant checker: ${rounds} rounds, ${Math.round(meanRoundMs)} ms per round`)
  inv.assertClean()
})

test('no daemon counted an unhandled error', async () => {
  for (const i of ALL) assert.is((await m.status(i)).counters.unhandled, 0, `host ${i}`)
})

test.run()
