/**
 * Fuzz: node records and their DHT plumbing (T1, T4, T6, T8, T9; S1, S4, S7, S8).
 * Random bytes, one-byte and multi-byte mutations of a valid envelope, and
 * correctly signed payloads with fuzzed fields (the only way past the
 * signature to the schema) go to decodeRecord, the kad-dht validator and
 * selector, the record-key parser and the closed-mesh certificate check.
 * Every input is either refused with RECORD_INVALID and a reason from
 * RECORD_REJECT_REASONS, or accepted as a record that re-validates: it
 * passes the payload schema again, its prefix is canonical, and
 * encode → decode reproduces it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { RecordEnvelope } from '@libp2p/peer-record'
import type { PrivateKey, Record as Libp2pRecord } from '@libp2p/interface'
import { ErrorCodes } from '../../../src/errors.ts'
import {
  decodeRecord, encodeRecord, MAX_RECORD_BYTES, RECORD_CODEC, RECORD_DOMAIN, RECORD_REJECT_REASONS, recordPayloadSchema,
  type NodeRecord, type NodeRecordPayload
} from '../../../src/mesh/record.ts'
import { createRecordSelector, createRecordValidator, parseRecordKey, recordKey } from '../../../src/mesh/record-dht.ts'
import { createRecordAdmission } from '../../../src/mesh/record-admission.ts'
import { parseEndpoint } from '../../../src/mesh/endpoint.ts'
import { issueCertificate } from '../../../src/admission/certificate.ts'
import { toBase64url } from '../../../src/admission/codec.ts'
import { parseIpv6Prefix, prefixLength, type Ipv6Prefix } from '../../../src/net/prefix.ts'
import { newIdentity, samplePayload } from '../mesh/helpers.ts'
import { HOUR, MESH, NOW, PREFIX, WG, newAuthority, newToken } from '../admission/helpers.ts'
import {
  anyString, bigBytes, fieldEditsArb, mutate, mutationsArb, nastyJson, oneMutationArb, outcome, outcomeSync, params, timeTests
} from './helpers.ts'

timeTests(test)

const REASONS: ReadonlySet<string> = new Set(RECORD_REJECT_REASONS)
const CODES = [ErrorCodes.RECORD_INVALID]
const enc = new TextEncoder()
const clock = { now: () => NOW }

const me = await newIdentity()
const other = await newIdentity()
const payload = samplePayload(me.peerId, {}, NOW)
const good = await encodeRecord(payload, me.privateKey)
const key = enc.encode(recordKey(MESH, me.peerId))
const validate = createRecordValidator({ mesh: MESH, clock, highWater: () => 0 })
const select = createRecordSelector({ mesh: MESH, clock })

/** Seals any payload bytes with the record domain and codec: gets past the signature check to the schema. */
async function sealRaw (bytes: Uint8Array, k: PrivateKey = me.privateKey): Promise<Uint8Array> {
  const rec: Libp2pRecord = { domain: RECORD_DOMAIN, codec: RECORD_CODEC, marshal: () => bytes, equals: () => false }
  return (await RecordEnvelope.seal(rec, k)).marshal()
}

const decode = async (bytes: Uint8Array, expectedPeerId?: string): Promise<NodeRecord> =>
  await decodeRecord(bytes, { mesh: MESH, now: NOW, ...(expectedPeerId === undefined ? {} : { expectedPeerId }) })

/**
 * revalidates: what every accepted record must satisfy. The schema accepts
 * it again, its /64 is canonical (string equality is how owners, certs and
 * allowed-ips compare prefixes), every endpoint parses, and sealing it again
 * decodes to the same record (fixed point).
 */
async function assertRevalidates (r: NodeRecord, signer: PrivateKey): Promise<void> {
  const plain = JSON.parse(JSON.stringify(r)) as NodeRecordPayload
  assert.ok(recordPayloadSchema.safeParse(plain).success, 'accepted record fails its own schema')
  assert.is(parseIpv6Prefix(r.prefix, ErrorCodes.RECORD_INVALID), r.prefix, `accepted prefix ${r.prefix} is not canonical`)
  assert.is(prefixLength(r.prefix), 64)
  for (const e of r.endpoints) assert.ok(parseEndpoint(e) !== null, `accepted endpoint ${e}`)
  assert.ok(r.expiresAt > NOW && r.expiresAt <= NOW + 24 * HOUR)
  const again = await decode(await encodeRecord(plain, signer), r.peerId)
  assert.equal({ ...again }, { ...r })
}

