import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { initialLiveness, livenessConfig, stepLiveness } from '../../../src/mesh/liveness.ts'
import { MemberTable } from '../../../src/mesh/member-table.ts'
import { isRefusal, dialableAddrs } from '../../../src/mesh/libp2p-node.ts'
import { startRedialLoop } from '../../../src/mesh/redial.ts'
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES } from '../../../src/mesh/messages.ts'
import { rejectionReason } from './helpers.ts'
import type { Liveness, LivenessEvent } from '../../../src/mesh/liveness.ts'
import type { NodeRecord } from '../../../src/mesh/record.ts'

const cfg = livenessConfig(1_000) // deadAfter 3500

function run (events: LivenessEvent[], start: Liveness = initialLiveness(0, true)): Liveness {
  return events.reduce((s, ev) => stepLiveness(s, ev, cfg), start)
}

test('defaults: deadAfter = 3H + 500, no crash confirmation wait', () => {
  assert.equal(cfg, { heartbeatMs: 1_000, deadAfterMs: 3_500, crashConfirmMs: 0 })
  assert.equal(livenessConfig(2_000), { heartbeatMs: 2_000, deadAfterMs: 6_500, crashConfirmMs: 0 })
})

test('silence: alive → suspect at 2H → dead at deadAfter; heartbeat revives', () => {
  assert.is(run([{ type: 'tick', at: 1_999 }]).state, 'alive')
  assert.is(run([{ type: 'tick', at: 2_000 }]).state, 'suspect')
  assert.is(run([{ type: 'tick', at: 3_499 }]).state, 'suspect')
  assert.is(run([{ type: 'tick', at: 3_500 }]).state, 'dead')
  assert.is(run([{ type: 'tick', at: 2_500 }, { type: 'heartbeat', at: 2_600 }]).state, 'alive')
})

test('kill -9: disconnect + refused redial ⇒ dead at once, long before deadAfter', () => {
  const s = run([{ type: 'heartbeat', at: 1_000 }, { type: 'disconnect', at: 1_200 }])
  assert.is(s.state, 'suspect')
  assert.is(stepLiveness(s, { type: 'redial-failed', at: 1_210 }, cfg).state, 'dead')
  // A redial that only timed out is not evidence (membership never reports it): still suspect.
  assert.is(stepLiveness(s, { type: 'tick', at: 3_499 }, cfg).state, 'suspect')
})

test('crashConfirmMs, when set, also asks for that much silence before a refusal kills', () => {
  const confirm = livenessConfig(1_000, undefined, 1_000)
  const s = [{ type: 'heartbeat', at: 1_000 }, { type: 'disconnect', at: 1_200 }, { type: 'redial-failed', at: 1_210 }] as const
  const after = s.reduce<Liveness>((x, ev) => stepLiveness(x, ev, confirm), initialLiveness(0, true))
  assert.is(after.state, 'suspect')
  assert.is(stepLiveness(after, { type: 'tick', at: 1_999 }, confirm).state, 'suspect')
  assert.is(stepLiveness(after, { type: 'tick', at: 2_000 }, confirm).state, 'dead')
})

test('a cut link alone never kills while heartbeats arrive through others (the dial times out: no refusal)', () => {
  let s = run([{ type: 'heartbeat', at: 1_000 }, { type: 'disconnect', at: 1_100 }])
  for (let t = 2_000; t < 60_000; t += 1_000) {
    s = stepLiveness(s, { type: 'heartbeat', at: t }, cfg)
    s = stepLiveness(s, { type: 'tick', at: t + 900 }, cfg)
    assert.is(s.state, 'alive', `at ${t}`)
  }
})

