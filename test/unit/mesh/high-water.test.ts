/**
 * The per-peer seq high-water mark (T4/S3): seeding from a persisted copy,
 * raise-only, bounded with least-recently-raised eviction, the onRaise hook
 * the daemon saves on, and the validator's onReject hook that counts DHT
 * refusals.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { encodeRecord, MAX_RECORD_BYTES } from '../../../src/mesh/record.ts'
import { createRecordValidator, createSeqHighWater, recordKey } from '../../../src/mesh/record-dht.ts'
import { forgeRecord } from './forge.ts'
import { newIdentity, rejectionReason, samplePayload } from './helpers.ts'

const MESH = 'testmesh'
const now = 1_700_000_000_000
const enc = new TextEncoder()
const a = await newIdentity()
const b = await newIdentity()

test('seeded marks are in force at once and raising them is not reported as a change', () => {
  let raised = 0
  const hw = createSeqHighWater({ initial: { [a.peerId]: 7, [b.peerId]: 3 }, onRaise: () => { raised++ } })
  assert.is(hw.get(a.peerId), 7)
  assert.is(hw.get(b.peerId), 3)
  assert.is(hw.get('unknown'), 0)
  assert.is(raised, 0, 'seeding is not a change to save')
  hw.observe(a.peerId, 7) // equal: no change
  hw.observe(a.peerId, 2) // lower: never lowers
  assert.is(raised, 0)
  assert.is(hw.get(a.peerId), 7)
  hw.observe(a.peerId, 8)
  assert.is(raised, 1)
  assert.is(hw.get(a.peerId), 8)
})

test('unusable seeds are skipped, not trusted', () => {
  const hw = createSeqHighWater({ initial: { x: -1, y: 1.5, z: Number.NaN, w: Number.POSITIVE_INFINITY, ok: 4 } })
  assert.equal(hw.entries(), { ok: 4 })
})

test('bounded: the mark raised longest ago is forgotten first', () => {
  const hw = createSeqHighWater({ maxPeers: 3 })
  hw.observe('p1', 1); hw.observe('p2', 1); hw.observe('p3', 1)
  hw.observe('p1', 2) // p1 republished: now the most recent
  hw.observe('p4', 1) // evicts p2, the least recently raised
  assert.equal(Object.keys(hw.entries()), ['p3', 'p1', 'p4'])
  assert.is(hw.get('p2'), 0)
  assert.is(hw.get('p1'), 2)
})

test('entries() round-trips: a restarted copy keeps the marks and the eviction order', () => {
  const hw = createSeqHighWater({ maxPeers: 3 })
  hw.observe('p1', 5); hw.observe('p2', 6); hw.observe('p1', 9)
  const again = createSeqHighWater({ maxPeers: 3, initial: hw.entries() })
  assert.equal(again.entries(), hw.entries())
  again.observe('p3', 1); again.observe('p4', 1)
  assert.equal(Object.keys(again.entries()), ['p1', 'p3', 'p4'], 'p2 was raised longest ago')
})

test('a seed larger than the bound keeps only the most recent marks', () => {
  const initial = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, i + 1]))
  const hw = createSeqHighWater({ maxPeers: 4, initial })
  assert.equal(Object.keys(hw.entries()), ['p6', 'p7', 'p8', 'p9'])
})

test('property: size stays bounded; a kept mark is never above the max observed nor below the last observed', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.nat(1000)), { maxLength: 200 }), (max, ops) => {
    const hw = createSeqHighWater({ maxPeers: max })
    const best = new Map<string, number>()
    const last = new Map<string, number>()
    for (const [p, seq] of ops) {
      hw.observe(`p${p}`, seq)
      best.set(`p${p}`, Math.max(best.get(`p${p}`) ?? 0, seq))
      last.set(`p${p}`, seq)
    }
    const entries = hw.entries()
    if (Object.keys(entries).length > max) return false
    // An evicted peer starts again from 0, so only these bounds hold for every kept mark.
    return Object.entries(entries).every(([p, seq]) => seq <= (best.get(p) ?? -1) && seq >= (last.get(p) ?? Infinity))
  }))
})

test('a validator seeded from persisted marks refuses the replay a fresh one would take', async () => {
  const old = await encodeRecord(samplePayload(a.peerId, { seq: 10 }, now), a.privateKey)
  const key = enc.encode(recordKey(MESH, a.peerId))
  const before = createSeqHighWater()
  before.observe(a.peerId, 11) // saw the newer record, then "restarted":
  const fresh = createRecordValidator({ mesh: MESH, clock: { now: () => now }, highWater: createSeqHighWater().get })
  await fresh(key, old) // without the persisted marks the replay would be accepted
  const restarted = createSeqHighWater({ initial: before.entries() })
  const validate = createRecordValidator({ mesh: MESH, clock: { now: () => now }, highWater: restarted.get })
  assert.is(await rejectionReason(async () => { await validate(key, old) }), 'stale-seq')
})

test('validator onReject: told each refusal reason, never an acceptance; a throwing hook changes nothing', async () => {
  const seen: string[] = []
  const hw = createSeqHighWater({ initial: { [a.peerId]: 5 } })
  const validate = createRecordValidator({ mesh: MESH, clock: { now: () => now }, highWater: hw.get, onReject: r => { seen.push(r) } })
  const key = enc.encode(recordKey(MESH, a.peerId))
  await validate(key, await encodeRecord(samplePayload(a.peerId, { seq: 6 }, now), a.privateKey))
  assert.equal(seen, [])
  assert.is(await rejectionReason(async () => { await validate(key, await encodeRecord(samplePayload(a.peerId, { seq: 4 }, now), a.privateKey)) }), 'stale-seq')
  assert.is(await rejectionReason(async () => { await validate(key, await forgeRecord(a.peerId, b.privateKey, 9)) }), 'wrong-peer')
  assert.is(await rejectionReason(async () => { await validate(key, new Uint8Array(MAX_RECORD_BYTES + 1)) }), 'oversized')
  assert.is(await rejectionReason(async () => { await validate(enc.encode('/gridmesh/x'), new Uint8Array(4)) }), 'bad-key')
  assert.equal(seen, ['stale-seq', 'wrong-peer', 'oversized', 'bad-key'])

  const throwing = createRecordValidator({ mesh: MESH, clock: { now: () => now }, highWater: hw.get, onReject: () => { throw new Error('boom') } })
  assert.is(await rejectionReason(async () => { await throwing(key, new Uint8Array(MAX_RECORD_BYTES + 1)) }), 'oversized')
})

test.run()
