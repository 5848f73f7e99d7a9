/**
 * Fuzz: admission and key decoders not covered by test/unit/admission/fuzz.test.ts
 * (which feeds random and mutated bytes to certificates, tokens and
 * revocations): here the payloads are *correctly signed* with fuzzed fields,
 * so the schemas and cross-checks behind the signature are what gets hit
 * (T1, T2, T6, T14; S1, S4, S8, S13). Also the authority id, the persisted
 * revocation list, revocation DHT keys, Ed25519 key files, swarm keys and
 * WireGuard key text. Oracle: the documented GridmeshError code (and reason),
 * or a value that re-verifies to itself.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { generateKeyPair, privateKeyToProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { ErrorCodes } from '../../../src/errors.ts'
import { ADMISSION_REJECT_REASONS, decodeEd25519PrivateKey, sameBytes, sealJson, toBase64url } from '../../../src/admission/codec.ts'
import { CERT_KIND, CLOCK_SKEW_MS, issueCertificate, verifyCertificate } from '../../../src/admission/certificate.ts'
import { TOKEN_KIND, tokenClaimsSchema, verifyTokenClaims } from '../../../src/admission/token.ts'
import {
  REVOCATION_KIND, createRevocation, encodeRevocation, parseRevocationKey, revocationIdOf, revocationKey, verifyRevocation
} from '../../../src/admission/revocation.ts'
import { RevocationSet } from '../../../src/admission/revocation-set.ts'
import { formatAuthorityId, parseAuthorityId } from '../../../src/admission/authority.ts'
import { parseSwarmKey, generateSwarmKey } from '../../../src/keys/swarm-key.ts'
import { parseWgPrivateKey, parseWgPublicKey, wgKeyToHex, wgPublicKeyFromHex } from '../../../src/keys/wg-key.ts'
import { parseIpv6Prefix, prefixLength } from '../../../src/net/prefix.ts'
import { HOUR, MESH, NOW, PREFIX, WG, newAuthority, newPeerId, newToken } from '../admission/helpers.ts'
import {
  anyString, fieldEditsArb, mutate, mutateText, mutationsArb, nastyJson, oneMutationArb, outcome, outcomeSync, params, timeTests
} from './helpers.ts'

timeTests(test)

const REASONS: ReadonlySet<string> = new Set(ADMISSION_REJECT_REASONS)
const RECORD = [ErrorCodes.RECORD_INVALID]
const enc = new TextEncoder()

const authority = await newAuthority()
const anchor = { mesh: MESH, authority: authority.publicKey }
const peer = await newPeerId()
const token = await newToken(authority)
const certPayload = {
  v: 1, mesh: MESH, peerId: peer, wgPublicKey: WG, prefix: PREFIX, issuedAt: NOW, expiresAt: NOW + HOUR, token: toBase64url(token.envelope)
}
const revPayload = { v: 1, mesh: MESH, peerId: peer, tokenId: null, revokedAt: NOW, reason: 'fuzz' }

/** Edge values for the admission fields. */
const nearValid: fc.Arbitrary<unknown> = fc.oneof(
  nastyJson,
  fc.constantFrom(MESH, 'other', 'Upper', '', 'a'.repeat(64), peer, `${peer}0`, 'O0Il', token.claims.tokenId, token.claims.tokenId.toUpperCase(),
    'fd5e:1a2b:3c4d:12:0::/64', 'fd5e:1a2b:3c4d:12::1/64', 'FD5E:1a2b:3c4d:12::/64', 'fd5e:1a2b:3c4d:12::/63', WG.toLowerCase(),
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', NOW - HOUR, NOW + CLOCK_SKEW_MS, NOW + CLOCK_SKEW_MS + 1, NOW + 25 * HOUR,
    token.claims.expiresAt, token.claims.expiresAt + 1, 0, -1, 1.5, 2 ** 53, toBase64url(token.envelope).slice(1), `${toBase64url(token.envelope)}A`, 'x'.repeat(201)),
  anyString(60)
)

/** Seals `payload` under `kind`; null when even the sealer refuses (oversized), which the decoder side never sees. */
async function seal (kind: typeof CERT_KIND, payload: object, key = authority): Promise<Uint8Array | null> {
  try { return await sealJson(kind, payload, key) } catch { return null }
}

