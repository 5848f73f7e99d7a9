import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { RecordEnvelope } from '@libp2p/peer-record'
import {
  encodeRecord, decodeRecord, MAX_RECORD_BYTES, RECORD_DOMAIN, RECORD_CODEC
} from '../../../src/mesh/record.ts'
import {
  createRecordValidator, createRecordSelector, recordKey, parseRecordKey, createSeqHighWater
} from '../../../src/mesh/record-dht.ts'
import { parseEndpoint } from '../../../src/mesh/endpoint.ts'
import { newIdentity, samplePayload, rejectionReason } from './helpers.ts'
import type { PrivateKey, Record as Libp2pRecord } from '@libp2p/interface'

const MESH = 'testmesh'
const now = 1_700_000_000_000
const enc = new TextEncoder()

/** Seals arbitrary bytes under any domain/codec: the attacker's toolbox. */
async function sealRaw (payload: Uint8Array, key: PrivateKey, domain = RECORD_DOMAIN, codec = RECORD_CODEC): Promise<Uint8Array> {
  const rec: Libp2pRecord = { domain, codec, marshal: () => payload, equals: () => false }
  return (await RecordEnvelope.seal(rec, key)).marshal()
}

const a = await newIdentity()
const b = await newIdentity()
const good = await encodeRecord(samplePayload(a.peerId, {}, now), a.privateKey)

test('round trip keeps every field', async () => {
  const r = await decodeRecord(good, { mesh: MESH, now, expectedPeerId: a.peerId })
  assert.equal({ ...r }, samplePayload(a.peerId, {}, now))
  assert.ok(good.length < 600, `record is ${good.length} bytes`)
})

test('each rejection reason', async () => {
  const dec = (bytes: Uint8Array, o: { expectedPeerId?: string, at?: number } = {}) => async () =>
    await decodeRecord(bytes, { mesh: MESH, now: o.at ?? now, ...(o.expectedPeerId === undefined ? {} : { expectedPeerId: o.expectedPeerId }) })
  const json = (p: object): Uint8Array => enc.encode(JSON.stringify(p))
  // forged: B signs a record claiming to be A
  assert.is(await rejectionReason(dec(await sealRaw(json(samplePayload(a.peerId, {}, now)), b.privateKey))), 'wrong-peer')
  // genuine record of B presented under A's key
  const recB = await encodeRecord(samplePayload(b.peerId, {}, now), b.privateKey)
  assert.is(await rejectionReason(dec(recB, { expectedPeerId: a.peerId })), 'wrong-peer')
  // bit-flipped signature (last bytes of the envelope are the signature)
  const flipped = good.slice(); flipped[flipped.length - 3] = (flipped[flipped.length - 3] ?? 0) ^ 0x01
  assert.is(await rejectionReason(dec(flipped)), 'bad-signature')
  // a valid envelope signed for another domain
  assert.is(await rejectionReason(dec(await sealRaw(json(samplePayload(a.peerId, {}, now)), a.privateKey, 'libp2p-peer-record'))), 'bad-signature')
  assert.is(await rejectionReason(dec(await sealRaw(json(samplePayload(a.peerId, {}, now)), a.privateKey, RECORD_DOMAIN, enc.encode('/x/1')))), 'wrong-type')
  assert.is(await rejectionReason(dec(new Uint8Array(MAX_RECORD_BYTES + 1))), 'oversized')
  assert.is(await rejectionReason(dec(await sealRaw(enc.encode('{"v":1,'), a.privateKey))), 'malformed')
  assert.is(await rejectionReason(dec(await sealRaw(json({ ...samplePayload(a.peerId, {}, now), extra: 1 }), a.privateKey))), 'malformed')
  assert.is(await rejectionReason(dec(await sealRaw(json(samplePayload(a.peerId, { endpoints: ['127.0.0.1:51820'] }, now)), a.privateKey))), 'malformed')
  assert.is(await rejectionReason(dec(await encodeRecord(samplePayload(a.peerId, { mesh: 'other' }, now), a.privateKey))), 'wrong-mesh')
  assert.is(await rejectionReason(dec(good, { at: now + 3_600_000 })), 'expired')
  assert.is(await rejectionReason(dec(await encodeRecord(samplePayload(a.peerId, { expiresAt: now + 25 * 3_600_000 }, now), a.privateKey))), 'too-far-future')
  assert.is(await rejectionReason(dec(new Uint8Array([1, 2, 3]))), 'malformed')
})

