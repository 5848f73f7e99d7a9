/**
 * The pure decision units the mesh services are assembled from, each on
 * its own with plain data and an explicit time: the reconcile plan, our
 * announced links, our own record, the start-up undo stack and the fake time.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ReconcilePlan, RESYNC_MS, type PassInput } from '../../../src/routing/reconcile-plan.ts'
import { AnnouncedLinks } from '../../../src/routing/announced-links.ts'
import { initialLinkState, applyProbe } from '../../../src/routing/link-state.ts'
import { compareClaims, meshPrefixFromName, prefixCandidate } from '../../../src/mesh/allocation.ts'
import { certificateDue, ownRecordPayload, publishableEndpoints, REPUBLISH_MS } from '../../../src/mesh/own-record.ts'
import { createUndoStack } from '../../../src/daemon/undo-stack.ts'
import { createFakeTime } from '../../../src/time/fake.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { testLogger } from '../../../src/log.ts'
import type { MemberSnapshot, MemberView } from '../../../src/mesh/member-table.ts'
import type { NodeRecord } from '../../../src/mesh/record.ts'
import type { WgPublicKey } from '../../../src/keys/types.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'
import type { DeviceState } from '../../../src/wireguard/types.ts'

const MESH = meshPrefixFromName('decisions')
const NOW = 1_700_000_000_000
const key = (n: number): WgPublicKey => Buffer.alloc(32, n).toString('base64') as WgPublicKey

function memberOf (peerId: string, n: number, prefix: Ipv6Prefix): MemberView {
  const record: NodeRecord = {
    v: 1, mesh: 'decisions', peerId, wgPublicKey: key(n), endpoints: [`10.0.0.${n}:51820`], addrs: [], prefix, seq: 1, expiresAt: NOW + 60_000
  }
  return { record, state: 'alive', lastHeartbeat: NOW }
}

const SELF = 'PeerSelf'
const A = 'PeerAlfa'
const B = 'PeerBravo'
const members: MemberSnapshot = new Map([[A, memberOf(A, 1, prefixCandidate(MESH, A, 0))], [B, memberOf(B, 2, prefixCandidate(MESH, B, 0))]])
const own = prefixCandidate(MESH, SELF, 0)
const input = (over: Partial<PassInput> = {}): PassInput => ({
  self: SELF, meshPrefix: MESH, ownPrefix: own, members, ownLinks: new Map(), ownIps: ['10.0.0.9'], now: NOW, resynced: false, ...over
})
const device = (handshakes: Record<string, number>): DeviceState => ({
  publicKey: key(9), listenPort: 51820,
  peers: Object.entries(handshakes).map(([k, t]) => ({ publicKey: k as WgPublicKey, endpoint: null, allowedIps: [], persistentKeepalive: 0, latestHandshake: t, rxBytes: 0, txBytes: 0 }))
})

test('reconcile plan: the device is read first, then only every RESYNC_MS; handshake ages come back per member', () => {
  const plan = new ReconcilePlan()
  assert.ok(plan.readDue(NOW))
  const ages = plan.deviceRead(device({ [key(1)]: (NOW - 5_000) / 1000 }), members, NOW)
  assert.equal([...ages], [[A, 5_000], [B, null]])
  assert.not.ok(plan.readDue(NOW + RESYNC_MS - 1))
  assert.ok(plan.readDue(NOW + RESYNC_MS))
})

test('reconcile plan: desired peers are applied once, again only on a change or a resync', () => {
  const plan = new ReconcilePlan()
  const first = plan.decide(input({ resynced: true }))
  if (first.kind !== 'converge') throw new Error(first.kind)
  assert.is(first.apply?.length, 2)
  assert.equal([...first.probeTargets.keys()].sort(), [A, B])
  plan.applied(first.apply ?? [], [{ kind: 'add', publicKey: key(1) }, { kind: 'add', publicKey: key(2) }])
  assert.ok(plan.readDue(NOW + 1), 'peers came: re-read at the next pass')
  assert.equal(plan.adopt(first.view).map(t => t.peer).sort(), [A, B], 'both routes are new')
  const again = plan.decide(input())
  assert.is(again.kind === 'converge' && again.apply, null, 'nothing to apply')
  const resync = plan.decide(input({ resynced: true }))
  assert.is(resync.kind === 'converge' && resync.apply?.length, 2, 'a resync re-applies (drift repair)')
  const fewer = plan.decide(input({ members: new Map([...members].slice(0, 1)) }))
  assert.is(fewer.kind === 'converge' && fewer.apply?.length, 1, 'a member left')
})

test('reconcile plan: a member that outranks us for our /64 makes us move, with every claim', () => {
  // We claim the rival's first candidate /64, which it ranks best for.
  const rival = 'PeerRival'
  const theirs = prefixCandidate(MESH, rival, 0)
  assert.ok(compareClaims(MESH, { peerId: rival, prefix: theirs }, { peerId: SELF, prefix: theirs }) < 0, 'the rival outranks us')
  const plan = new ReconcilePlan()
  const d = plan.decide(input({ ownPrefix: theirs, members: new Map([...members, [rival, memberOf(rival, 3, theirs)]]) }))
  assert.is(d.kind, 'move-prefix')
  if (d.kind === 'move-prefix') {
    assert.is(d.owner, rival)
    assert.is(d.claims.length, 3)
  }
  assert.is(plan.view, null, 'no view is adopted by a move')
})

test('announced links: a report differs only when states or RTT classes change; ownLinks reads it back', () => {
  const links = new AnnouncedLinks(SELF)
  assert.equal(links.ownLinks(), new Map())
  const up = applyProbe(applyProbe(applyProbe(initialLinkState(NOW), { ok: true, rttMs: 1, at: NOW }), { ok: true, rttMs: 1, at: NOW + 1 }), { ok: true, rttMs: 1, at: NOW + 2 })
  const first = links.announce(new Map([[A, up]]), NOW)
  assert.ok(first.changed)
  assert.is(first.report.seq, NOW)
  assert.not.ok(links.announce(new Map([[A, { ...up, rttMs: 1.5 }]]), NOW + 100).changed, 'an RTT figure inside its class is no change')
  assert.ok(links.announce(new Map([[A, up], [B, initialLinkState(NOW)]]), NOW + 200).changed, 'a new link is')
  assert.equal([...links.ownLinks().keys()].sort(), [A, B])
})

test('own record: loopback-only listening is a config error naming the fix; the record never outlives its certificate', () => {
  try {
    publishableEndpoints({ announce: [], listenAddrs: ['/ip4/127.0.0.1/tcp/4001'], wgPort: 51820, meshPrefix: MESH, listen: '127.0.0.1:4001' })
    assert.unreachable()
  } catch (err) {
    assert.ok(isGridmeshError(err) && err.code === ErrorCodes.CONFIG_INVALID)
    assert.match(String(err), '--announce')
  }
  assert.equal(publishableEndpoints({ announce: [], listenAddrs: ['/ip4/10.1.2.3/tcp/4001'], wgPort: 51820, meshPrefix: MESH, listen: '0.0.0.0:4001' }), ['10.1.2.3:51820'])
  const base = { mesh: 'decisions', peerId: SELF, wgPublicKey: key(9), endpoints: ['10.1.2.3:51820'], listenAddrs: ['/ip4/127.0.0.1/tcp/1', '/ip4/10.1.2.3/tcp/1'], prefix: own, seq: 7, now: NOW }
  const open = ownRecordPayload({ ...base, cert: null })
  assert.is(open.expiresAt, NOW + 3 * REPUBLISH_MS)
  assert.equal(open.addrs, ['/ip4/10.1.2.3/tcp/1'], 'no loopback address in a record')
  assert.is(open.cert, undefined)
  const closed = ownRecordPayload({ ...base, cert: { b64: 'abc', expiresAt: NOW + 1_000 } })
  assert.is(closed.expiresAt, NOW + 1_000)
  assert.is(closed.cert, 'abc')
  const cert = { prefix: own, issuedAt: NOW, expiresAt: NOW + 3_000 }
  assert.ok(certificateDue(null, own, NOW))
  assert.not.ok(certificateDue(cert, own, NOW + 1_000))
  assert.ok(certificateDue(cert, prefixCandidate(MESH, SELF, 1), NOW + 1_000), 'our /64 moved')
  assert.ok(certificateDue(cert, own, NOW + 2_001), 'a third of its lifetime left')
})

test('undo stack: a failed start unwinds newest first, past a failing step, and rethrows', async () => {
  const done: string[] = []
  const undo = createUndoStack(testLogger())
  undo.push('a', () => { done.push('a') })
  undo.push('b', () => { throw new Error('b failed') })
  undo.push('c', async () => { done.push('c') })
  try {
    await undo.guard(async () => { throw new Error('start failed') })
    assert.unreachable()
  } catch (err) { assert.match(String(err), 'start failed') }
  assert.equal(done, ['c', 'a'])
  await undo.unwind()
  assert.equal(done, ['c', 'a'], 'each undo runs once')
})

test('fake time: timers fire in time order as time advances; a killed scope fires nothing more', async () => {
  const time = createFakeTime(0)
  const fired: string[] = []
  const scope = time.scope()
  time.setTimeout(() => { fired.push(`late@${time.now()}`) }, 30)
  const stop = scope.setInterval(() => { fired.push(`tick@${time.now()}`) }, 10)
  scope.setTimeout(() => { fired.push(`once@${time.now()}`) }, 15)
  await time.advance(25)
  assert.equal(fired, ['tick@10', 'once@15', 'tick@20'])
  assert.is(scope.pending, 1, 'the interval is still armed')
  scope.kill()
  assert.is(scope.pending, 0)
  scope.setTimeout(() => { fired.push('after kill') }, 1)
  await time.advance(20)
  assert.equal(fired, ['tick@10', 'once@15', 'tick@20', 'late@30'])
  stop()
  assert.is(time.pending, 0)
})

test.run()
