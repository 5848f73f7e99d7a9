/**
 * Time as the protocol core sees it: a clock to read and timers to arm, both
 * injected. The core never reads the wall clock or calls setTimeout itself,
 * so many nodes can run in one process under one fake time (src/time/fake.ts)
 * and every timing decision is testable. The real ones are in system.ts.
 */

/** Reads the time in milliseconds (the wall clock's epoch for the real one). */
export interface Clock { now: () => number }

/** Stops a timer; calling it twice is harmless. */
export type Cancel = () => void

/** Arms timers. Real timers never keep the process alive on their own (unref). */
export interface Timers {
  setTimeout: (fn: () => void, ms: number) => Cancel
  setInterval: (fn: () => void, ms: number) => Cancel
}

/** What a core part is given: one clock and the timers that run on it. */
export interface Time extends Clock, Timers {}

/** sleep waits `ms` on the given timers (a fake time advances it; a real one waits). */
export async function sleep (timers: Timers, ms: number): Promise<void> {
  await new Promise<void>(resolve => { timers.setTimeout(resolve, ms) })
}

/**
 * debounce coalesces a burst of calls into one call of `fn`, `ms` after the
 * first of the burst.
 */
export function debounce (timers: Timers, ms: number, fn: () => void): (() => void) & { cancel: () => void } {
  let cancel: Cancel | null = null
  const run = (): void => {
    if (cancel !== null) return
    cancel = timers.setTimeout(() => { cancel = null; fn() }, ms)
  }
  return Object.assign(run, { cancel: () => { cancel?.(); cancel = null } })
}
