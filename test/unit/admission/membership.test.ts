/**
 * Membership that time alone never ends: a join token bounds when it can be
 * redeemed, not how long its members stay. Real redeem/issue/verify
 * functions (and the daemon's renewal decision) on an injected clock.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { CERT_KIND, MAX_CERT_BYTES, issueMemberCertificate, verifyCertificate } from '../../../src/admission/certificate.ts'
import type { Certificate } from '../../../src/admission/certificate.ts'
import { REDEMPTION_KIND, redeemToken, verifyRedemption } from '../../../src/admission/redemption.ts'
import type { Redemption } from '../../../src/admission/redemption.ts'
import { TOKEN_KIND, createToken } from '../../../src/admission/token.ts'
import type { JoinToken } from '../../../src/admission/token.ts'
import { createRevocation } from '../../../src/admission/revocation.ts'
import { RevocationSet } from '../../../src/admission/revocation-set.ts'
import { sealJson, toBase64url } from '../../../src/admission/codec.ts'
import { needsNewCertificate } from '../../../src/daemon/admission.ts'
import { DAY, HOUR, MESH, NOW, PREFIX, WG, newAuthority, newToken, reasonOf } from './helpers.ts'

const authority = await newAuthority()
const anchor = { mesh: MESH, authority: authority.publicKey }

interface Member { name: string, key: Ed25519PrivateKey, peerId: string, redemption: Redemption, cert: Certificate | null }

async function newKey (): Promise<{ key: Ed25519PrivateKey, peerId: string }> {
  const key = await generateKeyPair('Ed25519')
  return { key, peerId: peerIdFromPrivateKey(key).toString() }
}

/** A version-1 token as `gridmesh invite` made them before redeem-by semantics (no memberUntil). */
async function legacyToken (): Promise<JoinToken> {
  const t = await newToken(authority)
  const { v: _v, memberUntil: _m, ...rest } = t.claims as { v: 2, memberUntil: number | null } & typeof t.claims
  const claims = { v: 1 as const, ...rest }
  return { ...t, claims, envelope: await sealJson(TOKEN_KIND, claims, authority) }
}

async function member (name: string, token: JoinToken, at: number): Promise<Member> {
  const { key, peerId } = await newKey()
  return { name, key, peerId, redemption: await redeemToken({ token, peerId, now: at }), cert: null }
}

async function renew (m: Member, now: number): Promise<void> {
  if (needsNewCertificate(m.cert, PREFIX, now, m)) {
    m.cert = await issueMemberCertificate({ redemption: m.redemption, key: m.key, wgPublicKey: WG, prefix: PREFIX, now })
  }
}

test('a v2 certificate: signed by the member, carries its redemption, fits a node record', async () => {
  const token = await newToken(authority)
  const m = await member('a', token, NOW)
  await renew(m, NOW)
  const cert = m.cert!
  const c = await verifyCertificate(cert.bytes, { ...anchor, now: NOW + 1000 })
  assert.is(c.peerId, m.peerId)
  assert.is(c.redeemedAt, NOW)
  assert.is(c.expiresAt, NOW + DAY)
  assert.is(c.token.tokenId, token.claims.tokenId)
  assert.ok(cert.bytes.length < MAX_CERT_BYTES, `certificate is ${cert.bytes.length} bytes`)
  assert.ok(toBase64url(cert.bytes).length <= 2800, 'fits the record cert field')
  // Renewal long after the token's redeem-by date needs only the member's key.
  const later = await issueMemberCertificate({ redemption: m.redemption, key: m.key, wgPublicKey: WG, prefix: PREFIX, now: NOW + 90 * DAY })
  assert.is((await verifyCertificate(later.bytes, { ...anchor, now: NOW + 90 * DAY + 1 })).redeemedAt, NOW)
})