test('encodeRecord refuses a payload peers would refuse', async () => {
  assert.is(await rejectionReason(async () => await encodeRecord(samplePayload(a.peerId, { endpoints: [] }), a.privateKey)), 'malformed')
  assert.is(await rejectionReason(async () => await encodeRecord(samplePayload(a.peerId, { seq: -1 }), a.privateKey)), 'malformed')
})

test('validator: key binding, mesh, replay below high-water', async () => {
  const hw = createSeqHighWater()
  const validate = createRecordValidator({ mesh: MESH, clock: { now: () => now }, highWater: hw.get })
  const key = enc.encode(recordKey(MESH, a.peerId))
  await validate(key, good)
  assert.is(await rejectionReason(async () => { await validate(enc.encode(recordKey(MESH, b.peerId)), good) }), 'wrong-peer')
  assert.is(await rejectionReason(async () => { await validate(enc.encode(recordKey('other', a.peerId)), good) }), 'wrong-mesh')
  assert.is(await rejectionReason(async () => { await validate(enc.encode('/gridmesh/x'), good) }), 'bad-key')
  hw.observe(a.peerId, 1)
  await validate(key, good) // equal seq allowed
  hw.observe(a.peerId, 5)
  assert.is(await rejectionReason(async () => { await validate(key, good) }), 'stale-seq')
  hw.observe(a.peerId, 3) // never lowers
  assert.is(hw.get(a.peerId), 5)
  assert.equal(parseRecordKey(recordKey(MESH, a.peerId)), { mesh: MESH, peerId: a.peerId })
})

test('selector picks the highest valid seq; invalid ones lose', async () => {
  const select = createRecordSelector({ mesh: MESH, clock: { now: () => now } })
  const key = enc.encode(recordKey(MESH, a.peerId))
  const s3 = await encodeRecord(samplePayload(a.peerId, { seq: 3 }, now), a.privateKey)
  const s7 = await encodeRecord(samplePayload(a.peerId, { seq: 7 }, now), a.privateKey)
  const forged99 = await sealRaw(enc.encode(JSON.stringify(samplePayload(a.peerId, { seq: 99 }, now))), b.privateKey)
  const s7later = await encodeRecord(samplePayload(a.peerId, { seq: 7, expiresAt: now + 7_200_000 }, now), a.privateKey)
  assert.is(await select(key, [s3, forged99, s7]), 2)
  assert.is(await select(key, [forged99, s7, s3]), 1)
  assert.is(await select(key, [s7, s7later]), 1)
})

test('parseEndpoint accepts unicast ip:port only', () => {
  for (const ok of ['10.0.0.1:51820', '192.0.2.1:1', '[2001:db8::1]:51820', '[fd00::1]:65535']) {
    assert.ok(parseEndpoint(ok) !== null, ok)
  }
  for (const bad of ['127.0.0.1:1', '0.0.0.0:1', '224.0.0.1:1', '255.255.255.255:1', '169.254.1.1:1',
    '[::1]:1', '[::]:1', '[fe80::1]:1', '[ff02::1]:1', '[::ffff:127.0.0.1]:1', '[::ffff:7f00:1]:1',
    '10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', '10.0.0.1:051', 'host:80', '2001:db8::1:80', '[2001:db8::1]', '']) {
    assert.is(parseEndpoint(bad), null, bad)
  }
})

test('fuzz: random bytes and mutations only ever throw RECORD_INVALID', async () => {
  const check = async (bytes: Uint8Array): Promise<boolean> => {
    try {
      await decodeRecord(bytes, { mesh: MESH, now })
      return true
    } catch (err) {
      const e = err as { name?: string, code?: string }
      return e.name === 'GridmeshError' && e.code === 'ERR_RECORD_INVALID'
    }
  }
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), check), { numRuns: 300 })
  await fc.assert(fc.asyncProperty(
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'ins')), { minLength: 1, maxLength: 6 }),
    async muts => {
      let bytes = good.slice()
      for (const [pos, val, op] of muts) {
        const i = pos % (bytes.length + 1)
        if (op === 'set' && i < bytes.length) bytes[i] = val
        else if (op === 'cut') bytes = Uint8Array.from([...bytes.slice(0, i), ...bytes.slice(i + 1)])
        else bytes = Uint8Array.from([...bytes.slice(0, i), val, ...bytes.slice(i)])
      }
      return await check(bytes)
    }), { numRuns: 500 })
})

test.run()
