import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import {
  MAX_REVOCATION_BYTES, REVOCATION_KIND, createRevocation, encodeRevocation, parseRevocationKey, revocationKey, verifyRevocation
} from '../../../src/admission/revocation.ts'
import { RevocationSet } from '../../../src/admission/revocation-set.ts'
import { issueCertificate, verifyCertificate } from '../../../src/admission/certificate.ts'
import { sealJson } from '../../../src/admission/codec.ts'
import { HOUR, MESH, NOW, PREFIX, WG, newAuthority, newPeerId, newToken, reasonOf } from './helpers.ts'

const authority = await newAuthority()
const other = await newAuthority()
const anchor = { mesh: MESH, authority: authority.publicKey }
const peer = await newPeerId()
const TOKEN_ID = '0123456789abcdef0123456789abcdef'

test('revocation of a peer and of a token: string and bytes round trip', async () => {
  const rev = await createRevocation({ authority, mesh: MESH, target: { peerId: peer }, now: NOW, reason: 'stolen laptop' })
  const text = encodeRevocation(rev)
  assert.match(text, /^gmr1\.[A-Za-z0-9_-]+$/)
  const back = await verifyRevocation(text, anchor)
  assert.equal({ ...back, bytes: null }, { mesh: MESH, peerId: peer, tokenId: null, revokedAt: NOW, reason: 'stolen laptop', id: `peer-${peer}`, bytes: null })
  assert.equal((await verifyRevocation(rev.bytes, anchor)).id, rev.id)
  const tok = await createRevocation({ authority, mesh: MESH, target: { tokenId: TOKEN_ID }, now: NOW })
  assert.equal({ ...(await verifyRevocation(encodeRevocation(tok), anchor)), bytes: null },
    { mesh: MESH, peerId: null, tokenId: TOKEN_ID, revokedAt: NOW, reason: null, id: `token-${TOKEN_ID}`, bytes: null })
})

test('revocation rejections', async () => {
  const rev = await createRevocation({ authority, mesh: MESH, target: { peerId: peer }, now: NOW })
  const v = (x: Uint8Array | string, a = anchor) => async () => await verifyRevocation(x, a)
  assert.is(await reasonOf(v(rev.bytes, { mesh: MESH, authority: other.publicKey })), 'revocation-bad-signature')
  assert.is(await reasonOf(v((await createRevocation({ authority: other, mesh: MESH, target: { peerId: peer }, now: NOW })).bytes)), 'revocation-bad-signature')
  assert.is(await reasonOf(v(rev.bytes, { ...anchor, mesh: 'othermesh' })), 'revocation-wrong-mesh')
  const raw = (p: object) => sealJson(REVOCATION_KIND, p, authority)
  assert.is(await reasonOf(v(await raw({ v: 1, mesh: MESH, peerId: peer, tokenId: TOKEN_ID, revokedAt: NOW }))), 'revocation-malformed')
  assert.is(await reasonOf(v(await raw({ v: 1, mesh: MESH, peerId: null, tokenId: null, revokedAt: NOW }))), 'revocation-malformed')
  assert.is(await reasonOf(v(await raw({ v: 1, mesh: MESH, peerId: null, tokenId: 'ABC', revokedAt: NOW }))), 'revocation-malformed')
  assert.is(await reasonOf(v(new Uint8Array(MAX_REVOCATION_BYTES + 1))), 'revocation-oversized')
  assert.is(await reasonOf(v(Uint8Array.from([...rev.bytes, 0, 0]))), 'revocation-malformed')
  assert.is(await reasonOf(v(`${encodeRevocation(rev)}.x`)), 'revocation-malformed')
  assert.is(await reasonOf(v('gmr1.' + 'A'.repeat(5000))), 'revocation-oversized')
  const token = await newToken(authority)
  assert.is(await reasonOf(v(token.envelope)), 'revocation-malformed') // another kind's envelope
  assert.is(await reasonOf(async () => await createRevocation({ authority, mesh: MESH, target: { peerId: peer }, now: NOW, reason: 'x'.repeat(201) })), 'revocation-malformed')
})