test('the redeem-by rule and each v2 rejection, with crafted inputs', async () => {
  const token = await newToken(authority)
  const m = await member('a', token, NOW)
  const other = await newKey()
  const opts = { ...anchor, now: NOW + 10 * DAY }
  const rawV2 = async (over: Record<string, unknown>, key: Ed25519PrivateKey = m.key): Promise<Uint8Array> => await sealJson(CERT_KIND, {
    v: 2, mesh: MESH, peerId: m.peerId, wgPublicKey: WG, prefix: PREFIX, issuedAt: NOW + 10 * DAY, expiresAt: NOW + 10 * DAY + HOUR,
    redemption: toBase64url(m.redemption.bytes), ...over
  }, key)
  const v = (bytes: Uint8Array) => async () => await verifyCertificate(bytes, opts)
  assert.ok((await verifyCertificate(await rawV2({}), opts)).peerId === m.peerId, 'the crafted baseline is valid')
  // Honest nodes cannot redeem an expired token.
  assert.is(await reasonOf(async () => await redeemToken({ token, peerId: other.peerId, now: NOW + 7 * DAY })), 'token-expired')
  // A redemption dated after the redeem-by date is refused even when the token key signed it.
  const late = await sealJson(REDEMPTION_KIND, { v: 1, mesh: MESH, peerId: other.peerId, redeemedAt: NOW + 7 * DAY, token: toBase64url(token.envelope) }, token.privateKey)
  assert.is(await reasonOf(async () => await verifyRedemption(late, anchor)), 'token-expired')
  assert.is(await reasonOf(v(await rawV2({ peerId: other.peerId, redemption: toBase64url(late) }, other.key))), 'token-expired')
  // Another peer's certificate key, or another peer's redemption.
  assert.is(await reasonOf(v(await rawV2({}, other.key))), 'cert-bad-signature')
  assert.is(await reasonOf(v(await rawV2({ peerId: other.peerId }, other.key))), 'token-wrong-peer')
  // A redemption signed by someone else than the token key (a forged join).
  const forged = await sealJson(REDEMPTION_KIND, { v: 1, mesh: MESH, peerId: m.peerId, redeemedAt: NOW, token: toBase64url(token.envelope) }, m.key)
  assert.is(await reasonOf(v(await rawV2({ redemption: toBase64url(forged) }))), 'redemption-bad-signature')
  // Dated before the redemption, TTL beyond the token's, expired, from another authority.
  assert.is(await reasonOf(v(await rawV2({ issuedAt: NOW - 1 }))), 'cert-malformed')
  assert.is(await reasonOf(v(await rawV2({ expiresAt: NOW + 12 * DAY }))), 'cert-ttl-too-long')
  assert.is(await reasonOf(async () => await verifyCertificate(await rawV2({}), { ...opts, now: NOW + 11 * DAY })), 'cert-expired')
  assert.is(await reasonOf(async () => await verifyCertificate(await rawV2({}), { ...opts, authority: (await newAuthority()).publicKey })), 'token-bad-signature')
})

test('a bound token never admits another PeerId, before or after its redeem-by date', async () => {
  const bound = await newKey()
  const thief = await newKey()
  const token = await newToken(authority, { peerId: bound.peerId })
  assert.is(await reasonOf(async () => await redeemToken({ token, peerId: thief.peerId, now: NOW })), 'token-wrong-peer')
  // Even with the stolen token key and a back-dated redemption, the authority's binding refuses it.
  const r = await sealJson(REDEMPTION_KIND, { v: 1, mesh: MESH, peerId: thief.peerId, redeemedAt: NOW, token: toBase64url(token.envelope) }, token.privateKey)
  assert.is(await reasonOf(async () => await verifyRedemption(r, anchor)), 'token-wrong-peer')
})

test('the documented limit: a leaked REUSABLE token can sign a back-dated redemption; revoking the token ends it', async () => {
  // No trusted clock with an offline authority: redeemedAt is the redeemer's word (see redemption.ts).
  const token = await newToken(authority)
  const thief = await newKey()
  const backDated = await sealJson(REDEMPTION_KIND, { v: 1, mesh: MESH, peerId: thief.peerId, redeemedAt: NOW, token: toBase64url(token.envelope) }, token.privateKey)
  const r = await verifyRedemption(backDated, anchor)
  const cert = await issueMemberCertificate({ redemption: r, key: thief.key, wgPublicKey: WG, prefix: PREFIX, now: NOW + 30 * DAY })
  assert.ok((await verifyCertificate(cert.bytes, { ...anchor, now: NOW + 30 * DAY })).peerId === thief.peerId, 'accepted: this is the limit the README states')
  const revocations = new RevocationSet(MESH)
  revocations.add(await createRevocation({ authority, mesh: MESH, target: { tokenId: token.claims.tokenId }, now: NOW + 30 * DAY }))
  assert.is(await reasonOf(async () => await verifyCertificate(cert.bytes, { ...anchor, now: NOW + 30 * DAY, revoked: revocations.isRevoked })), 'revoked')
})

