/**
 * The simulator (bench/sim): its counters on a tiny mesh are exact, and a
 * property of the protocol it runs: after any sequence of joins, leaves,
 * crashes, link cuts and heals among a few real cores, once things settle
 * every member has the same members, the same link view and loop-free
 * routes (issue 13, Done when).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { SimTime } from '../../../bench/sim/sim-time.ts'
import { SimNetwork } from '../../../bench/sim/network.ts'
import { Simulation } from '../../../bench/sim/sim.ts'
import { gossipPublishBytes } from '../../../bench/sim/wire.ts'
import { encodeMessage, membersTopic } from '../../../src/mesh/messages.ts'
import type { SimNode } from '../../../bench/sim/root.ts'

test('counters: one members-topic publish among 3 nodes is 2 flood copies and 2 mesh forwards, counted exactly', async () => {
  const time = new SimTime()
  const net = new SimNetwork({ time, random: () => 0.5, latencyMs: 2, jitterMs: 0 })
  const topic = membersTopic('sim')
  const ids = ['a', 'b', 'c']
  const received: string[] = []
  const nodes = ids.map(id => net.node({ peerId: id, addrs: [], validator: async () => {}, selector: () => 0 }))
  nodes.forEach((n, i) => { n.subscribe(topic, async msg => { received.push(`${ids[i] ?? ''}<${msg.from}`); return 'accept' }) })
  await time.runFor(1_500) // connections to the seeds, then one gossip heartbeat builds the mesh (each node meshes with both others)
  const before = ids.map(id => structuredClone(net.counters(id)))
  const data = encodeMessage({ v: 1, type: 'leave', seq: 7 })
  await nodes[0]?.publish(topic, data)
  await time.runFor(20) // less than a heartbeat: no IHAVE, no GRAFT in the window
  const wire = gossipPublishBytes(data.length, topic.length)
  const d = ids.map((id, i) => {
    const a = net.counters(id); const b = before[i] ?? a
    return { msgsOut: a.msgsOut - b.msgsOut, bytesOut: a.bytesOut - b.bytesOut, msgsIn: a.msgsIn - b.msgsIn, bytesIn: a.bytesIn - b.bytesIn, checks: a.gossipChecks - b.gossipChecks }
  })
  assert.equal(received.sort(), ['b<a', 'c<a'], 'each other node handles it once')
  assert.equal(d[0], { msgsOut: 2, bytesOut: 2 * wire, msgsIn: 0, bytesIn: 0, checks: 0 }, 'publisher: one copy to each subscriber')
  // b forwards to its mesh peers except the source and origin (a): one copy to c; c likewise to b. Both duplicates are dropped.
  assert.equal(d[1], { msgsOut: 1, bytesOut: wire, msgsIn: 2, bytesIn: 2 * wire, checks: 1 })
  assert.equal(d[2], { msgsOut: 1, bytesOut: wire, msgsIn: 2, bytesIn: 2 * wire, checks: 1 })
})

/** The mesh as one member sees it: members, the link view (each pair up, down or unmeasured) and its routes. */
function viewOf (n: SimNode): { members: string[], links: string[] } {
  const members = [n.identity.peerId, ...(n.services.peers() as Array<{ peerId: string }>).map(p => p.peerId)].sort()
  const links = n.services.graph().dot.split('\n').filter(l => l.includes(' -- ')).map(l => {
    const ends = l.split(' [')[0]?.trim() ?? ''
    return `${ends} ${l.includes('style=dashed') ? 'down' : l.includes('style=dotted') ? 'unmeasured' : 'up'}`
  }).sort()
  return { members, links }
}

function routesOf (n: SimNode): Map<string, { kind: string, via: string | null }> {
  return new Map((n.services.routes() as Array<{ destinationPeer: string, kind: string, via: string | null }>).map(r => [r.destinationPeer, r]))
}

