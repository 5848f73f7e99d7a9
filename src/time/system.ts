/**
 * The real clock and timers (wall clock, Node timers). Only composition
 * roots and adapters use this file; the core gets a Time injected.
 */
import type { Time } from './clock.ts'

/** systemTime reads Date.now and arms unref'd Node timers. */
export const systemTime: Time = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref()
    return () => { clearTimeout(t) }
  },
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms)
    t.unref()
    return () => { clearInterval(t) }
  }
}

/** monotonicMs is a clock that never steps (for RTTs). */
export const monotonicMs = (): number => performance.now()
