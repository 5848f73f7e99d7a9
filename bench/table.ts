/**
 * The result table: rows = metrics, columns = N (or one column for the fixed-size metrics),
 * each cell the median (min–max) over repetitions, plus the target and ok / MISS.
 */
import { formatSummary, summarize, type Sample, type Summary } from './stats.ts'

export interface Target {
  /** Upper bound, in the row's unit. */
  max: number
  /** Columns the target is stated for; others are informative. Empty = every column. */
  columns: string[]
  text: string
}

export interface Row {
  metric: string
  unit: string
  digits: number
  /** Column key (e.g. "N=4") → per-repetition samples. */
  cells: Map<string, Sample[]>
  target?: Target
  /** Shown instead of the computed summary (e.g. "19.8 (p95 25.0)"). */
  display?: Map<string, string>
}

export interface RowResult { metric: string, unit: string, target: string | null, status: string, columns: Record<string, Summary & { samples: Sample[] }> }

/** ok / MISS on the median of the target's columns; "*" when those columns were not run and others were judged instead. */
export function status (row: Row): string {
  const target = row.target
  if (target === undefined) return ''
  const wanted = target.columns.filter(c => row.cells.has(c))
  const judged = wanted.length > 0 ? wanted : [...row.cells.keys()]
  const star = target.columns.length > 0 && wanted.length === 0 ? '*' : ''
  if (judged.length === 0) return ''
  const meds = judged.map(c => summarize(row.cells.get(c) ?? []).median)
  return (meds.every(v => v !== null && v <= target.max) ? 'ok' : 'MISS') + star
}

export function rowResult (row: Row): RowResult {
  const columns: RowResult['columns'] = {}
  for (const [c, samples] of row.cells) columns[c] = { ...summarize(samples), samples }
  return { metric: row.metric, unit: row.unit, target: row.target?.text ?? null, status: status(row), columns }
}

/** Renders rows as an aligned text table with the given column keys. */
export function renderTable (title: string, columns: readonly string[], rows: readonly Row[]): string {
  const header = ['metric', 'unit', ...columns, 'target', 'status']
  const body = rows.map(r => [
    r.metric, r.unit,
    ...columns.map(c => r.display?.get(c) ?? (r.cells.has(c) ? formatSummary(summarize(r.cells.get(c) ?? []), r.digits) : '–')),
    r.target?.text ?? '', status(r)
  ])
  const widths = header.map((h, k) => Math.max(h.length, ...body.map(b => (b[k] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, k) => k < 2 ? c.padEnd(widths[k] ?? 0) : c.padStart(widths[k] ?? 0)).join('  ').trimEnd()
  const rule = widths.map(w => '-'.repeat(w)).join('  ')
  return [title, line(header), rule, ...body.map(line)].join('\n')
}
