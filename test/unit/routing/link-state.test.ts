import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  applyHandshakeAge, applyProbe, initialLinkState, isUsable, rttClass,
  COST_CLASS_HOLD_MS, RTT_CLASS_FLOOR_MS, DOWN_AFTER_FAILURES, UNKNOWN_GRACE_MS, HANDSHAKE_STALE_MS, MIN_DOWN_MS, UP_AFTER_SUCCESSES
} from '../../../src/routing/link-state.ts'
import type { LinkState, ProbeResult } from '../../../src/routing/link-state.ts'

function run (s: LinkState, results: ProbeResult[]): LinkState {
  return results.reduce((acc, r) => applyProbe(acc, r), s)
}
const ok = (at: number, rttMs = 10): ProbeResult => ({ ok: true, rttMs, at })
const fail = (at: number): ProbeResult => ({ ok: false, at })

function downAt (t0: number): LinkState {
  return run(initialLinkState(0), [ok(0), ...Array.from({ length: DOWN_AFTER_FAILURES }, (_, i) => fail(t0 + i * 300))])
}

test('a new peer is unknown and usable, and up after its first success', () => {
  const s = initialLinkState(100)
  assert.is(s.state, 'unknown')
  assert.ok(isUsable(s.state))
  const up = applyProbe(s, ok(400, 12))
  assert.equal([up.state, up.since, up.rttMs], ['up', 400, 12])
})

test('unknown goes down after DOWN_AFTER_FAILURES failures, not before, and not within UNKNOWN_GRACE_MS', () => {
  // Failures inside the grace period: the other end may simply not know us yet.
  let s = initialLinkState(0)
  for (let i = 1; i <= DOWN_AFTER_FAILURES + 2; i++) s = applyProbe(s, fail(i * 100))
  assert.is(s.state, 'unknown', 'still usable during the grace period')
  s = applyProbe(s, fail(UNKNOWN_GRACE_MS))
  assert.equal([s.state, s.since], ['down', UNKNOWN_GRACE_MS])
  // After the grace period, DOWN_AFTER_FAILURES consecutive failures are still required.
  let t = initialLinkState(0)
  for (let i = 1; i < DOWN_AFTER_FAILURES; i++) t = applyProbe(t, fail(UNKNOWN_GRACE_MS + i))
  assert.is(t.state, 'unknown')
})

test('a link that was never up comes up on its first success; one that was up needs the hysteresis', () => {
  const n2 = run(initialLinkState(0), Array.from({ length: DOWN_AFTER_FAILURES }, (_, i) => fail(UNKNOWN_GRACE_MS + 1 + i)))
  assert.is(n2.state, 'down')
  assert.is(applyProbe(n2, ok(UNKNOWN_GRACE_MS + 10)).state, 'up', 'first contact')
  const wasUp = run(initialLinkState(0), [ok(0), ...Array.from({ length: DOWN_AFTER_FAILURES }, (_, i) => fail(100 * (i + 1)))])
  assert.is(wasUp.state, 'down')
  assert.is(applyProbe(wasUp, ok(100 * (DOWN_AFTER_FAILURES + 1))).state, 'down', 'one success is not enough once it has flapped')
})

test('costClass follows the RTT only on a 4x change, so jitter never re-ranks relays', () => {
  let s = applyProbe(initialLinkState(0), { ok: true, rttMs: 3, at: 0 })
  const first = s.costClass
  for (let i = 1; i < 50; i++) s = applyProbe(s, { ok: true, rttMs: i % 2 === 0 ? 2 : 6, at: i * 100 })
  assert.is(s.costClass, first, 'jitter between 2 and 6 ms keeps the class')
  for (let i = 50; i < 120; i++) s = applyProbe(s, { ok: true, rttMs: 200, at: i * 100 })
  assert.ok(s.costClass >= first + 2, `a real slowdown moves it (${first} -> ${s.costClass})`)
})

