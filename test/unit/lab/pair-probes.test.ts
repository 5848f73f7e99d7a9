/**
 * The pure part of all-pairs probing (netns/pair-probes.ts): parsing
 * `ping -D -O` logs and measuring outages in ms from the probes' own send
 * times.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { overBudget, parsePingLog, summarizeProbes } from '../../../netns/pair-probes.ts'

const T = 1_700_000_000
const reply = (s: number, seq: number, rttMs: number): string => `[${(T + s + rttMs / 1000).toFixed(6)}] 64 bytes from fd00::1: icmp_seq=${seq} ttl=64 time=${rttMs} ms`
const noAnswer = (s: number, seq: number): string => `[${(T + s + 0.1).toFixed(6)}] no answer yet for icmp_seq=${seq}`

test('replies give exact send times; "no answer yet" lines and silent gaps are lost echoes', () => {
  const log = ['PING fd00::1(fd00::1) 56 data bytes', reply(0, 1, 1), reply(0.1, 2, 1), noAnswer(0.2, 3), reply(0.5, 6, 2), reply(0.6, 7, 1)].join('\n')
  const ev = parsePingLog(log, 100)
  assert.is(ev.length, 7)
  assert.equal(ev.map(e => e.rttMs === null), [false, false, true, true, true, false, false])
  assert.ok(Math.abs((ev[2]?.sentMs ?? 0) - (T + 0.2) * 1000) < 1, 'no-answer echo sent one interval before its line')
  const s = summarizeProbes(ev, { fromMs: T * 1000, toMs: (T + 1) * 1000, timeoutMs: 1000 })
  assert.is(s.sent, 7)
  assert.is(s.answered, 4)
  assert.is(s.outages.length, 1)
  assert.ok(Math.abs(s.maxOutageMs - 300) < 2, `outage from seq 3 (0.2 s) to seq 6 (0.5 s): ${s.maxOutageMs}`)
})

test('a late reply overrides "no answer yet" but counts as lost beyond the timeout', () => {
  const log = [reply(0, 1, 1), noAnswer(0.1, 2), reply(0.1, 2, 600), reply(0.2, 3, 1500), reply(0.3, 4, 1)].join('\n')
  const ev = parsePingLog(log, 100)
  assert.equal(ev.map(e => e.rttMs), [1, 600, 1500, 1])
  const s = summarizeProbes(ev, { fromMs: T * 1000, toMs: (T + 1) * 1000, timeoutMs: 1000 })
  assert.is(s.answered, 3)
  assert.is(s.outages.length, 1)
})

test('an outage still running at the end of the window lasts until the window ends; a dead prober is a loss', () => {
  const log = ['PING x', reply(0, 1, 1), noAnswer(0.1, 2), `[${(T + 0.5).toFixed(6)}] prober exited`, 'PING x', noAnswer(1.0, 1)].join('\n')
  const ev = parsePingLog(log, 100)
  const s = summarizeProbes(ev, { fromMs: T * 1000, toMs: (T + 2) * 1000, timeoutMs: 1000 })
  assert.is(s.answered, 1)
  assert.is(s.sent, 4)
  assert.ok(Math.abs(s.maxOutageMs - 1900) < 2, String(s.maxOutageMs))
})

test('the window bounds what is counted; overBudget names pairs over budget, under delivery or silent', () => {
  const ev = parsePingLog([reply(0, 1, 1), reply(1, 2, 1), noAnswer(2, 3), reply(3, 4, 1)].join('\n'), 100)
  const s = summarizeProbes(ev, { fromMs: (T + 0.5) * 1000, toMs: (T + 1.5) * 1000, timeoutMs: 1000 })
  assert.is(s.sent, 1)
  const all = summarizeProbes(ev, { fromMs: T * 1000, toMs: (T + 4) * 1000, timeoutMs: 1000 })
  const m = new Map([['1>2', all], ['2>1', s], ['1>3', summarizeProbes([], { fromMs: 0, toMs: 1, timeoutMs: 1 })]])
  const bad = overBudget(m, { budgetMs: 500, minDelivery: 0.9, minSent: 1 })
  assert.is(bad.length, 2)
  assert.match(bad[0] ?? '', /^1>2: outage 1000 ms > 500 ms/)
  assert.match(bad[1] ?? '', /^1>3: only 0 probes/)
  assert.equal(overBudget(m, { budgetMs: 1000, minDelivery: 0.75 }), ['1>3: only 0 probes sent'])
})

test('cover: a pair must have answered probes before and after the fault', () => {
  const ev = parsePingLog([reply(0, 1, 1), reply(1, 2, 1), reply(2, 3, 1)].join('\n'), 100)
  const s = new Map([['1>2', summarizeProbes(ev, { fromMs: T * 1000, toMs: (T + 3) * 1000, timeoutMs: 1000 })]])
  assert.equal(overBudget(s, { cover: [(T + 0.5) * 1000, (T + 1.5) * 1000] }), [])
  assert.match(overBudget(s, { cover: [(T + 0.5) * 1000, (T + 2.5) * 1000] })[0] ?? '', /no answered probe both before/)
  assert.match(overBudget(s, { cover: [(T - 1) * 1000, (T + 1) * 1000] })[0] ?? '', /no answered probe both before/)
})

test.run()