test('oracle sanity: the known-good record decodes, validates, is selected, and re-validates', async () => {
  const r = await decode(good, me.peerId)
  assert.equal({ ...r }, payload)
  await validate(key, good)
  assert.is(await select(key, [new Uint8Array([1]), good]), 1)
  await assertRevalidates(r, me.privateKey)
  // and the oracle itself bites: a non-GridmeshError escaping fails it
  await outcome(async () => { throw new TypeError('x') }, CODES).then(() => assert.unreachable('oracle let a TypeError through'), () => {})
})

test('random bytes (up to 2×MAX_RECORD_BYTES): decoder and validator refuse with a known reason', async () => {
  await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 2 * MAX_RECORD_BYTES }), bigBytes(MAX_RECORD_BYTES - 8, 2 * MAX_RECORD_BYTES)), async bytes => {
    const d = await outcome(async () => await decode(bytes), CODES, REASONS)
    const v = await outcome(async () => { await validate(key, bytes) }, CODES, REASONS)
    assert.not.ok(d.ok || v.ok, 'random bytes accepted as a record')
    if (bytes.length > MAX_RECORD_BYTES && !d.ok) assert.is(d.reason, 'oversized')
  }), params(1500))
})

test('one-byte mutations of a valid envelope: refused, or exactly the same signed record', async () => {
  const original = await decode(good)
  await fc.assert(fc.asyncProperty(oneMutationArb, async ops => {
    const m = mutate(good, ops)
    const d = await outcome(async () => await decode(m, me.peerId), CODES, REASONS)
    const v = await outcome(async () => { await validate(key, m) }, CODES, REASONS)
    assert.is(v.ok, d.ok, 'validator and decoder disagree')
    if (d.ok) assert.equal({ ...d.value }, { ...original }) // the signature covers every field
  }), params(1200))
})

test('multi-byte mutations and truncations: refused, or exactly the same signed record', async () => {
  const original = await decode(good)
  await fc.assert(fc.asyncProperty(mutationsArb, async ops => {
    const d = await outcome(async () => await decode(mutate(good, ops)), CODES, REASONS)
    if (d.ok) assert.equal({ ...d.value }, { ...original })
  }), params(2000))
})

/** Near-valid values per field: the edge cases a schema must get exactly right. */
const nearValid: fc.Arbitrary<unknown> = fc.oneof(
  nastyJson,
  // prefixes: the same /64 spelled differently, host bits set, other lengths, v4-embedded
  fc.constantFrom('fd5e:1a2b:3c4d:12:0::/64', 'fd5e:1a2b:3c4d:12:0:0:0:0/64', 'fd5e:1a2b:3c4d:0012::/64', 'FD5E:1a2b:3c4d:12::/64',
    'fd5e:1a2b:3c4d:12::1/64', 'fd5e:1a2b:3c4d:12::/064', 'fd5e:1a2b:3c4d:12::/63', 'fd5e:1a2b:3c4d:12::/65', '::/0', '::/64',
    '::ffff:10.0.0.1/64', 'fd5e:1a2b:3c4d:12::/64 ', ' fd5e:1a2b:3c4d:12::/64', 'fd5e:1a2b:3c4d:12::/64/64', 'fd5e::12::/64'),
  // endpoints and endpoint lists
  fc.constantFrom(['127.0.0.1:1'], ['[::1]:1'], ['[fe80::1]:1'], ['[::ffff:10.0.0.1]:1'], ['224.0.0.1:1'], ['0.0.0.0:1'], ['10.0.0.1:0'],
    ['10.0.0.1:065535'], ['[2001:db8::1]:65535'], ['1.2.3.4:5'], [], Array.from({ length: 9 }, (_, i) => `10.0.0.${i + 1}:1`)),
  // numbers at the edges of seq / expiresAt
  fc.constantFrom(NOW, NOW + 1, NOW + 24 * HOUR, NOW + 24 * HOUR + 1, -1, 0, 1.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, '1'),
  // keys and strings
  fc.constantFrom(WG, WG.toLowerCase(), `${WG.slice(0, 43)}A`, `${WG.slice(0, 42)}==`, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    MESH, `${MESH}/x`, '', 'a'.repeat(65), other.peerId, 'x'.repeat(129), '/ip4/1.2.3.4/tcp/1', '/', `/${'a'.repeat(255)}`),
  anyString(80)
)

test('correctly signed payloads with fuzzed fields: RECORD_INVALID, or a record that re-validates', async () => {
  await fc.assert(fc.asyncProperty(fieldEditsArb(payload as unknown as Record<string, unknown>, nearValid), async p => {
    const bytes = await sealRaw(enc.encode(JSON.stringify(p)))
    const d = await outcome(async () => await decode(bytes), CODES, REASONS)
    if (d.ok) await assertRevalidates(d.value, me.privateKey)
  }), params(700))
})

