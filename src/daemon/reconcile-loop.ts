/**
 * A serialized, coalescing "make it so" loop: any number of schedule() calls
 * while a pass runs collapse into one more pass. A failed pass is logged and
 * retried with backoff; the loop itself never throws.
 */
import type { Logger } from '../log.ts'
import type { Cancel, Timers } from '../time/clock.ts'

export interface ReconcileLoop {
  /** Requests a pass soon (coalesced). */
  schedule (): void
  /** Resolves after the next complete pass (tests, startup). */
  settle (): Promise<void>
  stop (): void
}

const COALESCE_MS = 5
const RETRY_MS = [200, 500, 1000, 2000, 5000]

export function createReconcileLoop (pass: () => Promise<void>, log: Logger, timers: Timers): ReconcileLoop {
  let timer: Cancel | null = null
  let running = false
  let again = false
  let stopped = false
  let failures = 0
  let waiters: Array<() => void> = []

  const run = async (): Promise<void> => {
    timer = null
    if (stopped) return
    if (running) { again = true; return }
    running = true
    try {
      await pass()
      failures = 0
      const done = waiters; waiters = []
      done.forEach(w => { w() })
    } catch (err) {
      const delay = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)] ?? 5000
      failures++
      log.warn({ err, retryMs: delay }, 'reconcile failed; retrying')
      if (!stopped) timers.setTimeout(schedule, delay)
    } finally {
      running = false
      if (again && !stopped) { again = false; schedule() }
    }
  }

  function schedule (): void {
    if (stopped || timer !== null) return
    timer = timers.setTimeout(() => { void run() }, COALESCE_MS)
  }

  return {
    schedule,
    settle: () => new Promise<void>(resolve => { waiters.push(resolve); schedule() }),
    stop: () => {
      stopped = true
      timer?.()
      const done = waiters; waiters = []
      done.forEach(w => { w() })
    }
  }
}
