/**
 * A node that missed a revocation's gossip reads it back from the DHT
 * (src/daemon/revocations.ts, with a fake node and membership): a member seen
 * for the first time is refused when the DHT holds its peer or token
 * revocation, is dropped and hung up on, and the gater refuses it from then
 * on. Bad DHT answers change nothing; a slow DHT delays admission only a
 * bounded time; a clear answer is re-checked; the connection gater refuses
 * revoked peers at every stage.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createRevocations } from '../../../src/daemon/revocations.ts'
import { gaterOf } from '../../../src/mesh/libp2p-node.ts'
import { createRecordAdmission } from '../../../src/mesh/record-admission.ts'
import { issueCertificate } from '../../../src/admission/certificate.ts'
import { toBase64url } from '../../../src/admission/codec.ts'
import { createRevocation, encodeRevocation, revocationKey } from '../../../src/admission/revocation.ts'
import { RevocationSet } from '../../../src/admission/revocation-set.ts'
import { testLogger } from '../../../src/log.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { HOUR, MESH, NOW, PREFIX, WG, newAuthority, newPeerId, newToken, reasonOf } from './helpers.ts'
import type { Revocations, RevocationTiming } from '../../../src/daemon/revocations.ts'
import type { ClosedMesh } from '../../../src/daemon/admission.ts'
import type { AuthorityId } from '../../../src/admission/authority.ts'
import type { JoinToken } from '../../../src/admission/token.ts'
import { redeemToken } from '../../../src/admission/redemption.ts'
import type { MemberView } from '../../../src/mesh/membership.ts'
import type { NodeRecord } from '../../../src/mesh/record.ts'

const authority = await newAuthority()
const rogue = await newAuthority()
const anchor = { mesh: MESH, authority: authority.publicKey }
const token = await newToken(authority)
const SELF = await newPeerId()
const selfRedemption = await redeemToken({ token, peerId: SELF, now: NOW })

/** A record of `peerId` carrying a valid certificate from `tok`. */
async function memberRecord (peerId: string, tok: JoinToken = token): Promise<NodeRecord> {
  const cert = await issueCertificate({ token: tok, peerId, wgPublicKey: WG, prefix: PREFIX, now: NOW, ttlMs: HOUR })
  return {
    v: 1, mesh: MESH, peerId, wgPublicKey: WG, endpoints: ['10.0.0.2:51820'], addrs: [], prefix: PREFIX,
    seq: 1, expiresAt: NOW + HOUR, cert: toBase64url(cert.bytes)
  }
}

interface Harness {
  revs: Revocations
  set: RevocationSet
  dht: Map<string, Uint8Array>
  gets: string[]
  puts: string[]
  hungUp: string[]
  evicted: string[]
  members: Map<string, MemberView>
  saves: { n: number }
  clock: { t: number }
  /** Resolves the DHT gets held so far (when `holdGets` is on). */
  release: () => void
  connect: (peer: string) => void
}

function harness (opts: { timing?: Partial<RevocationTiming>, holdGets?: boolean, failSave?: boolean } = {}): Harness {
  const set = new RevocationSet(MESH)
  const dht = new Map<string, Uint8Array>()
  const gets: string[] = []; const puts: string[] = []; const hungUp: string[] = []; const evicted: string[] = []
  const members = new Map<string, MemberView>()
  const saves = { n: 0 }
  const clock = { t: NOW }
  let held: Array<() => void> = []
  let onConnect: ((peer: string) => void) | undefined
  const closed: ClosedMesh = {
    authority: { mesh: MESH, publicKey: authority.publicKey, text: 'unused' } satisfies AuthorityId,
    anchor, redemption: selfRedemption, revocations: set,
    saveRevocations: async () => { if (opts.failSave === true) throw new Error('disk full'); saves.n++ }
  }
  const revs = createRevocations({
    closed, admit: createRecordAdmission({ anchor, revoked: set.isRevoked }), self: SELF, mesh: MESH, log: testLogger(),
    now: () => clock.t,
    timing: { firstLookupWaitMs: 2_000, tickMs: 10, firstPutMs: 10, ...opts.timing },
    node: () => ({
      putRecord: async (key) => { puts.push(key); return { stored: 1, failed: 0 } },
      getRecord: async (key) => {
        gets.push(key)
        if (opts.holdGets === true) await new Promise<void>(resolve => { held.push(resolve) })
        return dht.get(key) ?? null
      },
      hangUp: async (peer) => { hungUp.push(peer) },
      onPeerConnect: (cb) => { onConnect = cb; return () => { onConnect = undefined } }
    }),
    membership: () => ({
      members: () => members,
      evict: (peer) => { evicted.push(peer); members.delete(peer) },
      publishRevocation: async () => {}
    })
  })
  return {
    revs, set, dht, gets, puts, hungUp, evicted, members, saves, clock,
    release: () => { const h = held; held = []; for (const r of h) r() },
    connect: peer => { onConnect?.(peer) }
  }
}