test('member table: after a crash verdict stale gossip does not bring a member back; hearsay past deadAfter does, or a connection', () => {
  const crash = (t: MemberTable, id: string): void => {
    t.offer(rec(id, 2), 'r2', 'announce', 0, true)
    t.event(id, { type: 'disconnect', at: 100 })
    t.event(id, { type: 'redial-failed', at: 110 })
    assert.not.ok(t.has(id))
    assert.equal(t.drainDeaths(), [{ peerId: id, reason: 'unreachable' }])
  }
  const t = new MemberTable(cfg)
  // kill -9: heartbeats it sent just before dying still arrive through others for a few seconds.
  crash(t, 'K')
  for (const at of [150, 1_100, 3_000, 110 + cfg.deadAfterMs - 1]) assert.is(t.offer(rec('K', 2), 'r2', 'announce', at, false), 'stale', `at ${at}`)
  assert.not.ok(t.has('K'))
  // Alive behind a firewall that rejects us: its heartbeats through others outlast deadAfter.
  assert.is(t.offer(rec('K', 2), 'r2', 'announce', 110 + cfg.deadAfterMs, false), 'changed')
  assert.is(t.snapshot().get('K')?.state, 'alive')
  // Connected again: back at the first announce. Restarted: a higher seq, at once.
  crash(t, 'C')
  assert.is(t.offer(rec('C', 2), 'r2', 'announce', 150, true), 'changed')
  crash(t, 'R')
  assert.is(t.offer(rec('R', 3), 'r3', 'dht', 150, false), 'changed')
})

test('disconnect whose redial succeeds does not kill; suspect until the next heartbeat', () => {
  const s = run([{ type: 'disconnect', at: 100 }, { type: 'connect', at: 110 }, { type: 'tick', at: 1_900 }])
  assert.is(s.state, 'suspect')
  assert.is(stepLiveness(s, { type: 'heartbeat', at: 1_950 }, cfg).state, 'alive')
  assert.is(run([{ type: 'connect', at: 110 }, { type: 'redial-failed', at: 120 }], run([{ type: 'disconnect', at: 100 }])).redialFailed, false)
})

const rec = (peerId: string, seq: number): NodeRecord => ({
  v: 1, mesh: 'm', peerId, wgPublicKey: `k-${peerId}`, endpoints: [], addrs: [], prefix: 'p', seq, expiresAt: 1e12
}) as unknown as NodeRecord

test('member table: leave needs seq ≥ record seq; a left member returns only with a higher seq', () => {
  const t = new MemberTable(cfg)
  assert.is(t.offer(rec('A', 3), 'r3', 'announce', 0, true), 'changed')
  assert.is(t.leave('A', 2, 10), 'stale')
  assert.ok(t.has('A'))
  assert.is(t.leave('A', 3, 10), 'changed')
  assert.not.ok(t.has('A'))
  assert.is(t.offer(rec('A', 3), 'r3', 'announce', 20, true), 'stale')
  assert.is(t.offer(rec('A', 3), 'r3', 'dht', 20, true), 'stale')
  assert.is(t.offer(rec('A', 4), 'r4', 'announce', 30, true), 'changed')
})

test('member table: dead is dropped; returns with a fresh heartbeat or higher seq, not a stale DHT copy', () => {
  const t = new MemberTable(cfg)
  t.offer(rec('B', 5), 'r5', 'announce', 0, true)
  assert.ok(t.tick(3_500))
  assert.not.ok(t.has('B'))
  assert.is(t.snapshot().size, 0)
  assert.is(t.offer(rec('B', 5), 'r5', 'dht', 4_000, false), 'stale')
  assert.is(t.offer(rec('B', 5), 'r5', 'announce', 4_000, true), 'changed')
  assert.is(t.snapshot().get('B')?.state, 'alive')
  assert.is(t.offer(rec('B', 4), 'r4', 'announce', 4_100, true), 'stale')
})

test('member table: links are carried through to the snapshot', () => {
  const t = new MemberTable(cfg)
  t.offer(rec('C', 1), 'r1', 'announce', 0, true, { up: ['X'] })
  assert.equal(t.snapshot().get('C')?.links, { up: ['X'] })
  assert.is(t.offer(rec('C', 1), 'r1', 'announce', 10, true, { up: ['X'] }), 'unchanged')
  assert.is(t.offer(rec('C', 1), 'r1', 'announce', 20, true, { up: [] }), 'changed')
})