/**
 * assertLoopFree: from every member to every other that the uncut links
 * connect, following next hops reaches the destination without revisiting a
 * node. (Two members whose only link is cut have no route, rightly.)
 */
function assertLoopFree (live: readonly SimNode[], cut: ReadonlySet<string>): void {
  const linked = (a: SimNode, b: SimNode): boolean => !cut.has(pairKey(a, b))
  const connected = (src: SimNode, dst: SimNode): boolean => {
    const seen = new Set([src]); const queue = [src]
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      if (n === dst) return true
      for (const m of live) if (!seen.has(m) && linked(n, m)) { seen.add(m); queue.push(m) }
    }
    return false
  }
  const byPeer = new Map(live.map(n => [n.identity.peerId, n]))
  const tables = new Map(live.map(n => [n.identity.peerId, routesOf(n)]))
  for (const src of live) {
    for (const dst of live) {
      if (src === dst || !connected(src, dst)) continue
      const d = dst.identity.peerId
      const seen = new Set<string>()
      let cur = src.identity.peerId
      while (cur !== d) {
        assert.ok(!seen.has(cur), `routing loop from n${src.index} to n${dst.index} at ${cur}`)
        seen.add(cur)
        const r = tables.get(cur)?.get(d)
        assert.ok(r !== undefined, `n${byPeer.get(cur)?.index ?? '?'} has no route to n${dst.index}`)
        cur = r.kind === 'direct' ? d : String(r.via)
        assert.ok(byPeer.has(cur), `route from n${src.index} to n${dst.index} goes through a non-member`)
      }
    }
  }
}

const pairKey = (a: SimNode, b: SimNode): string => a.index < b.index ? `${a.index}|${b.index}` : `${b.index}|${a.index}`

type Step = { op: 'join' } | { op: 'leave', k: number } | { op: 'crash', k: number } | { op: 'cut', a: number, b: number } | { op: 'heal' }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ op: 'join' }),
  fc.nat(20).map<Step>(k => ({ op: 'leave', k })),
  fc.nat(20).map<Step>(k => ({ op: 'crash', k })),
  fc.tuple(fc.nat(20), fc.nat(20)).map<Step>(([a, b]) => ({ op: 'cut', a, b })),
  fc.constant<Step>({ op: 'heal' })
)

test('property: after random joins, leaves, crashes, cuts and heals, every member has the same members, the same link view and loop-free routes', async () => {
  await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 1_000 }), async (steps, seed) => {
    const sim = new Simulation({ seed })
    let next = 0
    const cut = new Set<string>()
    await sim.start([next++, next++, next++, next++])
    await sim.run(5_000)
    for (const s of steps) {
      const live = sim.liveNodes()
      const at = (k: number): SimNode => live[k % live.length] as SimNode
      if (s.op === 'join') await sim.start([next++])
      else if (s.op === 'leave' && live.length > 2) await sim.leave(at(s.k))
      else if (s.op === 'crash' && live.length > 2) sim.crash(at(s.k))
      else if (s.op === 'cut' && at(s.a) !== at(s.b)) { sim.net.cutLink(at(s.a).identity.peerId, at(s.b).identity.peerId); cut.add(pairKey(at(s.a), at(s.b))) }
      else if (s.op === 'heal') { for (const a of live) for (const b of live) sim.net.healLink(a.identity.peerId, b.identity.peerId); cut.clear() }
      await sim.run(1_500)
    }
    await sim.run(Number(process.env.SIM_SETTLE_MS ?? 30_000))
    const live = sim.liveNodes()
    const expected = live.map(n => n.identity.peerId).sort()
    const first = live[0] as SimNode
    const ref = viewOf(first)
    for (const n of live) {
      const v = viewOf(n)
      assert.equal(v.members, expected, `n${n.index} has the live members`)
      assert.equal(v.links, ref.links, `n${n.index} has n${first.index}'s link view`)
    }
    assertLoopFree(live, cut)
  }), { numRuns: 6, seed: 13 })
})

test.run()
