import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CLOCK_SKEW_MS, MAX_CERT_BYTES, issueCertificate, needsRenewal, renewalTtl, verifyCertificate } from '../../../src/admission/certificate.ts'
import { REVOCATION_KIND } from '../../../src/admission/revocation.ts'
import { TOKEN_KIND } from '../../../src/admission/token.ts'
import { sealJson, toBase64url } from '../../../src/admission/codec.ts'
import { DAY, HOUR, MESH, NOW, PREFIX, WG, newAuthority, newPeerId, newToken, rawCert, reasonOf } from './helpers.ts'

const authority = await newAuthority()
const other = await newAuthority()
const peer = await newPeerId()
const peer2 = await newPeerId()
const token = await newToken(authority)
const opts = { mesh: MESH, authority: authority.publicKey, now: NOW + 1000 }
const good = await issueCertificate({ token, peerId: peer, wgPublicKey: WG, prefix: PREFIX, now: NOW, ttlMs: HOUR })

test('issue then verify keeps every field', async () => {
  const c = await verifyCertificate(good.bytes, opts)
  assert.equal({ ...c, token: c.token.tokenId }, {
    mesh: MESH, peerId: peer, wgPublicKey: WG, prefix: PREFIX, issuedAt: NOW, expiresAt: NOW + HOUR, redeemedAt: NOW, token: token.claims.tokenId, bytes: good.bytes
  })
  assert.ok(good.bytes.length < 1100, `certificate is ${good.bytes.length} bytes`)
})

test('each rejection reason, with a crafted input', async () => {
  const v = (bytes: Uint8Array, o: Partial<typeof opts> & { revoked?: (p: string, t: string) => boolean } = {}) => async () => await verifyCertificate(bytes, { ...opts, ...o })
  // token signed by another authority (a forged token), cert otherwise perfect
  const forged = await newToken(other)
  assert.is(await reasonOf(v(await rawCert(forged, { peerId: peer }))), 'token-bad-signature')
  // genuine certificate, verifier trusts another authority
  assert.is(await reasonOf(v(good.bytes, { authority: other.publicKey })), 'token-bad-signature')
  // token for another mesh from our authority
  const otherMesh = await newToken(authority, { mesh: 'othermesh' })
  assert.is(await reasonOf(v(await rawCert(otherMesh, { peerId: peer, mesh: MESH }))), 'token-wrong-mesh')
  // cert claiming another mesh than its token
  assert.is(await reasonOf(v(await rawCert(token, { peerId: peer, mesh: 'othermesh' }))), 'cert-wrong-mesh')
  // our whole chain, verifier in another mesh
  assert.is(await reasonOf(v(good.bytes, { mesh: 'othermesh' })), 'token-wrong-mesh')
  // signed by another token's key
  const token2 = await newToken(authority)
  assert.is(await reasonOf(v(await rawCert(token, { peerId: peer }, token2.privateKey))), 'cert-bad-signature')
  // signed by the authority itself (not the token key)
  assert.is(await reasonOf(v(await rawCert(token, { peerId: peer }, authority))), 'cert-bad-signature')
  // token already expired at issuance (backdated tokens can't mint new certs)
  const shortTok = await newToken(authority, { lifetimeMs: HOUR })
  assert.is(await reasonOf(v(await rawCert(shortTok, { peerId: peer, issuedAt: NOW + 2 * HOUR, expiresAt: NOW + 3 * HOUR }), { now: NOW + 2 * HOUR })), 'token-expired')
  // issued exactly at token expiry also counts as after
  assert.is(await reasonOf(v(await rawCert(shortTok, { peerId: peer, issuedAt: NOW + HOUR, expiresAt: NOW + 2 * HOUR }), { now: NOW + HOUR })), 'token-expired')
  // ...but a cert issued before expiry stays valid until its own expiry
  await verifyCertificate(await rawCert(shortTok, { peerId: peer, issuedAt: NOW + HOUR - 1, expiresAt: NOW + 2 * HOUR - 1 }), { ...opts, now: NOW + HOUR + 10 })
  // TTL beyond the token's max
  assert.is(await reasonOf(v(await rawCert(token, { peerId: peer, expiresAt: NOW + DAY + 1 }))), 'cert-ttl-too-long')
  // bound token, cert for another peer
  const bound = await newToken(authority, { peerId: peer })
  assert.is(await reasonOf(v(await rawCert(bound, { peerId: peer2 }))), 'token-wrong-peer')
  await verifyCertificate(await rawCert(bound, { peerId: peer }), opts)
  // time window
  assert.is(await reasonOf(v(good.bytes, { now: NOW + HOUR })), 'cert-expired')
  assert.is(await reasonOf(v(await rawCert(token, { peerId: peer, issuedAt: NOW + CLOCK_SKEW_MS + 2000, expiresAt: NOW + HOUR }))), 'cert-not-yet-valid')
  await verifyCertificate(await rawCert(token, { peerId: peer, issuedAt: NOW + CLOCK_SKEW_MS, expiresAt: NOW + HOUR }), opts)
  // revocation
  assert.is(await reasonOf(v(good.bytes, { revoked: p => p === peer })), 'revoked')
  assert.is(await reasonOf(v(good.bytes, { revoked: (_p, t) => t === token.claims.tokenId })), 'revoked')
  // shape
  assert.is(await reasonOf(v(await rawCert(token, { peerId: peer, extra: 1 }))), 'cert-malformed')
  assert.is(await reasonOf(v(await rawCert(token, { peerId: peer, prefix: 'fd5e:1a2b:3c4d:12::/48' }))), 'cert-malformed')
  assert.is(await reasonOf(v(await rawCert(token, { peerId: peer, prefix: 'FD5E:1a2b:3c4d:12::/64' }))), 'cert-malformed')
  assert.is(await reasonOf(v(await rawCert(token, { peerId: peer, expiresAt: NOW }))), 'cert-malformed')
  assert.is(await reasonOf(v(await rawCert(token, { peerId: peer, token: 'not*base64' }))), 'cert-malformed')
  assert.is(await reasonOf(v(new Uint8Array(MAX_CERT_BYTES + 1))), 'cert-oversized')
  assert.is(await reasonOf(v(new Uint8Array([1, 2, 3]))), 'cert-malformed')
  assert.is(await reasonOf(v(new Uint8Array(0))), 'cert-malformed')
  assert.is(await reasonOf(v(Uint8Array.from([...good.bytes, 0]))), 'cert-malformed')
})