test('member table: a report that moved only outside linksKey is kept without counting as a change', () => {
  const t = new MemberTable(cfg, { linksKey: l => JSON.stringify((l as { up: unknown }).up) })
  t.offer(rec('C', 1), 'r1', 'announce', 0, true, { up: ['X'], rtt: 1 })
  assert.is(t.offer(rec('C', 1), 'r1', 'announce', 10, true, { up: ['X'], rtt: 2 }), 'unchanged')
  assert.equal(t.snapshot().get('C')?.links, { up: ['X'], rtt: 2 }, 'the newest report is what routing reads next')
  assert.is(t.offer(rec('C', 1), 'r1', 'announce', 20, true, { up: [], rtt: 2 }), 'changed')
})

test('messages: bounded, strict, total', async () => {
  assert.equal(decodeMessage(encodeMessage({ v: 1, type: 'leave', seq: 4 })), { v: 1, type: 'leave', seq: 4 })
  assert.is(await rejectionReason(async () => decodeMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1))), 'oversized')
  assert.is(await rejectionReason(async () => decodeMessage(new TextEncoder().encode('{"v":1,"type":"leave","seq":1,"x":0}'))), 'malformed')
  assert.is(await rejectionReason(async () => decodeMessage(new TextEncoder().encode('{"v":2,"type":"leave","seq":1}'))), 'malformed')
  assert.is(await rejectionReason(async () => encodeMessage({ v: 1, type: 'announce', record: 'AAAA', links: 'x'.repeat(MAX_MESSAGE_BYTES) })), 'oversized')
  const rev = { v: 1, type: 'revoke', revocation: 'gmr1.AAAA' }
  assert.equal(decodeMessage(new TextEncoder().encode(JSON.stringify(rev))), rev)
  assert.is(await rejectionReason(async () => decodeMessage(new TextEncoder().encode('{"v":1,"type":"revoke","revocation":"gmt1.AAAA"}'))), 'malformed')
})

test('redial loop: retries with backoff 250 ms → 2 s, never gives up', () => {
  let now = 0
  const attempts: number[] = []
  const loop = startRedialLoop({
    dial: async () => { attempts.push(now); throw new Error('refused') },
    isConnected: () => false,
    now: () => now
  }, ['10.0.0.1:4001'], { tickMs: 1e9 })
  const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve() }
  return (async () => {
    for (now = 0; now <= 30_000; now += 250) { loop.tick(); await flush() }
    loop.stop()
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? 0))
    assert.equal(gaps.slice(0, 5), [250, 500, 1_000, 2_000, 2_000])
    assert.ok(gaps.every(g => g <= 2_000) && attempts.length >= 15, `attempts ${attempts.length}`)
  })()
})

test('a death says why: silent past deadAfter, or unreachable (disconnect + refused redial)', () => {
  const silent = run([{ type: 'heartbeat', at: 1_000 }, { type: 'tick', at: 1_000 + cfg.deadAfterMs }])
  assert.is(silent.state, 'dead'); assert.is(silent.deadReason, 'silent')
  const crashed = run([{ type: 'heartbeat', at: 1_000 }, { type: 'disconnect', at: 1_100 }, { type: 'redial-failed', at: 1_120 }])
  assert.is(crashed.state, 'dead'); assert.is(crashed.deadReason, 'unreachable')
})

test('only a refused dial is crash evidence; timeouts and mixed failures are not', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.2:7700'), { code: 'ECONNREFUSED' })
  const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError', code: 23 })
  assert.ok(isRefusal(refused))
  assert.ok(isRefusal(new AggregateError([refused, refused], 'All multiaddr dials failed')))
  assert.not.ok(isRefusal(timeout))
  assert.not.ok(isRefusal(new AggregateError([refused, timeout], 'All multiaddr dials failed')))
  assert.not.ok(isRefusal(new AggregateError([], 'nothing dialled')))
  assert.not.ok(isRefusal('ECONNREFUSED'))
})

test('records and redials leave out loopback addresses (from another host they reach ourselves), unless that is all there is', () => {
  assert.equal(dialableAddrs(['/ip4/127.0.0.1/tcp/7700', '/ip4/10.77.0.4/tcp/7700', '/ip6/::1/tcp/7700']), ['/ip4/10.77.0.4/tcp/7700'])
  assert.equal(dialableAddrs(['/ip4/127.0.0.3/tcp/7700']), ['/ip4/127.0.0.3/tcp/7700'])
  assert.equal(dialableAddrs([]), [])
})

test.run()
