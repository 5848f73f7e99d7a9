/**
 * Attack 1 (issue 19): a member's WireGuard key claimed by another identity.
 * - the member table keeps the key with the member that holds it and refuses
 *   (RECORD_INVALID 'wg-key-taken', counted by membership) a later claim;
 * - a record carrying OUR OWN key is refused at validation, not at apply;
 * - one bad peer never blocks an apply: it is dropped, the rest is applied.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeRecord, encodeRecord, RECORD_REJECT_REASONS } from '../../../src/mesh/record.ts'
import type { NodeRecord } from '../../../src/mesh/record.ts'
import { MemberTable } from '../../../src/mesh/member-table.ts'
import { livenessConfig } from '../../../src/mesh/liveness.ts'
import { CLAIM_RACE_WINDOW_MS } from '../../../src/mesh/allocation.ts'
import { refuseOwnWgKey } from '../../../src/mesh/record-admission.ts'
import { createRecordValidator, recordKey } from '../../../src/mesh/record-dht.ts'
import { createFakeWireGuardDriver } from '../../../src/wireguard/fake.ts'
import type { WgPublicKey } from '../../../src/keys/types.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'
import { newIdentity, samplePayload, rejectionReason } from '../mesh/helpers.ts'
import { priv, pub, p, MESH } from '../wireguard/keys.fixture.ts'

const NOW = 1_800_000_000_000
const victim = await newIdentity()
const attacker = await newIdentity()
const other = await newIdentity()
const VICTIM_KEY = pub(2)

async function rec (id: { peerId: string, privateKey: Parameters<typeof encodeRecord>[1] }, over: Parameters<typeof samplePayload>[1] = {}): Promise<{ bytes: Uint8Array, record: NodeRecord }> {
  const bytes = await encodeRecord(samplePayload(id.peerId, { wgPublicKey: VICTIM_KEY, ...over }, NOW), id.privateKey)
  return { bytes, record: await decodeRecord(bytes, { mesh: 'testmesh', now: NOW }) }
}

test('wg-key-taken is a counted rejection reason', () => {
  assert.ok((RECORD_REJECT_REASONS as readonly string[]).includes('wg-key-taken'))
})

test('member table: the member holding a WireGuard key keeps it; a later claim by another identity is refused', async () => {
  const table = new MemberTable(livenessConfig(1_000))
  const v = await rec(victim, { prefix: 'fd5e:1a2b:3c4d:12::/64' })
  const a = await rec(attacker, { prefix: 'fd5e:1a2b:3c4d:13::/64', seq: 99 })
  assert.is(table.offer(v.record, 'v', 'announce', NOW, true), 'changed')
  // Heartbeats keep the holder alive past the race window.
  for (let t = 500; t <= CLAIM_RACE_WINDOW_MS; t += 500) table.offer(v.record, 'v', 'announce', NOW + t, true)
  const later = NOW + CLAIM_RACE_WINDOW_MS + 10
  const reason = await rejectionReason(async () => table.offer(a.record, 'a', 'announce', later, true))
  assert.is(reason, 'wg-key-taken')
  assert.equal([...table.snapshot().keys()], [victim.peerId])
  assert.is(table.snapshot().get(victim.peerId)?.record.wgPublicKey, VICTIM_KEY)
  // The holder itself may keep refreshing its record.
  const v2 = await rec(victim, { prefix: 'fd5e:1a2b:3c4d:12::/64', seq: 2 })
  assert.is(table.offer(v2.record, 'v2', 'announce', later + 10, true), 'changed')
  // Once the holder left, the key is free again.
  table.leave(victim.peerId, 2, later + 20)
  assert.is(table.offer(a.record, 'a', 'announce', later + 30, true), 'changed')
})

test('member table: a member switching to a key another member holds is refused, its old record kept', async () => {
  const table = new MemberTable(livenessConfig(1_000))
  table.offer((await rec(victim)).record, 'v', 'announce', NOW, true)
  const o1 = await rec(other, { wgPublicKey: pub(3), prefix: 'fd5e:1a2b:3c4d:14::/64' })
  table.offer(o1.record, 'o1', 'announce', NOW, true)
  const o2 = await rec(other, { wgPublicKey: VICTIM_KEY, prefix: 'fd5e:1a2b:3c4d:14::/64', seq: 5 })
  for (let t = 500; t <= CLAIM_RACE_WINDOW_MS; t += 500) { table.offer((await rec(victim)).record, 'v', 'announce', NOW + t, true); table.offer(o1.record, 'o1', 'announce', NOW + t, true) }
  assert.is(await rejectionReason(async () => table.offer(o2.record, 'o2', 'announce', NOW + CLAIM_RACE_WINDOW_MS + 1, true)), 'wg-key-taken')
  assert.is(table.snapshot().get(other.peerId)?.record.wgPublicKey, pub(3))
})

test('two claims on one key within the race window: the lower PeerId holds it, whichever arrived first', async () => {
  const v = await rec(victim, { prefix: 'fd5e:1a2b:3c4d:12::/64' })
  const a = await rec(attacker, { prefix: 'fd5e:1a2b:3c4d:13::/64' })
  const winner = victim.peerId < attacker.peerId ? victim.peerId : attacker.peerId
  for (const order of [[v, a], [a, v]]) {
    const table = new MemberTable(livenessConfig(1_000))
    const [first, second] = order as [typeof v, typeof v]
    table.offer(first.record, 'first', 'announce', NOW, true)
    try { table.offer(second.record, 'second', 'announce', NOW + 1_000, true) } catch (err) {
      assert.is((err as { meta?: { reason?: string } }).meta?.reason, 'wg-key-taken')
    }
    assert.equal([...table.snapshot().keys()], [winner])
  }
})

test('a record carrying our own WireGuard key is refused at validation (decode and DHT validator); our own record passes', async () => {
  const admit = refuseOwnWgKey({ peerId: victim.peerId, wgPublicKey: VICTIM_KEY })
  const forged = await encodeRecord(samplePayload(attacker.peerId, { wgPublicKey: VICTIM_KEY }, NOW), attacker.privateKey)
  assert.is(await rejectionReason(async () => await decodeRecord(forged, { mesh: 'testmesh', now: NOW, admit })), 'wg-key-taken')
  const own = await encodeRecord(samplePayload(victim.peerId, { wgPublicKey: VICTIM_KEY }, NOW), victim.privateKey)
  assert.is((await decodeRecord(own, { mesh: 'testmesh', now: NOW, admit })).peerId, victim.peerId)
  const reasons: string[] = []
  const validate = createRecordValidator({ mesh: 'testmesh', clock: { now: () => NOW }, highWater: () => 0, admit, onReject: r => { reasons.push(r) } })
  assert.is(await rejectionReason(async () => { await validate(new TextEncoder().encode(recordKey('testmesh', attacker.peerId)), forged) }), 'wg-key-taken')
  assert.equal(reasons, ['wg-key-taken'])
})

test('one bad peer is dropped from the desired state; every other peer is still applied', async () => {
  const wg = createFakeWireGuardDriver({ meshPrefix: MESH })
  await wg.up({ privateKey: priv(9), listenPort: 51820 })
  const peer = (key: WgPublicKey, allowed: string[]) => ({ publicKey: key, endpoint: '10.0.0.2:51820', allowedIps: allowed.map(p) as Ipv6Prefix[], persistentKeepalive: 5 })
  await wg.apply({
    privateKey: priv(9),
    listenPort: 51820,
    peers: [
      peer(pub(1), ['fd5e:1a2b:3c4d:a::/64']),
      peer(pub(9), ['fd5e:1a2b:3c4d:b::/64']), // our own key
      peer(pub(3), ['fd5e:1a2b:3c4d:c::/64']),
      peer(pub(4), ['fd5e:1a2b:3c4d:c::/64']), // the same /64 as pub(3)
      peer(pub(5), ['fd99::/64']) // outside the mesh
    ]
  })
  const keys = (await wg.read()).peers.map(x => x.publicKey).sort()
  assert.equal(keys, [pub(1), pub(3)].sort())
  assert.is(wg.droppedPeers, 3)
})

test.run()