test('oracle sanity: known-good certificate, claims, revocation, authority id and key text are accepted', async () => {
  const cert = await verifyCertificate((await issueCertificate({ token, peerId: peer, wgPublicKey: WG, prefix: PREFIX, now: NOW, ttlMs: HOUR })).bytes, { ...anchor, now: NOW })
  assert.is(cert.prefix, PREFIX)
  assert.is((await verifyCertificate((await seal(CERT_KIND, certPayload, token.privateKey))!, { ...anchor, now: NOW })).peerId, peer)
  assert.equal((await verifyTokenClaims(token.envelope, anchor)).claims, token.claims)
  assert.is((await verifyRevocation((await seal(REVOCATION_KIND, revPayload))!, anchor)).peerId, peer)
  const id = formatAuthorityId(MESH, authority.publicKey)
  assert.is(parseAuthorityId(id).text, id)
  assert.is(parseWgPublicKey(WG), WG)
  assert.ok(parseSwarmKey(generateSwarmKey(), '/k').length > 0)
})

test('certificates: correctly signed payloads with fuzzed fields are refused with a reason, or re-verify', async () => {
  await fc.assert(fc.asyncProperty(fieldEditsArb(certPayload, nearValid), async p => {
    const bytes = await seal(CERT_KIND, p, token.privateKey)
    if (bytes === null) return
    const r = await outcome(async () => await verifyCertificate(bytes, { ...anchor, now: NOW }), RECORD, REASONS)
    if (!r.ok) return
    const c = r.value
    assert.equal(await verifyCertificate(c.bytes, { ...anchor, now: NOW }), c)
    assert.is(parseIpv6Prefix(c.prefix), c.prefix)
    assert.is(prefixLength(c.prefix), 64)
    assert.is(parseWgPublicKey(c.wgPublicKey), c.wgPublicKey)
    assert.ok(c.mesh === MESH && c.expiresAt > NOW && c.issuedAt <= NOW + CLOCK_SKEW_MS && c.expiresAt - c.issuedAt <= c.token.maxCertTtlMs)
  }), params(500))
})

test('token claims: authority-signed claims with fuzzed fields are refused with a reason, or re-validate', async () => {
  await fc.assert(fc.asyncProperty(fieldEditsArb({ ...token.claims }, nearValid), async claims => {
    const bytes = await seal(TOKEN_KIND, claims)
    if (bytes === null) return
    const r = await outcome(async () => await verifyTokenClaims(bytes, anchor), RECORD, REASONS)
    if (!r.ok) return
    assert.ok(tokenClaimsSchema.safeParse(r.value.claims).success)
    assert.is(r.value.claims.mesh, MESH)
    assert.is(toBase64url(publicKeyToProtobuf(r.value.tokenKey)), r.value.claims.tokenPublicKey)
  }), params(400))
})

test('revocations: authority-signed payloads with fuzzed fields are refused with a reason, or re-verify with one target', async () => {
  await fc.assert(fc.asyncProperty(fieldEditsArb(revPayload, nearValid), async p => {
    const bytes = await seal(REVOCATION_KIND, p)
    if (bytes === null) return
    const r = await outcome(async () => await verifyRevocation(bytes, anchor), RECORD, REASONS)
    if (!r.ok) return
    assert.ok((r.value.peerId === null) !== (r.value.tokenId === null), 'not exactly one target')
    assert.is(r.value.id, revocationIdOf(r.value))
    assert.equal(await verifyRevocation(encodeRevocation(r.value), anchor), r.value)
    assert.equal(parseRevocationKey(revocationKey(MESH, r.value.id)), { mesh: MESH, id: r.value.id })
  }), params(400))
})

test('revocation DHT keys: random keys are refused, accepted ones round-trip', () => {
  const arb = fc.oneof(anyString(200), fc.tuple(fc.constantFrom('gridmesh', 'x', ''), anyString(20), fc.constantFrom('revocation', 'node'), fc.constantFrom('peer-', 'token-', ''), anyString(140))
    .map(([ns, m, k, p, id]) => `/${ns}/${m}/${k}/${p}${id}`), fc.uint8Array({ maxLength: 200 }))
  fc.assert(fc.property(arb, k => {
    const r = outcomeSync(() => parseRevocationKey(k), RECORD, REASONS)
    if (r.ok) assert.is(revocationKey(r.value.mesh, r.value.id), typeof k === 'string' ? k : new TextDecoder().decode(k))
  }), params(2000))
})

