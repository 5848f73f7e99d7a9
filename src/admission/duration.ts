/**
 * Durations on the command line: a positive integer and one unit, `90m`,
 * `12h`, `30d` (also `s` for tests and short drills). Nothing else: no
 * fractions, no combinations, no bare numbers, because an admin typing
 * `--expires 30` must not silently get 30 ms.
 */
import { GridmeshError, ErrorCodes } from '../errors.ts'

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION_RE = /^([1-9]\d{0,6})([smhd])$/

/**
 * parseDuration turns `30d` / `12h` / `90m` / `45s` into milliseconds, at
 * most `maxMs`. Throws GridmeshError USAGE (exit 2) naming `flag` otherwise.
 */
export function parseDuration (s: string, flag: string, maxMs: number): number {
  const match = DURATION_RE.exec(s.trim())
  const unit = match?.[2] as keyof typeof UNIT_MS | undefined
  if (match === null || unit === undefined) {
    throw new GridmeshError(ErrorCodes.USAGE, `${flag} ${JSON.stringify(s)} is not a duration; use a number and a unit, e.g. 90m, 12h or 30d`, { flag })
  }
  const ms = Number(match[1]) * UNIT_MS[unit]
  if (ms > maxMs) {
    throw new GridmeshError(ErrorCodes.USAGE, `${flag} ${s} is longer than the maximum ${formatDuration(maxMs)}`, { flag })
  }
  return ms
}

/** formatDuration renders milliseconds with the largest unit that divides them exactly (`30d`, `90m`). */
export function formatDuration (ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`
  }
  return `${ms}ms`
}