test('--member-for: certificates stop at memberUntil, then the membership ends', async () => {
  const token = await createToken({ authority, mesh: MESH, now: NOW, lifetimeMs: 7 * DAY, peerId: null, maxCertTtlMs: DAY, memberForMs: 30 * DAY })
  const m = await member('a', token, NOW + DAY)
  const near = await issueMemberCertificate({ redemption: m.redemption, key: m.key, wgPublicKey: WG, prefix: PREFIX, now: NOW + 30 * DAY - HOUR })
  assert.is(near.expiresAt, NOW + 30 * DAY, 'the last certificate is clamped to memberUntil')
  assert.ok((await verifyCertificate(near.bytes, { ...anchor, now: NOW + 30 * DAY - 1 })).peerId === m.peerId)
  assert.is(await reasonOf(async () => await issueMemberCertificate({ redemption: m.redemption, key: m.key, wgPublicKey: WG, prefix: PREFIX, now: NOW + 30 * DAY })), 'membership-ended')
  const past = await sealJson(CERT_KIND, {
    v: 2, mesh: MESH, peerId: m.peerId, wgPublicKey: WG, prefix: PREFIX, issuedAt: NOW + 30 * DAY - HOUR, expiresAt: NOW + 30 * DAY + HOUR,
    redemption: toBase64url(m.redemption.bytes)
  }, m.key)
  assert.is(await reasonOf(async () => await verifyCertificate(past, { ...anchor, now: NOW + 30 * DAY - HOUR })), 'membership-ended')
  assert.is(await reasonOf(async () => await redeemToken({ token, peerId: m.peerId, now: NOW + 31 * DAY })), 'token-expired')
})

test('400 simulated days: a closed mesh stays whole across token expiry and renewals; only the revoked member drops out', async () => {
  const reusable = await newToken(authority) // redeem-by NOW + 7 d, certificates 24 h
  const legacy = await legacyToken() // a v1 token: meshes joined before this change keep working
  const late = await newToken(authority, { peerId: null }) // a second invite, used on day 5
  const members = [
    await member('a', reusable, NOW),
    await member('b', reusable, NOW + HOUR),
    await member('c', legacy, NOW + 2 * HOUR),
    await member('d', reusable, NOW + 6 * DAY),
    await member('e', late, NOW + 5 * DAY)
  ]
  const revocations = new RevocationSet(MESH)
  const REVOKE_AT = NOW + 200 * DAY
  const revoked = members[3]!
  const STEP = 4 * HOUR // the daemon checks every 30 s; a 24 h certificate renews with 8 h left, so 4 h steps never miss
  let renewals = 0
  let checks = 0
  for (let now = NOW + 6 * DAY; now <= NOW + 400 * DAY; now += STEP) {
    if (now >= REVOKE_AT && revocations.size === 0) {
      const rev = await createRevocation({ authority, mesh: MESH, target: { peerId: revoked.peerId }, now, reason: 'drill' })
      assert.is(revocations.add(rev), 'added')
    }
    for (const m of members) {
      const before = m.cert
      await renew(m, now)
      if (m.cert !== before) renewals++
    }
    // Every member checks every other's current certificate; the check does not depend on the
    // verifier, so verify each once and assert it for all.
    for (const m of members) {
      const verdict = await verifyCertificate(m.cert!.bytes, { ...anchor, now, revoked: revocations.isRevoked })
        .then(() => 'ok', (err: unknown) => String((err as { meta?: { reason?: string } }).meta?.reason))
      checks++
      const expected = m === revoked && now >= REVOKE_AT ? 'revoked' : 'ok'
      if (verdict !== expected) assert.unreachable(`day ${((now - NOW) / DAY).toFixed(2)}: member ${m.name} → ${verdict}, expected ${expected}`)
    }
  }
  assert.ok(renewals >= 5 * 390, `certificates renewed ${renewals} times`)
  assert.ok(checks > 10_000)
})

test.run()