test('domain separation: a token or revocation envelope is never a certificate, and vice versa', async () => {
  const v = (bytes: Uint8Array) => async () => await verifyCertificate(bytes, opts)
  assert.is(await reasonOf(v(token.envelope)), 'cert-malformed') // payload type differs
  // same payload type, but signed under the token domain: the signature must not verify
  const { CERT_KIND } = await import('../../../src/admission/certificate.ts')
  const crossDomain = { ...CERT_KIND, domain: TOKEN_KIND.domain }
  const payload = { v: 1, mesh: MESH, peerId: peer, wgPublicKey: WG, prefix: PREFIX, issuedAt: NOW, expiresAt: NOW + HOUR, token: toBase64url(token.envelope) }
  assert.is(await reasonOf(v(await sealJson(crossDomain, payload, token.privateKey))), 'cert-bad-signature')
  assert.is(await reasonOf(v(await sealJson({ ...CERT_KIND, domain: REVOCATION_KIND.domain }, payload, token.privateKey))), 'cert-bad-signature')
})

test('every single bit flip is rejected with a GridmeshError', async () => {
  for (let i = 0; i < good.bytes.length; i++) {
    const flipped = good.bytes.slice()
    flipped[i] = (flipped[i] ?? 0) ^ (1 << (i % 8))
    const reason = await reasonOf(async () => await verifyCertificate(flipped, opts))
    assert.ok(reason.startsWith('cert-') || reason.startsWith('token-'), `byte ${i}: ${reason}`)
  }
})

test('issueCertificate refuses what verifiers refuse', async () => {
  const issue = (o: Record<string, unknown>) => async () => await issueCertificate({ token, peerId: peer, wgPublicKey: WG, prefix: PREFIX, now: NOW, ttlMs: HOUR, ...o })
  assert.is(await reasonOf(issue({ ttlMs: DAY + 1 })), 'cert-ttl-too-long')
  assert.is(await reasonOf(issue({ ttlMs: 0 })), 'cert-ttl-too-long')
  assert.is(await reasonOf(issue({ now: NOW + 7 * DAY })), 'token-expired')
  assert.is(await reasonOf(issue({ token: await newToken(authority, { peerId: peer2 }) })), 'token-wrong-peer')
  assert.is(await reasonOf(issue({ prefix: 'fd00::/48' })), 'cert-malformed')
  assert.is(await reasonOf(issue({ wgPublicKey: 'nope' })), 'cert-malformed')
})

test('renewal: a third of the lifetime left; TTL clamped to the token; expired token says what to do', async () => {
  const cert = { issuedAt: NOW, expiresAt: NOW + 3 * HOUR }
  assert.not.ok(needsRenewal(cert, NOW + 2 * HOUR))
  assert.ok(needsRenewal(cert, NOW + 2 * HOUR + 1))
  assert.ok(needsRenewal(cert, NOW + 4 * HOUR))
  assert.is(renewalTtl(token, NOW), DAY)
  assert.is(renewalTtl(token, NOW + 7 * DAY - HOUR), HOUR)
  try {
    renewalTtl(token, NOW + 7 * DAY)
    assert.unreachable()
  } catch (err) {
    assert.is((err as { meta?: { reason?: string } }).meta?.reason, 'token-expired')
    assert.match((err as Error).message, /new one.*gridmesh invite/)
  }
  // a renewed certificate verifies
  const renewed = await issueCertificate({ token, peerId: peer, wgPublicKey: WG, prefix: PREFIX, now: NOW + 7 * DAY - HOUR, ttlMs: renewalTtl(token, NOW + 7 * DAY - HOUR) })
  await verifyCertificate(renewed.bytes, { ...opts, now: NOW + 7 * DAY - 1 })
  // the clamp: no renewed certificate outlives its token
  assert.is(await reasonOf(async () => await verifyCertificate(renewed.bytes, { ...opts, now: NOW + 7 * DAY })), 'cert-expired')
})

test.run()
