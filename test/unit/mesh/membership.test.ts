/**
 * In-process mesh: real libp2p nodes on 127.0.0.1 (random ports), each with
 * its own membership. Timings are printed; assertions poll with generous
 * deadlines (2 cores, shared CI), the printed numbers are the real result.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createMeshNode } from '../../../src/mesh/libp2p-node.ts'
import { createMembership } from '../../../src/mesh/membership.ts'
import { encodeRecord } from '../../../src/mesh/record.ts'
import { createRecordValidator, createRecordSelector, createSeqHighWater, recordKey } from '../../../src/mesh/record-dht.ts'
import { decodeRecord } from '../../../src/mesh/record.ts'
import { encodeMessage, membersTopic, toBase64, MAX_MESSAGE_BYTES } from '../../../src/mesh/messages.ts'
import { testLogger } from '../../../src/log.ts'
import { newIdentity, samplePayload, waitFor } from './helpers.ts'
import type { Libp2pMeshNode as MeshNode } from '../../../src/mesh/libp2p-node.ts'
import { systemTime } from '../../../src/time/system.ts'
import type { Membership } from '../../../src/mesh/membership.ts'

const MESH = 'testmesh'
const clock = { now: Date.now }
let unhandled = 0
process.on('unhandledRejection', (err) => { unhandled++; console.error('unhandledRejection', err) })

interface Lab { node: MeshNode, m: Membership, wgKey: string, stopped: boolean }
const labs: Lab[] = []
const live = (): Lab[] => labs.filter(l => !l.stopped)

function wgKeyFor (i: number): string {
  return Buffer.alloc(32, i + 1).toString('base64')
}

async function startLab (i: number, bootstrap: string[]): Promise<Lab> {
  const id = await newIdentity()
  const seqs = createSeqHighWater()
  const node = await createMeshNode({
    privateKey: id.privateKey, mesh: MESH, listen: { host: '127.0.0.1', port: 0 }, bootstrap,
    validator: createRecordValidator({ mesh: MESH, clock, highWater: seqs.get }),
    selector: createRecordSelector({ mesh: MESH, clock }),
    logger: testLogger(), loopbackLab: true
  })
  let seq = 0
  const wgKey = wgKeyFor(i)
  const ownRecord = async (): Promise<Uint8Array> => await encodeRecord(samplePayload(id.peerId, {
    seq: ++seq, wgPublicKey: wgKey, addrs: node.addrs(), endpoints: [`10.9.0.${i + 1}:51820`],
    prefix: `fd00:0:0:${i + 1}::/64`, expiresAt: Date.now() + 1_800_000
  }), id.privateKey)
  const m = createMembership({ node, ownRecord, mesh: MESH, logger: testLogger(), seqs, time: systemTime })
  await m.start()
  const lab = { node, m, wgKey, stopped: false }
  labs.push(lab)
  return lab
}

const knowsAll = (): boolean => live().every(l =>
  live().every(o => o === l || l.m.members().get(o.node.peerId)?.state === 'alive'))

test('5 nodes: every node learns every member', async () => {
  const seed = await startLab(0, [])
  const seedHostPort = seed.node.addrs()[0]?.replace(/^\/ip4\/([^/]+)\/tcp\/(\d+)$/, '$1:$2') ?? ''
  const seedFull = `${seed.node.addrs()[0] ?? ''}/p2p/${seed.node.peerId}`
  const t0 = Date.now()
  await Promise.all([1, 2, 3, 4].map(async i => await startLab(i, [i % 2 === 0 ? seedHostPort : seedFull])))
  const ms = await waitFor(knowsAll, 'all 5 know all', 15_000)
  console.log(`  5 nodes → all members known (alive) ${Date.now() - t0} ms after start (${ms} ms after the last start)`)
  const view = labs[1]?.m.members().get(seed.node.peerId)
  assert.is(view?.record.wgPublicKey, seed.wgKey)
  assert.equal(view?.record.endpoints, ['10.9.0.1:51820'])
})

test('a late joiner is learned by all, and learns all', async () => {
  const t0 = Date.now()
  const seedAddr = `${labs[2]?.node.addrs()[0] ?? ''}`.replace(/^\/ip4\/([^/]+)\/tcp\/(\d+)$/, '$1:$2')
  await startLab(5, [seedAddr])
  await waitFor(knowsAll, 'late joiner known', 10_000)
  console.log(`  late joiner (6th) → known by all and knows all in ${Date.now() - t0} ms`)
  // The next tests send from the joiner (a DHT PUT, a flood publish): both reach only the peers it
  // is connected to, and knowing every member comes before having dialled each one.
  const joiner = labs[5]!
  await waitFor(() => live().every(l => l === joiner || joiner.node.isConnected(l.node.peerId)), 'late joiner connected to every member', 10_000)
})

test('a forged record is refused on PUT and never reaches a membership', async () => {
  const attacker = labs[5]!
  const victim = labs[1]!
  const bad = await newIdentity()
  const { forgeRecord } = await import('./forge.ts')
  const forged = await forgeRecord(victim.node.peerId, bad.privateKey, 99)
  const r = await attacker.node.putRecord(recordKey(MESH, victim.node.peerId), forged, { timeoutMs: 5_000 })
  assert.is(r.stored, 0, 'no peer stored the forged record')
  assert.ok(r.failed > 0, 'peers refused it')
  const got = await labs[2]!.node.getRecord(recordKey(MESH, victim.node.peerId), { timeoutMs: 5_000 })
  assert.ok(got !== null)
  const rec = await decodeRecord(got!, { mesh: MESH, now: Date.now(), expectedPeerId: victim.node.peerId })
  assert.is(rec.wgPublicKey, victim.wgKey)
  // also gossip it as an announce from the attacker: the sender ≠ record peer
  await attacker.node.publish(membersTopic(MESH), encodeMessage({ v: 1, type: 'announce', record: toBase64(forged) }))
  await waitFor(() => live().some(l => l.m.counters.rejected['wrong-peer'] > 0), 'wrong-peer counted')
  for (const l of live()) {
    for (const v of l.m.members().values()) assert.ok(v.record.seq !== 99 && v.record.wgPublicKey !== samplePayload('x').wgPublicKey)
    assert.is(l.m.members().get(victim.node.peerId)?.record.wgPublicKey ?? victim.wgKey, victim.wgKey)
  }
})

test('garbage gossip crashes nobody and is counted', async () => {
  const sender = labs[5]!
  const ps = sender.node.libp2p.services.pubsub
  await ps.publish(membersTopic(MESH), new Uint8Array([0xff, 0x00, 0x7b]))
  await ps.publish(membersTopic(MESH), new TextEncoder().encode('{"v":1,"type":"announce","record":"AAAA","x":1}'))
  await ps.publish(membersTopic(MESH), new Uint8Array(MAX_MESSAGE_BYTES + 1))
  await waitFor(() => live().filter(l => l !== sender).every(l => l.m.counters.rejected.malformed >= 2 && l.m.counters.rejected.oversized >= 1), 'garbage counted')
  assert.ok(knowsAll(), 'membership intact')
})

test('graceful leave: all others drop the member quickly', async () => {
  const leaver = labs[4]!
  const t0 = Date.now()
  const stopping = leaver.m.stop({ leave: true })
  const dropped = (): boolean => live().every(l => l === leaver || !l.m.members().has(leaver.node.peerId))
  const ms = await waitFor(dropped, 'leaver dropped', 3_000, 2)
  await stopping
  console.log(`  graceful leave → dropped by all in ${ms} ms (stop() incl. flush wait took ${Date.now() - t0} ms)`)
  leaver.stopped = true
  await leaver.node.stop()
  assert.ok(ms <= 500, `leave took ${ms} ms`)
})

test('crash (libp2p stopped, no leave): others mark it dead within the deadline', async () => {
  const victim = labs[3]!
  await victim.m.stop({ leave: false }) // silence the timers: no leave message
  victim.stopped = true
  const t0 = Date.now()
  await victim.node.stop()
  const dead = (): boolean => live().every(l => !l.m.members().has(victim.node.peerId))
  const ms = await waitFor(dead, 'crashed member purged', 8_000, 10)
  console.log(`  crash → purged by all in ${Date.now() - t0} ms`)
  assert.ok(ms <= 3_500, `purge took ${ms} ms`)
  await new Promise(resolve => setTimeout(resolve, 1_500))
  assert.ok(dead(), 'stays dead (no resurrection from stale gossip or DHT)')
  assert.ok(knowsAll(), 'the others are still alive')
})

test('no unhandled rejections, no unhandled handler errors', async () => {
  for (const l of labs) assert.is(l.m.counters.unhandled, 0)
  assert.is(unhandled, 0)
})

test('teardown', async () => {
  for (const l of live()) { await l.m.stop({ leave: false }); await l.node.stop(); l.stopped = true }
})

test.run()
