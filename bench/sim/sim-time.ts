/**
 * Virtual time for the simulator: the `Time` port (src/time/clock.ts) on a
 * calendar of integer milliseconds. Every timer and every network delivery
 * is an event in one bucket per millisecond; `runUntil` runs the buckets in
 * order and, after each millisecond, gives the real event loop one turn so
 * the async chains the events started (verifications, awaits) finish before
 * time moves on. Nothing sleeps: a virtual second costs only its events.
 *
 * Unlike src/time/fake.ts (a linear scan of armed timers, four loop turns per
 * timer), the cost here is O(log distinct-ms) per event, which is what lets
 * a thousand cores share one clock.
 */
import type { Cancel, Time } from '../../src/time/clock.ts'

interface Entry { fn: () => void, live: boolean, every: number }

/** A min-heap of the distinct milliseconds that have events. */
class KeyHeap {
  private readonly a: number[] = []
  get size (): number { return this.a.length }
  peek (): number | undefined { return this.a[0] }
  push (k: number): void {
    const a = this.a
    a.push(k)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if ((a[p] as number) <= k) break
      a[i] = a[p] as number; i = p
    }
    a[i] = k
  }
  pop (): number | undefined {
    const a = this.a
    const top = a[0]
    const last = a.pop()
    if (a.length === 0 || last === undefined) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= a.length) break
      const r = l + 1
      const c = r < a.length && (a[r] as number) < (a[l] as number) ? r : l
      if ((a[c] as number) >= last) break
      a[i] = a[c] as number; i = c
    }
    a[i] = last
    return top
  }
}

export type SimScope = Time & { kill: () => void, readonly pending: number }

export class SimTime implements Time {
  /** Events run so far (the simulator's own cost figure). */
  events = 0
  private t: number
  private readonly buckets = new Map<number, Entry[]>()
  private readonly keys = new KeyHeap()

  constructor (start = 1_700_000_000_000) { this.t = start }

  now = (): number => this.t

  setTimeout = (fn: () => void, ms: number): Cancel => this.arm(fn, ms, 0)
  setInterval = (fn: () => void, ms: number): Cancel => this.arm(fn, ms, Math.max(1, Math.ceil(ms)))

  /** at runs `fn` after `ms` (a network delivery): no cancel handle, cheaper. */
  at (ms: number, fn: () => void): void { this.place(this.t + Math.max(0, Math.ceil(ms)), { fn, live: true, every: 0 }) }

  /** scope: timers that can all be cancelled at once (a crashed node's); afterwards it arms nothing. */
  scope (): SimScope {
    const mine = new Set<Cancel>()
    let dead = false
    const track = (every: boolean) => (fn: () => void, ms: number): Cancel => {
      if (dead) return () => {}
      const cancel = every
        ? this.setInterval(fn, ms)
        : this.setTimeout(() => { mine.delete(wrapped); fn() }, ms)
      const wrapped = (): void => { mine.delete(wrapped); cancel() }
      mine.add(wrapped)
      return wrapped
    }
    return {
      now: this.now,
      setTimeout: track(false),
      setInterval: track(true),
      get pending () { return mine.size },
      kill: () => { dead = true; for (const c of [...mine]) c(); mine.clear() }
    }
  }

  /** runUntil runs every event up to and including `until`, then sets the clock there. */
  async runUntil (until: number, wallBudgetMs = Infinity): Promise<void> {
    until = Math.ceil(until) // the clock stays on whole milliseconds (records carry integer times)
    const deadline = Date.now() + wallBudgetMs
    await turn()
    for (let k = this.keys.peek(); k !== undefined && k <= until; k = this.keys.peek()) {
      this.keys.pop()
      this.t = Math.max(this.t, k)
      // Events added at this same millisecond (by the events, or by the async work after them) run in this round.
      for (let bucket = this.buckets.get(k); bucket !== undefined; bucket = this.buckets.get(k)) {
        this.buckets.delete(k)
        for (const e of bucket) {
          if (!e.live) continue
          this.events++
          if (e.every > 0) this.place(k + e.every, e)
          e.fn()
        }
        await turn()
      }
      if (Date.now() > deadline) throw new SimBudgetError(this.t)
    }
    this.t = Math.max(this.t, until)
    await turn()
  }

  async runFor (ms: number, wallBudgetMs = Infinity): Promise<void> { await this.runUntil(this.t + ms, wallBudgetMs) }

  private arm (fn: () => void, ms: number, every: number): Cancel {
    const e: Entry = { fn, live: true, every }
    this.place(this.t + Math.max(0, Math.ceil(ms)), e)
    return () => { e.live = false }
  }

  private place (at: number, e: Entry): void {
    const b = this.buckets.get(at)
    if (b === undefined) { this.buckets.set(at, [e]); this.keys.push(at) } else b.push(e)
  }
}

/** Thrown when a run exceeds its wall-clock budget. */
export class SimBudgetError extends Error {
  readonly virtualAt: number
  constructor (at: number) { super('simulation exceeded its wall-clock budget'); this.virtualAt = at }
}

/** turn: one turn of the real event loop (drains promise chains and setImmediate work). */
async function turn (): Promise<void> { await new Promise<void>(resolve => { setImmediate(resolve) }) }
