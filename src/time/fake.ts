/**
 * A fake Time for tests and simulations: time stands still until `advance`
 * moves it, then every timer that falls due runs in time order, with the
 * microtask queue (and one turn of the real event loop) drained after each,
 * so async chains started by a timer finish before the next one fires.
 */
import type { Cancel, Time } from './clock.ts'

interface Entry { at: number, seq: number, fn: () => void, every: number | null, live: boolean }

export interface FakeTime extends Time {
  /** Moves time forward by `ms`, running what falls due. */
  advance: (ms: number) => Promise<void>
  /** Lets pending promises settle without moving time. */
  settle: () => Promise<void>
  /** Number of armed timers (leak checks). */
  readonly pending: number
  /**
   * scope is a view of this time whose timers can all be cancelled at once
   * (a crashed node's), after which it arms nothing more.
   */
  scope: () => Time & { kill: () => void, readonly pending: number }
}

/** yieldTurn lets promise chains (and work queued on the real loop, e.g. crypto) run. */
async function yieldTurn (): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise<void>(resolve => { setImmediate(resolve) })
}

export function createFakeTime (start = 1_700_000_000_000): FakeTime {
  let now = start
  let seq = 0
  const entries = new Set<Entry>()
  const arm = (fn: () => void, ms: number, every: number | null): Cancel => {
    const e: Entry = { at: now + Math.max(0, ms), seq: seq++, fn, every, live: true }
    entries.add(e)
    return () => { e.live = false; entries.delete(e) }
  }
  const next = (until: number): Entry | null => {
    let best: Entry | null = null
    for (const e of entries) if (e.at <= until && (best === null || e.at < best.at || (e.at === best.at && e.seq < best.seq))) best = e
    return best
  }
  const scope = (): Time & { kill: () => void, readonly pending: number } => {
    const mine = new Set<Cancel>()
    let dead = false
    const track = (every: boolean) => (fn: () => void, ms: number): Cancel => {
      if (dead) return () => {}
      const wrapped = (): void => { mine.delete(wrapped); raw() }
      const raw = arm(() => { if (!every) mine.delete(wrapped); fn() }, ms, every ? Math.max(1, ms) : null)
      mine.add(wrapped)
      return wrapped
    }
    return {
      now: () => now,
      setTimeout: track(false),
      setInterval: track(true),
      get pending () { return mine.size },
      kill: () => { dead = true; for (const c of [...mine]) c(); mine.clear() }
    }
  }
  return {
    scope,
    now: () => now,
    setTimeout: (fn, ms) => arm(fn, ms, null),
    setInterval: (fn, ms) => arm(fn, ms, Math.max(1, ms)),
    get pending () { return entries.size },
    settle: yieldTurn,
    advance: async (ms) => {
      const until = now + ms
      await yieldTurn()
      for (let e = next(until); e !== null; e = next(until)) {
        now = Math.max(now, e.at)
        if (e.every === null) entries.delete(e)
        else { e.at += e.every; e.seq = seq++ }
        e.fn()
        await yieldTurn()
      }
      now = until
      await yieldTurn()
    }
  }
}
