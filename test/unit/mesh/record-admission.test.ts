/**
 * Closed-mesh record rules: a record is accepted only with a certificate the
 * authority vouches for that binds the record's signer, WireGuard key and
 * /64; each mismatch is refused with its own reason, everywhere a record is
 * accepted (decodeRecord, DHT validator, selector). Open meshes ignore certs.
 */
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeRecord, decodeRecord } from '../../../src/mesh/record.ts'
import { createRecordAdmission } from '../../../src/mesh/record-admission.ts'
import { createRecordValidator, createRecordSelector, createSeqHighWater, recordKey } from '../../../src/mesh/record-dht.ts'
import { issueCertificate } from '../../../src/admission/certificate.ts'
import { toBase64url } from '../../../src/admission/codec.ts'
import { createRevocation, encodeRevocation, revocationKey } from '../../../src/admission/revocation.ts'
import { RevocationSet } from '../../../src/admission/revocation-set.ts'
import { newIdentity, samplePayload, rejectionReason } from './helpers.ts'
import { MESH, NOW, HOUR, WG, PREFIX, newAuthority, newToken, rawCert } from '../admission/helpers.ts'
import type { WgPublicKey } from '../../../src/keys/types.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'

const authority = await newAuthority()
const anchor = { mesh: MESH, authority: authority.publicKey }
const token = await newToken(authority)
const revocations = new RevocationSet(MESH)
const admit = createRecordAdmission({ anchor, revoked: revocations.isRevoked })
const a = await newIdentity()
const b = await newIdentity()

async function certFor (peerId: string, over: { wg?: WgPublicKey, prefix?: Ipv6Prefix } = {}): Promise<string> {
  const c = await issueCertificate({ token, peerId, wgPublicKey: over.wg ?? WG, prefix: over.prefix ?? PREFIX, now: NOW, ttlMs: HOUR })
  return toBase64url(c.bytes)
}
const record = async (cert: string | undefined, signer = a): Promise<Uint8Array> =>
  await encodeRecord(samplePayload(signer.peerId, cert === undefined ? {} : { cert }, NOW), signer.privateKey)
const closed = (bytes: Uint8Array) => async () => await decodeRecord(bytes, { mesh: MESH, now: NOW, admit })

test('a record with its own valid certificate is accepted, and fits in MAX_RECORD_BYTES', async () => {
  const bytes = await record(await certFor(a.peerId))
  const r = await decodeRecord(bytes, { mesh: MESH, now: NOW, admit })
  assert.is(r.peerId, a.peerId)
  assert.ok(bytes.length < 3000, `${bytes.length} bytes`)
})

test('each binding mismatch is refused with its reason', async () => {
  assert.is(await rejectionReason(closed(await record(undefined))), 'cert-missing')
  // B's certificate wrapped in A's record: signer ≠ cert peer
  assert.is(await rejectionReason(closed(await record(await certFor(b.peerId)))), 'cert-mismatch')
  const otherWg = randomBytes(32).toString('base64') as WgPublicKey
  assert.is(await rejectionReason(closed(await record(await certFor(a.peerId, { wg: otherWg })))), 'cert-mismatch')
  assert.is(await rejectionReason(closed(await record(await certFor(a.peerId, { prefix: 'fd5e:1a2b:3c4d:13::/64' as Ipv6Prefix })))), 'cert-mismatch')
  assert.is(await rejectionReason(closed(await record('not*base64'.replace('*', '_') + 'x'))), 'cert-malformed')
})

test('certificates the authority did not vouch for are refused with the admission reason', async () => {
  const rogue = await newToken(await newAuthority())
  const c = await issueCertificate({ token: rogue, peerId: a.peerId, wgPublicKey: WG, prefix: PREFIX, now: NOW, ttlMs: HOUR })
  assert.is(await rejectionReason(closed(await record(toBase64url(c.bytes)))), 'token-bad-signature')
  const expired = toBase64url(await rawCert(token, { peerId: a.peerId, issuedAt: NOW - 2 * HOUR, expiresAt: NOW - HOUR }))
  assert.is(await rejectionReason(closed(await record(expired))), 'cert-expired')
})

test('a revoked peer is refused; open meshes ignore certificates', async () => {
  const bytes = await record(await certFor(b.peerId), b)
  await decodeRecord(bytes, { mesh: MESH, now: NOW, admit })
  const set = new RevocationSet(MESH)
  set.add(await createRevocation({ authority, mesh: MESH, target: { peerId: b.peerId }, now: NOW }))
  const strict = createRecordAdmission({ anchor, revoked: set.isRevoked })
  assert.is(await rejectionReason(async () => await decodeRecord(bytes, { mesh: MESH, now: NOW, admit: strict })), 'revoked')
  // open mesh: with or without a cert, fine
  await decodeRecord(bytes, { mesh: MESH, now: NOW })
  await decodeRecord(await record(undefined), { mesh: MESH, now: NOW })
})

test('DHT validator and selector apply the certificate rule; revocation keys validate with the authority', async () => {
  const clock = { now: () => NOW }
  const seqs = createSeqHighWater()
  const validate = createRecordValidator({ mesh: MESH, clock, highWater: p => seqs.get(p), admit, anchor })
  const key = new TextEncoder().encode(recordKey(MESH, a.peerId))
  const good = await record(await certFor(a.peerId))
  await validate(key, good)
  assert.is(await rejectionReason(async () => { await validate(key, await record(undefined)) }), 'cert-missing')
  const select = createRecordSelector({ mesh: MESH, clock, admit, anchor })
  const noCert = await encodeRecord(samplePayload(a.peerId, { seq: 9 }, NOW), a.privateKey)
  assert.is(await select(key, [noCert, good]), 1, 'a higher seq without a certificate loses')

  const rev = await createRevocation({ authority, mesh: MESH, target: { peerId: b.peerId }, now: NOW })
  const rkey = new TextEncoder().encode(revocationKey(MESH, rev.id))
  await validate(rkey, rev.bytes)
  const forged = await createRevocation({ authority: await newAuthority(), mesh: MESH, target: { peerId: b.peerId }, now: NOW })
  assert.is(await rejectionReason(async () => { await validate(rkey, forged.bytes) }), 'revocation-bad-signature')
  const wrongId = new TextEncoder().encode(revocationKey(MESH, `peer-${a.peerId}`))
  assert.is(await rejectionReason(async () => { await validate(wrongId, rev.bytes) }), 'bad-key')
  assert.is(await select(rkey, [forged.bytes, rev.bytes]), 1)
  const open = createRecordValidator({ mesh: MESH, clock, highWater: () => 0 })
  assert.is(await rejectionReason(async () => { await open(rkey, rev.bytes) }), 'bad-key')
  assert.ok(encodeRevocation(rev).startsWith('gmr1.'))
})

test.run()
