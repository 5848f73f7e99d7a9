import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_PROBE_SCHEDULE as C, initialProbeState, stepProbeSchedule } from '../../../src/routing/probe-schedule.ts'
import type { PeerFacts, PeerProbeState, ProbeReason } from '../../../src/routing/probe-schedule.ts'

const TICK = 100

/** Runs the schedule over [from, to) with counters from `traffic(at)`; returns the probes sent. */
function run (traffic: (at: number) => { rx: number, tx: number }, to: number, facts: PeerFacts = { watched: false, linkDown: false }, from = 0, start: PeerProbeState = initialProbeState()): Array<{ at: number, why: ProbeReason }> {
  let s = start
  const probes: Array<{ at: number, why: ProbeReason }> = []
  for (let at = from; at < to; at += TICK) {
    const r = stepProbeSchedule(s, { at, ...traffic(at) }, facts)
    s = r.state
    if (r.probe !== null) probes.push({ at, why: r.probe })
  }
  return probes
}

test('an idle peer is never probed', () => {
  assert.equal(run(() => ({ rx: 0, tx: 0 }), 120_000), [])
})

test('traffic both ways costs no probes: received bytes prove the path', () => {
  const both = (at: number): { rx: number, tx: number } => ({ rx: at, tx: at })
  const probes = run(both, 60_000)
  assert.ok(probes.every(p => p.why === 'waking'), 'only the first-packet burst')
  assert.is(probes.length, C.burstProbes)
})

test('the first packet to an idle peer triggers a burst at once, 100 ms apart', () => {
  const wake = (at: number): { rx: number, tx: number } => ({ rx: at >= 150 ? 1 : 0, tx: at >= 100 ? 1 : 0 })
  assert.equal(run(wake, 2_000).map(p => p.at), [100, 200, 300])
})

test('outbound-only traffic is probed once per second while nothing comes back', () => {
  const oneWay = (at: number): { rx: number, tx: number } => ({ rx: 0, tx: at })
  const probes = run(oneWay, 10_000).filter(p => p.why === 'one-way')
  assert.ok(probes.length >= 8 && probes.length <= 10, `${probes.length} one-way probes in 10 s`)
  const afterStop = run(at => ({ rx: 0, tx: Math.min(at, 5_000) }), 60_000).filter(p => p.at > 8_000)
  assert.equal(afterStop, [], 'traffic stopped: probing stops')
})

test('a down link is re-probed with doubling backoff up to the cap', () => {
  const probes = run(() => ({ rx: 0, tx: 0 }), 200_000, { watched: false, linkDown: true }).map(p => p.at)
  const gaps = probes.slice(1).map((t, i) => t - (probes[i] as number))
  assert.equal(gaps.slice(0, 5), [2_000, 4_000, 8_000, 16_000, 32_000])
  assert.ok(gaps.every(g => g <= C.downMaxMs))
})

test('a watched idle peer is probed every watchEveryMs', () => {
  const probes = run(() => ({ rx: 0, tx: 0 }), 30_000, { watched: true, linkDown: false })
  assert.ok(probes.every(p => p.why === 'watched'))
  assert.is(probes.length, 6)
})

test.run()
