/** Small statistics over repeated samples; null marks a measurement that failed or timed out. */
export type Sample = number | null

export interface Summary { n: number, failed: number, median: number | null, min: number | null, max: number | null }

export function median (xs: readonly number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] ?? null : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

export function max (xs: readonly number[]): number | null {
  return xs.length === 0 ? null : Math.max(...xs)
}

export function summarize (samples: readonly Sample[]): Summary {
  const ok = samples.filter((x): x is number => x !== null)
  return { n: samples.length, failed: samples.length - ok.length, median: median(ok), min: ok.length > 0 ? Math.min(...ok) : null, max: max(ok) }
}

/** "1.23" or "1.23 (1.10–1.40)" when there is more than one sample; "FAIL" marks failed samples. */
export function formatSummary (s: Summary, digits: number): string {
  if (s.n === 0) return '–'
  if (s.median === null || s.min === null || s.max === null) return 'FAIL'
  const f = (x: number): string => x.toFixed(digits)
  const core = s.n > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median)
  return s.failed > 0 ? `${core} +${s.failed} FAIL` : core
}