const member = (record: NodeRecord): MemberView => ({ record, state: 'alive', lastHeartbeat: NOW })

async function until (check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

test('a first-seen member whose peer revocation is in the DHT is refused, dropped, hung up on and gated', async () => {
  const h = harness()
  const x = await newPeerId()
  const rev = await createRevocation({ authority, mesh: MESH, target: { peerId: x }, now: NOW })
  h.dht.set(revocationKey(MESH, `peer-${x}`), rev.bytes)
  assert.not.ok(h.revs.isDenied(x))
  assert.is(await reasonOf(async () => { await h.revs.admitMember(await memberRecord(x), NOW) }), 'revoked')
  assert.ok(h.set.has(`peer-${x}`), 'kept')
  assert.is(h.saves.n, 1, 'persisted')
  assert.equal(h.hungUp, [x])
  assert.equal(h.evicted, [x])
  assert.ok(h.revs.isDenied(x, 'inbound'))
  assert.equal(h.puts, [], 'a revocation read from the DHT is not put back')
  // From now on the plain check refuses it without asking the DHT again.
  const before = h.gets.length
  assert.is(await reasonOf(async () => { await h.revs.admitMember(await memberRecord(x), NOW) }), 'revoked')
  assert.is(h.gets.length, before)
})

test('a token revocation in the DHT refuses every member admitted with that token', async () => {
  const h = harness()
  const x = await newPeerId()
  const rev = await createRevocation({ authority, mesh: MESH, target: { tokenId: token.claims.tokenId }, now: NOW })
  h.dht.set(revocationKey(MESH, `token-${token.claims.tokenId}`), rev.bytes)
  assert.is(await reasonOf(async () => { await h.revs.admitMember(await memberRecord(x), NOW) }), 'revoked')
  assert.ok(h.set.has(`token-${token.claims.tokenId}`))
  assert.equal(h.gets.sort(), [revocationKey(MESH, `peer-${x}`), revocationKey(MESH, `token-${token.claims.tokenId}`)].sort())
})

test('a member with nothing in the DHT is admitted; our own record and cert-less records cost no lookup', async () => {
  const h = harness()
  const y = await newPeerId()
  await h.revs.admitMember(await memberRecord(y), NOW)
  assert.is(h.gets.length, 2)
  assert.is(h.set.size, 0)
  await h.revs.admitMember(await memberRecord(SELF), NOW)
  const { cert: _cert, ...bare } = await memberRecord(await newPeerId())
  assert.is(await reasonOf(async () => { await h.revs.admitMember(bare, NOW) }), 'cert-missing')
  const other = await newToken(rogue)
  assert.is(await reasonOf(async () => { await h.revs.admitMember(await memberRecord(await newPeerId(), other), NOW) }), 'token-bad-signature')
  assert.is(h.gets.length, 2, 'no lookup for self, a cert-less record or a foreign certificate')
})

test('bad DHT answers change nothing: another authority, another id, garbage', async () => {
  const h = harness()
  const x = await newPeerId()
  const y = await newPeerId()
  const z = await newPeerId()
  h.dht.set(revocationKey(MESH, `peer-${x}`), (await createRevocation({ authority: rogue, mesh: MESH, target: { peerId: x }, now: NOW })).bytes)
  h.dht.set(revocationKey(MESH, `peer-${y}`), (await createRevocation({ authority, mesh: MESH, target: { peerId: z }, now: NOW })).bytes)
  h.dht.set(revocationKey(MESH, `peer-${z}`), new Uint8Array([1, 2, 3]))
  for (const p of [x, y, z]) await h.revs.admitMember(await memberRecord(p), NOW)
  assert.is(h.set.size, 0)
  assert.is(h.saves.n, 0)
  assert.equal(h.hungUp, [])
  for (const p of [x, y, z]) assert.not.ok(h.revs.isDenied(p))
})

test('a slow DHT delays a first admission only firstLookupWaitMs; a revocation found later still drops the member', async () => {
  const h = harness({ holdGets: true, timing: { firstLookupWaitMs: 50 } })
  const x = await newPeerId()
  const record = await memberRecord(x)
  const t0 = Date.now()
  await h.revs.admitMember(record, NOW) // fail open: nothing answered in time
  assert.ok(Date.now() - t0 < 1_000)
  h.members.set(x, member(record))
  h.dht.set(revocationKey(MESH, `peer-${x}`), (await createRevocation({ authority, mesh: MESH, target: { peerId: x }, now: NOW })).bytes)
  h.release()
  await until(() => h.evicted.includes(x), 'x evicted once the lookup answered')
  assert.equal(h.hungUp, [x])
  assert.ok(h.revs.isDenied(x))
})

test('a clear answer is re-checked: a revocation put after the first lookup drops the member', async () => {
  const h = harness({ timing: { lookup: { recheckMs: [20], maxEntries: 64 } } })
  const stop = h.revs.start()
  try {
    const x = await newPeerId()
    const record = await memberRecord(x)
    await h.revs.admitMember(record, NOW)
    h.members.set(x, member(record))
    h.dht.set(revocationKey(MESH, `peer-${x}`), (await createRevocation({ authority, mesh: MESH, target: { peerId: x }, now: NOW })).bytes)
    h.clock.t += 20
    await until(() => h.evicted.includes(x), 'x evicted by a re-check')
    assert.ok(h.revs.isDenied(x, 'dial'))
  } finally { stop() }
})

test('apply: bad input throws and changes nothing; a disk error does not stop enforcement', async () => {
  const h = harness({ failSave: true })
  const x = await newPeerId()
  const foreign = await createRevocation({ authority: rogue, mesh: MESH, target: { peerId: x }, now: NOW })
  assert.is(await reasonOf(async () => await h.revs.apply(encodeRevocation(foreign), 'gossip')), 'revocation-bad-signature')
  assert.is(await reasonOf(async () => await h.revs.apply('gmr1.AAAA', 'gossip')), 'revocation-malformed')
  assert.is(h.set.size, 0)
  assert.equal(h.hungUp, [])
  const record = await memberRecord(x)
  h.members.set(x, member(record))
  const rev = await createRevocation({ authority, mesh: MESH, target: { peerId: x }, now: NOW })
  assert.equal((await h.revs.apply(encodeRevocation(rev), 'admin')).result, 'added')
  assert.equal(h.evicted, [x])
  assert.equal(h.hungUp, [x])
  assert.ok(h.revs.isDenied(x))
  assert.equal(h.puts, [revocationKey(MESH, `peer-${x}`)], 'admin and gossip revocations are put into the DHT')
  assert.equal((await h.revs.apply(rev.bytes, 'gossip')).result, 'known')
})

test('start: known revocations are re-put into the DHT; a connection from a revoked peer is closed at once', async () => {
  const h = harness()
  const x = await newPeerId()
  const rev = await createRevocation({ authority, mesh: MESH, target: { peerId: x }, now: NOW })
  h.set.add(rev) // as loaded from revocations.json
  const stop = h.revs.start()
  try {
    await until(() => h.puts.length === 1, 're-put')
    assert.equal(h.puts, [revocationKey(MESH, `peer-${x}`)])
    h.connect(await newPeerId())
    assert.equal(h.hungUp, [])
    h.connect(x)
    assert.equal(h.hungUp, [x])
  } finally { stop() }
})

test('gater: a revoked peer is refused before a dial and on inbound/outbound connections; others pass', async () => {
  const x = await newPeerId()
  const y = await newPeerId()
  const asked: string[] = []
  const gater = gaterOf((peer, stage) => { asked.push(stage); return peer === x })
  const px = peerIdFromString(x)
  const py = peerIdFromString(y)
  const conn = {} as never
  const hooks = [
    () => gater.denyDialPeer?.(px), () => gater.denyOutboundConnection?.(px, conn),
    () => gater.denyInboundEncryptedConnection?.(px, conn), () => gater.denyOutboundEncryptedConnection?.(px, conn),
    () => gater.denyInboundUpgradedConnection?.(px, conn), () => gater.denyOutboundUpgradedConnection?.(px, conn)
  ]
  for (const hook of hooks) assert.is(await hook(), true)
  assert.equal(asked, ['dial', 'outbound', 'inbound', 'outbound', 'inbound', 'outbound'])
  assert.is(await gater.denyInboundEncryptedConnection?.(py, conn), false)
  assert.is(await gater.denyDialPeer?.(py), false)
})

test.run()
