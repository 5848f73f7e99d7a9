/**
 * Timing from the outside: the bench polls (admin API, `wg show`, ping) and records wall-clock
 * times in epoch milliseconds. Resolution is the poll interval plus one probe (~0.1 s).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Lab } from '../netns/lab.ts'

export const POLL_MS = 50

/** Wall clock in epoch milliseconds (sub-ms precision; comparable with `ping -D` and $EPOCHREALTIME). */
export function nowMs (): number {
  return performance.timeOrigin + performance.now()
}

/**
 * Calls `check` every `intervalMs` until it returns true; resolves with the epoch ms at which the
 * successful check completed (a conservative bound), or null at the deadline. Throws = not yet.
 */
export async function pollUntil (check: () => Promise<boolean>, deadlineMs: number, intervalMs = POLL_MS): Promise<number | null> {
  for (;;) {
    try {
      if (await check()) return nowMs()
    } catch { /* not yet */ }
    if (nowMs() + intervalMs > deadlineMs) return null
    await sleep(intervalMs)
  }
}

// One ping process sends every 50 ms until the first reply or its deadline; it is restarted when
// it exits early (no route yet: the interface is not up). Prints the time of the first reply.
const PING_UNTIL = `
addr=$1; end=$(( EPOCHSECONDS + $2 ))
while (( EPOCHSECONDS < end )); do
  left=$(( end - EPOCHSECONDS )); (( left < 1 )) && left=1
  if ping -n -q -c 1 -i 0.05 -w "$left" "$addr" >/dev/null 2>&1; then echo "$EPOCHREALTIME"; exit 0; fi
  sleep 0.1
done
exit 1`

/** Pings `address` (IPv4 or IPv6; ping picks the family) from host i, 20 per second, until one reply; epoch ms of it, or null. */
export async function pingUntil (lab: Lab, i: number, address: string, deadlineMs: number): Promise<number | null> {
  const seconds = Math.max(1, Math.ceil((deadlineMs - nowMs()) / 1000))
  const r = await lab.exec(i, 'bash', ['-c', PING_UNTIL, 'ping-until', address, String(seconds)], { timeoutMs: seconds * 1000 + 5000 })
  const t = Number(r.stdout.trim().replace(',', '.'))
  return r.code === 0 && Number.isFinite(t) && t > 0 ? t * 1000 : null
}

/** Seconds between two epoch-ms times, or null when the end is missing. */
export function elapsedS (t0: number, t: number | null): number | null {
  return t === null ? null : (t - t0) / 1000
}

/** The latest of per-host times, or null if any of them is missing. */
export function latest (times: ReadonlyArray<number | null>): number | null {
  if (times.some(t => t === null)) return null
  return Math.max(...(times as number[]))
}