test('persisted revocation list: random, field-edited and mutated JSON is STATE_CORRUPT, or a set that round-trips', async () => {
  const set = new RevocationSet(MESH)
  set.add(await createRevocation({ authority, mesh: MESH, target: { peerId: peer }, now: NOW }))
  set.add(await createRevocation({ authority, mesh: MESH, target: { tokenId: token.claims.tokenId }, now: NOW }))
  const valid = set.toJSON()
  const text = JSON.stringify(valid)
  assert.equal((await RevocationSet.fromJSON(valid, anchor)).toJSON(), valid, 'oracle sanity')
  const arb = fc.oneof(
    nastyJson,
    fieldEditsArb(valid as unknown as Record<string, unknown>, fc.oneof(nastyJson, fc.constantFrom([], ['gmr1.'], [...valid.revocations, ...valid.revocations], 'other'))),
    fc.oneof(oneMutationArb, mutationsArb).map(ops => { try { return JSON.parse(mutateText(text, ops)) as unknown } catch { return null } })
  )
  await fc.assert(fc.asyncProperty(arb, async json => {
    const r = await outcome(async () => await RevocationSet.fromJSON(json, anchor), [ErrorCodes.STATE_CORRUPT])
    if (!r.ok) return
    const again = await RevocationSet.fromJSON(r.value.toJSON(), anchor)
    assert.equal(again.toJSON(), r.value.toJSON())
    for (const rev of r.value.list()) assert.ok(valid.revocations.includes(encodeRevocation(rev)), 'a revocation the authority never signed was loaded')
  }), params(1000))
})

test('authority ids: random and mutated ids are CONFIG_INVALID, or parse to their own canonical text', () => {
  const id = formatAuthorityId(MESH, authority.publicKey)
  const arb = fc.oneof(
    anyString(300),
    fc.tuple(fc.constantFrom('gm1', 'gm2', ''), anyString(20), anyString(60)).map(([p, m, k]) => `${p}:${m}:${k}`),
    fc.oneof(oneMutationArb, mutationsArb).map(ops => mutateText(id, ops))
  )
  fc.assert(fc.property(arb, s => {
    const r = outcomeSync(() => parseAuthorityId(s), [ErrorCodes.CONFIG_INVALID])
    if (!r.ok) return
    assert.is(r.value.text, s.trim())
    assert.is(formatAuthorityId(r.value.mesh, r.value.publicKey), r.value.text)
    assert.is(r.value.publicKey.type, 'Ed25519')
  }), params(2000))
})

test('Ed25519 key files: decoding never throws; anything accepted is exactly the canonical encoding of a consistent key', async () => {
  const key = await generateKeyPair('Ed25519')
  const good = privateKeyToProtobuf(key)
  const sane = await decodeEd25519PrivateKey(good)
  assert.ok(typeof sane !== 'string' && sane.equals(key), 'oracle sanity')
  const arb = fc.oneof(fc.uint8Array({ maxLength: 120 }), fc.oneof(oneMutationArb, mutationsArb).map(ops => mutate(good, ops)))
  await fc.assert(fc.asyncProperty(arb, async bytes => {
    let r
    try { r = await decodeEd25519PrivateKey(bytes) } catch (err) { throw new Error(`decodeEd25519PrivateKey threw ${String(err)}`) }
    if (typeof r === 'string') { assert.ok(r.length > 0); return }
    assert.ok(sameBytes(privateKeyToProtobuf(r), bytes), 'accepted non-canonical bytes')
    assert.ok(r.equals(key), 'a mutated key file decoded to a different identity')
  }), params(600))
})

test('swarm keys and WireGuard key text: random and mutated text is refused with the documented code, or is canonical', () => {
  const swarm = generateSwarmKey()
  const hex = wgKeyToHex(parseWgPublicKey(WG))
  const arb = fc.oneof(anyString(120), fc.oneof(oneMutationArb, mutationsArb).map(ops => mutateText(swarm, ops)),
    fc.oneof(oneMutationArb, mutationsArb).map(ops => mutateText(WG, ops)), fc.oneof(oneMutationArb, mutationsArb).map(ops => mutateText(hex, ops)))
  fc.assert(fc.property(arb, s => {
    const sk = outcomeSync(() => parseSwarmKey(s, '/k'), [ErrorCodes.CONFIG_INVALID])
    if (sk.ok) {
      const text = new TextDecoder().decode(sk.value)
      assert.match(text, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
      assert.equal(parseSwarmKey(text, '/k'), sk.value)
    }
    const pub = outcomeSync(() => parseWgPublicKey(s), RECORD)
    if (pub.ok) assert.is(Buffer.from(pub.value, 'base64').toString('base64'), s)
    const priv = outcomeSync(() => parseWgPrivateKey(s), [ErrorCodes.KEY_CORRUPT])
    assert.is(priv.ok, pub.ok)
    const fromHex = outcomeSync(() => wgPublicKeyFromHex(s), [ErrorCodes.DRIVER_FAILED])
    if (fromHex.ok) assert.is(wgKeyToHex(fromHex.value), s)
  }), params(2000))
})

test.run()
