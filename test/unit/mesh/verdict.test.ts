import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_VERDICT_CONFIG, initialVerdict, refutation, stepVerdict } from '../../../src/mesh/verdict.ts'
import type { MemberVerdict, VerdictEvent } from '../../../src/mesh/verdict.ts'

const cfg = DEFAULT_VERDICT_CONFIG // quorum 2, suspicion 4 s, confirm grace 1 s
const WATCHERS = new Set(['w1', 'w2', 'w3', 'w4'])
const isWatcher = (by: string): boolean => WATCHERS.has(by)

function run (events: VerdictEvent[], from: MemberVerdict = initialVerdict(1)): MemberVerdict {
  return events.reduce((s, ev) => stepVerdict(s, ev, cfg, isWatcher).state, from)
}

test('a lone refused redial kills after the confirm grace, unless refuted', () => {
  const accused = run([{ type: 'confirm', by: 'w1', incarnation: 1, at: 0 }])
  assert.is(accused.status, 'suspect')
  assert.is(run([{ type: 'tick', at: 999 }], accused).status, 'suspect')
  const gone = run([{ type: 'tick', at: 1_000 }], accused)
  assert.is(gone.status, 'dead')
  assert.is(gone.deathReason, 'confirmed')
})

test('a lone suspicion kills only after the suspicion timeout', () => {
  const s = run([{ type: 'suspect', by: 'w2', incarnation: 1, at: 0 }, { type: 'tick', at: 3_999 }])
  assert.is(s.status, 'suspect')
  assert.is(run([{ type: 'tick', at: 4_000 }], s).deathReason, 'suspicion-timeout')
})

test('two distinct watchers (the quorum) kill at once; one watcher twice does not', () => {
  assert.is(run([{ type: 'suspect', by: 'w1', incarnation: 1, at: 0 }, { type: 'suspect', by: 'w1', incarnation: 1, at: 5 }]).status, 'suspect')
  const s = run([{ type: 'suspect', by: 'w1', incarnation: 1, at: 0 }, { type: 'suspect', by: 'w3', incarnation: 1, at: 5 }])
  assert.is(s.status, 'dead')
  assert.is(s.deathReason, 'quorum')
})

test('only the member\'s watchers may accuse', () => {
  const r = stepVerdict(initialVerdict(1), { type: 'confirm', by: 'stranger', incarnation: 1, at: 0 }, cfg, isWatcher)
  assert.is(r.effect, 'refused')
  assert.is(r.state.status, 'alive')
})

test('refutation: the accused answers with a higher incarnation and stays alive; old accusations are stale', () => {
  const accused = run([{ type: 'confirm', by: 'w1', incarnation: 1, at: 0 }])
  assert.equal(refutation(accused), { type: 'alive', incarnation: 2 })
  const refuted = run([{ type: 'alive', incarnation: 2, at: 300 }, { type: 'tick', at: 10_000 }], accused)
  assert.is(refuted.status, 'alive')
  assert.is(stepVerdict(refuted, { type: 'confirm', by: 'w2', incarnation: 1, at: 400 }, cfg, isWatcher).effect, 'stale')
  assert.is(refutation(refuted), null)
})

test('a refuted lone accuser is discredited: it can never again start a deadline alone', () => {
  let s = run([{ type: 'confirm', by: 'w1', incarnation: 1, at: 0 }, { type: 'alive', incarnation: 2, at: 100 }])
  assert.ok(s.discredited.has('w1'))
  s = run([{ type: 'confirm', by: 'w1', incarnation: 2, at: 200 }, { type: 'tick', at: 60_000 }], s)
  assert.is(s.status, 'alive', 'one hostile watcher cannot kill a live member')
  // …but its accusation still counts toward the quorum with an honest watcher.
  assert.is(run([{ type: 'suspect', by: 'w2', incarnation: 2, at: 300 }], s).status, 'dead')
})

test('a member declared dead comes back with a higher incarnation (rejoin); the dead verdict was at the old one', () => {
  const d = run([{ type: 'confirm', by: 'w1', incarnation: 1, at: 0 }, { type: 'confirm', by: 'w2', incarnation: 1, at: 1 }])
  assert.is(d.status, 'dead')
  assert.is(run([{ type: 'alive', incarnation: 1, at: 5 }], d).status, 'dead', 'same incarnation: no')
  assert.is(run([{ type: 'alive', incarnation: 2, at: 5 }], d).status, 'alive')
})

test('leave is final at its incarnation and beats later accusations', () => {
  const s = run([{ type: 'leave', incarnation: 1, at: 0 }, { type: 'confirm', by: 'w1', incarnation: 1, at: 1 }, { type: 'tick', at: 9_000 }])
  assert.is(s.status, 'left')
  assert.is(run([{ type: 'alive', incarnation: 2, at: 10 }], s).status, 'alive', 'a rejoin at a higher incarnation')
})

test('order does not matter between a refutation and the accusation it answers', () => {
  const accuse: VerdictEvent = { type: 'suspect', by: 'w1', incarnation: 1, at: 0 }
  const refute: VerdictEvent = { type: 'alive', incarnation: 2, at: 1 }
  const a = run([accuse, refute, { type: 'tick', at: 9_000 }])
  const b = run([refute, accuse, { type: 'tick', at: 9_000 }])
  assert.is(a.status, 'alive')
  assert.is(b.status, 'alive')
  assert.is(a.incarnation, b.incarnation)
})

test.run()