test('regression: another spelling of a /64 is refused, so it cannot dodge the collision rule', async () => {
  // Found by the property above: `…:12:0::/64` passed the schema, and owners, the collision
  // rule and allowed-ips compare prefixes as strings, so a member whose PeerId sorts first could
  // take a victim's /64 by spelling it differently (open meshes; certificates were already strict).
  for (const prefix of ['fd5e:1a2b:3c4d:12:0::/64', 'fd5e:1a2b:3c4d:12:0:0:0:0/64', 'fd5e:1a2b:3c4d:0012::/64', 'fd5e:1a2b:3c4d:12::1/64', '::ffff:10.0.0.1/64']) {
    const bytes = await sealRaw(enc.encode(JSON.stringify({ ...payload, prefix })))
    const d = await outcome(async () => await decode(bytes), CODES, REASONS)
    assert.ok(!d.ok && d.reason === 'malformed', `${prefix} accepted`)
  }
})

test('signed non-JSON and non-object payloads are refused as malformed', async () => {
  await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), nastyJson.map(j => enc.encode(JSON.stringify(j) ?? ''))), async bytes => {
    const d = await outcome(async () => await decode(await sealRaw(bytes)), CODES, REASONS)
    assert.not.ok(d.ok)
  }), params(500))
})

test('record keys: random keys are bad-key/wrong-mesh; accepted keys round-trip', async () => {
  const keyArb = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    anyString(300).map(s => enc.encode(s)),
    fc.tuple(fc.constantFrom('', 'gridmesh', 'x'), anyString(20), fc.constantFrom('node', 'revocation', 'x'), anyString(70))
      .map(([ns, mesh, kind, id]) => enc.encode(`/${ns}/${mesh}/${kind}/${id}`))
  )
  await fc.assert(fc.asyncProperty(keyArb, async k => {
    const parsed = outcomeSync(() => parseRecordKey(k), CODES, REASONS)
    if (parsed.ok) assert.is(recordKey(parsed.value.mesh, parsed.value.peerId), new TextDecoder().decode(k))
    // the validator never accepts the good record under a key that is not its own
    const v = await outcome(async () => { await validate(k, good) }, CODES, REASONS)
    if (v.ok) assert.equal(new TextDecoder().decode(k), recordKey(MESH, me.peerId))
    // the selector is total: it returns an index into the list, whatever the key and values
    const i = await select(k, [k, good])
    assert.ok(i === 0 || i === 1)
  }), params(500))
})

test('selector: among random garbage it always picks the one valid record', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 6 }), fc.nat(), async (junk, at) => {
    const values: Uint8Array[] = [...junk]
    const pos = at % (values.length + 1)
    values.splice(pos, 0, good)
    assert.is(await select(key, values), pos)
  }), params(500))
})

test('closed mesh: fuzzed certificates inside a correctly signed record are refused with an admission reason', async () => {
  const authority = await newAuthority()
  const anchor = { mesh: MESH, authority: authority.publicKey }
  const token = await newToken(authority)
  const admit = createRecordAdmission({ anchor, revoked: () => false })
  const cert = toBase64url((await issueCertificate({ token, peerId: me.peerId, wgPublicKey: WG, prefix: PREFIX as Ipv6Prefix, now: NOW, ttlMs: HOUR })).bytes)
  const withCert = samplePayload(me.peerId, { cert }, NOW)
  const closed = async (bytes: Uint8Array): Promise<NodeRecord> => await decodeRecord(bytes, { mesh: MESH, now: NOW, admit })
  const sane = await closed(await encodeRecord(withCert, me.privateKey))
  assert.is(sane.cert, cert, 'oracle sanity: a record with its own certificate is admitted')
  const certArb = fc.oneof(
    oneMutationArb.map(ops => new TextDecoder().decode(mutate(enc.encode(cert), ops))),
    mutationsArb.map(ops => new TextDecoder().decode(mutate(enc.encode(cert), ops))),
    fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 1, maxLength: 2800 })
  )
  await fc.assert(fc.asyncProperty(certArb, async c => {
    const bytes = await sealRaw(enc.encode(JSON.stringify({ ...withCert, cert: c })))
    const d = await outcome(async () => await closed(bytes), CODES, REASONS)
    if (d.ok) assert.is(d.value.cert, cert, 'a different certificate string was admitted')
  }), params(400))
})

test.run()