test('DHT key: /gridmesh/<mesh>/revocation/<id>, parsed back, junk refused', async () => {
  const key = revocationKey(MESH, `peer-${peer}`)
  assert.is(key, `/gridmesh/${MESH}/revocation/peer-${peer}`)
  assert.equal(parseRevocationKey(new TextEncoder().encode(key)), { mesh: MESH, id: `peer-${peer}` })
  assert.equal(parseRevocationKey(revocationKey(MESH, `token-${TOKEN_ID}`)), { mesh: MESH, id: `token-${TOKEN_ID}` })
  for (const bad of ['/gridmesh/testmesh/node/x', '/gridmesh/testmesh/revocation/foo', `/gridmesh/testmesh/revocation/peer-${peer}/x`, '']) {
    assert.is(await reasonOf(async () => parseRevocationKey(bad)), 'revocation-malformed')
  }
  assert.is(await reasonOf(async () => parseRevocationKey(Uint8Array.from([0xff, 0xfe]))), 'revocation-malformed')
})

test('RevocationSet: revokes peers and tokens in certificate checks; idempotent; bounded', async () => {
  const set = new RevocationSet(MESH, 3)
  const token = await newToken(authority)
  const cert = await issueCertificate({ token, peerId: peer, wgPublicKey: WG, prefix: PREFIX, now: NOW, ttlMs: HOUR })
  const check = async (): Promise<unknown> => await verifyCertificate(cert.bytes, { ...anchor, now: NOW, revoked: set.isRevoked })
  await check()
  const byToken = await createRevocation({ authority, mesh: MESH, target: { tokenId: token.claims.tokenId }, now: NOW })
  assert.is(set.add(byToken), 'added')
  assert.is(set.add(byToken), 'known')
  assert.is(await reasonOf(check), 'revoked')
  assert.ok(set.isRevoked('anyone', token.claims.tokenId))
  assert.not.ok(set.isRevoked(peer, TOKEN_ID))
  assert.is(set.add(await createRevocation({ authority, mesh: MESH, target: { peerId: peer }, now: NOW })), 'added')
  assert.ok(set.isRevoked(peer, TOKEN_ID))
  assert.is(set.add(await createRevocation({ authority, mesh: MESH, target: { tokenId: TOKEN_ID }, now: NOW })), 'added')
  assert.is(set.add(await createRevocation({ authority, mesh: MESH, target: { peerId: await newPeerId() }, now: NOW })), 'full')
  assert.is(set.size, 3)
  const foreign = await createRevocation({ authority, mesh: 'othermesh', target: { peerId: peer }, now: NOW })
  assert.is(await reasonOf(async () => set.add(foreign)), 'revocation-wrong-mesh')
})

test('RevocationSet persists as signed strings and re-verifies them on load', async () => {
  const set = new RevocationSet(MESH)
  for (let i = 0; i < 5; i++) set.add(await createRevocation({ authority, mesh: MESH, target: { peerId: await newPeerId() }, now: NOW + i }))
  const json = JSON.parse(JSON.stringify(set)) as ReturnType<RevocationSet['toJSON']>
  const back = await RevocationSet.fromJSON(json, anchor)
  assert.equal(back.list().map(r => r.id), set.list().map(r => r.id))
  const corrupt = async (j: unknown, a = anchor): Promise<string> => {
    try { await RevocationSet.fromJSON(j, a); return 'ok' } catch (err) { return isGridmeshError(err) ? err.code : String(err) }
  }
  assert.is(await corrupt(json, { mesh: MESH, authority: other.publicKey }), ErrorCodes.STATE_CORRUPT)
  assert.is(await corrupt({ ...json, mesh: 'othermesh' }), ErrorCodes.STATE_CORRUPT)
  assert.is(await corrupt({ ...json, extra: 1 }), ErrorCodes.STATE_CORRUPT)
  assert.is(await corrupt({ ...json, revocations: [...json.revocations, 'gmr1.AAAA'] }), ErrorCodes.STATE_CORRUPT)
  assert.is(await corrupt('nonsense'), ErrorCodes.STATE_CORRUPT)
  assert.is(await corrupt(json), 'ok')
  // bounded on load too
  assert.is(await (async () => { try { await RevocationSet.fromJSON(json, anchor, 2); return 'ok' } catch (err) { return isGridmeshError(err) ? err.code : 'x' } })(), ErrorCodes.STATE_CORRUPT)
})

test.run()
