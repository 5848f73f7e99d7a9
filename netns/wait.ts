/**
 * Polling instead of sleeping: tests wait for a condition, with a deadline that names what they
 * were waiting for (the netns.sh `waitiface` pattern).
 */
import { setTimeout as sleep } from 'node:timers/promises'

/** Options for {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number
  /** Pause between attempts (default 200 ms). */
  intervalMs?: number
  /** What we wait for, in words; it is the subject of the timeout error. */
  what: string
}

/**
 * Calls `fn` until it returns a truthy value (which is returned) or the deadline passes.
 * A throw or a falsy result counts as "not yet"; on timeout the Error names `what` and the last
 * failure, so a red test says why it was still failing, not just that it timed out.
 */
export async function waitFor<T> (fn: () => T | Promise<T>, opts: WaitOptions): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const intervalMs = opts.intervalMs ?? 200
  const deadline = Date.now() + timeoutMs
  let last = 'no attempt finished'
  for (;;) {
    try {
      const value = await fn()
      if (value !== undefined && value !== null && value !== false && value !== 0 && value !== '') {
        return value
      }
      last = `returned ${String(value)}`
    } catch (err) {
      last = `threw: ${err instanceof Error ? err.message : String(err)}`
    }
    if (Date.now() + intervalMs > deadline) break
    await sleep(intervalMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what} (last attempt ${last})`)
}