test('costClass: a rise is priced at once but not undone within the hold time, so load cannot make relays oscillate', () => {
  // A starting mesh: inflated first RTTs fall freely (no rise to hold).
  let s = applyProbe(initialLinkState(0), { ok: true, rttMs: 3000, at: 0 })
  let t = 0
  const probe = (rttMs: number): void => { t += 100; s = applyProbe(s, { ok: true, rttMs, at: t }) }
  for (let i = 0; i < 60; i++) probe(1)
  const idle = s.costClass
  assert.ok(idle <= 2, `startup RTTs fell at once (class ${idle})`)
  for (let i = 0; i < 30; i++) probe(300) // relayed traffic queues behind this link
  const loaded = s.costClass
  assert.ok(loaded >= idle + 2, `the slowdown moved it once (${idle} -> ${loaded})`)
  const movedAt = s.costRaisedAt
  for (let i = 0; i < 30; i++) probe(1) // the traffic moved elsewhere: RTT back to idle at once
  assert.is(s.costClass, loaded, 'held: no move back within the hold time')
  while (t - movedAt < COST_CLASS_HOLD_MS) probe(1)
  probe(1)
  assert.ok(s.costClass <= idle + 1, `after the hold it follows the RTT again (${loaded} -> ${s.costClass})`)
})

test('up survives DOWN_AFTER_FAILURES - 1 lost probes; a success in between resets the count', () => {
  const lost = (from: number): ReturnType<typeof fail>[] => Array.from({ length: DOWN_AFTER_FAILURES - 1 }, (_, i) => fail(from + i * 300))
  const s = run(initialLinkState(0), [ok(0), ...lost(300), ok(3000), ...lost(3300)])
  assert.is(s.state, 'up')
  assert.is(s.since, 0)
  assert.is(run(s, [fail(6000)]).state, 'down')
})

test('down comes back only after UP_AFTER_SUCCESSES successes AND MIN_DOWN_MS down', () => {
  const s = downAt(1000)
  const downT = 1000 + (DOWN_AFTER_FAILURES - 1) * 300
  assert.equal([s.state, s.since], ['down', downT])
  const fast = run(s, Array.from({ length: UP_AFTER_SUCCESSES + 2 }, (_, i) => ok(downT + 100 + i * 300)))
  assert.is(fast.state, 'down', 'successes within MIN_DOWN_MS do not bring it up')
  const later = applyProbe(fast, ok(downT + MIN_DOWN_MS))
  assert.equal([later.state, later.since], ['up', downT + MIN_DOWN_MS])
})

test('down needs consecutive successes even after MIN_DOWN_MS', () => {
  const s = downAt(0)
  const t = (DOWN_AFTER_FAILURES - 1) * 300 + MIN_DOWN_MS
  const flappy = run(s, [ok(t), ok(t + 300), fail(t + 600), ok(t + 900), ok(t + 1200)])
  assert.is(flappy.state, 'down')
  assert.is(applyProbe(flappy, ok(t + 1500)).state, 'up')
})

test('RTT is smoothed 0.8/0.2 and kept across failures', () => {
  const s = run(initialLinkState(0), [ok(0, 10), ok(300, 20), fail(600)])
  assert.ok(Math.abs((s.rttMs ?? 0) - 12) < 1e-9)
  assert.is(applyProbe(s, { ok: true, at: 900 }).rttMs, s.rttMs, 'a success without RTT keeps the estimate')
})

test('a stale handshake forces down at once; fresh or missing handshakes change nothing', () => {
  const up = applyProbe(initialLinkState(0), ok(0))
  assert.is(applyHandshakeAge(up, null, 10), up)
  assert.is(applyHandshakeAge(up, HANDSHAKE_STALE_MS, 10), up)
  const stale = applyHandshakeAge(up, HANDSHAKE_STALE_MS + 1, 5000)
  assert.equal([stale.state, stale.since], ['down', 5000])
  assert.is(applyHandshakeAge(stale, HANDSHAKE_STALE_MS + 1, 6000).since, 5000)
})

test('options override the timing constants', () => {
  const s = applyProbe(applyProbe(initialLinkState(0), ok(0)), fail(10), { downAfterFailures: 1 })
  assert.is(s.state, 'down')
  assert.is(applyProbe(s, ok(20), { upAfterSuccesses: 1, minDownMs: 0 }).state, 'up')
})

test('rttClass is ceil(log2(rtt + 1)) clamped to 0..15, and 0 up to the LAN floor', () => {
  const table: Array<[number | null, number]> = [
    [null, 0], [0, 0], [-5, 0], [Number.NaN, 0], [0.4, 0], [1, 0], [4, 0], [RTT_CLASS_FLOOR_MS, 0], [RTT_CLASS_FLOOR_MS + 1, 5], [100, 7], [1000, 10], [1e9, 15]
  ]
  for (const [rtt, cls] of table) assert.is(rttClass(rtt), cls, `rtt ${String(rtt)}`)
})

test.run()
