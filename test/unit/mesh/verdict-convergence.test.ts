/**
 * Property: observers that run the verdict reducer over the same watcher
 * assignment agree on every member's fate, whatever order, duplication and
 * tick timing the flooded verdicts arrive in: crashed members (accused by
 * some of their watchers) end dead, live members accused by one hostile
 * watcher end alive after their refutation. Messages go through the wire codec.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { assignWatchers } from '../../../src/mesh/watchers.ts'
import { DEFAULT_VERDICT_CONFIG, initialVerdict, stepVerdict } from '../../../src/mesh/verdict.ts'
import { decodeVerdict, encodeVerdict } from '../../../src/mesh/verdict-messages.ts'
import type { MemberVerdict } from '../../../src/mesh/verdict.ts'

const MEMBERS = Array.from({ length: 40 }, (_, i) => `12D3KooW${String(i).padStart(44, 'm')}`)
const assignment = assignWatchers(MEMBERS)

interface Wire { readonly from: string, readonly bytes: Uint8Array }

test('observers agree: crashed members end dead, a hostile lone accusation ends refuted', () => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.integer({ min: 0, max: MEMBERS.length - 1 }), { minLength: 2, maxLength: 6 }),
    fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    fc.array(fc.tuple(fc.integer(), fc.boolean()), { minLength: 5, maxLength: 5 }),
    (picked, confirmMask, observers) => {
      const [liveIdx, ...crashedIdx] = picked as [number, ...number[]]
      const live = MEMBERS[liveIdx] as string
      const crashed = crashedIdx.map(i => MEMBERS[i] as string)
      const wire: Wire[] = []
      for (const [ci, c] of crashed.entries()) {
        // At least one watcher of each crashed member saw its redial refused; others may only suspect.
        assignment.watchersOf(c).forEach((w, wi) => {
          const t = wi === 0 || confirmMask[(ci + wi) % 8] === true ? 'confirm' : 'suspect'
          wire.push({ from: w, bytes: encodeVerdict({ v: 1, t, target: c, inc: 1 }) })
        })
      }
      const liar = assignment.watchersOf(live)[0] as string
      wire.push({ from: liar, bytes: encodeVerdict({ v: 1, t: 'confirm', target: live, inc: 1 }) })
      wire.push({ from: live, bytes: encodeVerdict({ v: 1, t: 'alive', inc: 2 }) })
      const finals = observers.map(([seed, tickBetween]) => observe(shuffle(duplicate(wire, seed), seed), tickBetween))
      for (const f of finals) {
        for (const c of crashed) assert.is(f.get(c)?.status, 'dead', `crashed ${c}`)
        assert.is(f.get(live)?.status, 'alive', 'live member')
        assert.is(f.get(live)?.incarnation, 2)
      }
    }
  ), { numRuns: 150 })
})

/** observe runs one observer: every member starts alive at incarnation 1; messages arrive 100 ms apart. */
function observe (wire: readonly Wire[], tickBetween: boolean): Map<string, MemberVerdict> {
  const state = new Map(MEMBERS.map(m => [m, initialVerdict(1)]))
  let at = 0
  const tickAll = (): void => { for (const [m, s] of state) state.set(m, stepVerdict(s, { type: 'tick', at }, DEFAULT_VERDICT_CONFIG, () => false).state) }
  for (const w of wire) {
    at += 100
    const { target, event } = decodeVerdict(w.bytes, w.from, at)
    const s = state.get(target) as MemberVerdict
    state.set(target, stepVerdict(s, event, DEFAULT_VERDICT_CONFIG, by => assignment.isWatcher(by, target)).state)
    if (tickBetween) { at += 2_000; tickAll() }
  }
  at += 60_000
  tickAll()
  return state
}

function duplicate (xs: readonly Wire[], seed: number): Wire[] {
  return xs.flatMap((x, i) => ((seed >>> (i % 31)) & 1) === 1 ? [x, x] : [x])
}

function shuffle<T> (xs: readonly T[], seed: number): T[] {
  const out = [...xs]
  let a = seed >>> 0
  for (let i = out.length - 1; i > 0; i--) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0
    const j = a % (i + 1)
    const t = out[i] as T; out[i] = out[j] as T; out[j] = t
  }
  return out
}

test.run()
