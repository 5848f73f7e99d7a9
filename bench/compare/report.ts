/**
 * The comparison's output: one text table (rows = metrics, columns = systems, plus
 * "gridmesh / best other"), the JSON rows, and the SVG chart of the time metrics.
 */
import { renderBarChart, type BarGroup } from '../svg.ts'
import { formatSummary, summarize, type Sample, type Summary } from '../stats.ts'
import type { SystemRep } from './run.ts'
import type { Capabilities } from './system.ts'

export interface SystemResult { name: string, caps: Capabilities, reps: SystemRep[] }

interface Metric { key: string, label: string, unit: string, digits: number, higherIsBetter: boolean, time: boolean, mesh: boolean, pick: (r: SystemRep) => Sample }

const METRICS: readonly Metric[] = [
  { key: 'convergence', label: 'convergence: all N start → all pairs ping', unit: 's', digits: 2, higherIsBetter: false, time: true, mesh: true, pick: r => r.convergenceS },
  { key: 'join', label: 'join: host N starts → reached by all N−1', unit: 's', digits: 2, higherIsBetter: false, time: true, mesh: true, pick: r => r.joinS },
  { key: 'reroute', label: 'reroute: cut 2↔5 → first reply via relay', unit: 's', digits: 2, higherIsBetter: false, time: true, mesh: true, pick: r => r.rerouteS },
  { key: 'purge', label: 'dead-peer purge: kill -9 → dropped by all', unit: 's', digits: 2, higherIsBetter: false, time: true, mesh: true, pick: r => r.purgeS },
  { key: 'direct', label: 'throughput 2→5 direct (iperf3)', unit: 'Mbit/s', digits: 0, higherIsBetter: true, time: false, mesh: false, pick: r => r.directMbps },
  { key: 'directPaused', label: 'throughput direct, control plane paused', unit: 'Mbit/s', digits: 0, higherIsBetter: true, time: false, mesh: true, pick: r => r.directMbpsControlPaused ?? null },
  { key: 'relay', label: 'throughput 2→5 via relay (2↔5 cut)', unit: 'Mbit/s', digits: 0, higherIsBetter: true, time: false, mesh: true, pick: r => r.relayMbps },
  { key: 'rss', label: 'RSS per host (daemon processes)', unit: 'MB', digits: 1, higherIsBetter: false, time: false, mesh: false, pick: r => r.rssMb },
  { key: 'cpu', label: 'idle CPU per host (10 s window)', unit: '% core', digits: 2, higherIsBetter: false, time: false, mesh: false, pick: r => r.idleCpuPct }
]

const CEILING = 'wireguard-go (ceiling)'

function notApplicable (s: SystemResult, m: Metric): boolean {
  if (m.mesh && !s.caps.mesh) return true
  if (m.key === 'directPaused') return s.name !== 'gridmesh'
  return m.key === 'purge' && 'none' in s.caps.purge
}

export interface CompareRow { metric: string, unit: string, columns: Record<string, (Summary & { samples: Sample[] }) | 'n/a'>, gridmeshVsBestOther: number | null, bestOther: string | null }

/** The rows: per metric and system the summary over repetitions, and gridmesh's ratio to the best other mesh system. */
export function compareRows (systems: readonly SystemResult[]): CompareRow[] {
  const rows: CompareRow[] = METRICS.map(m => {
    const columns: CompareRow['columns'] = {}
    for (const s of systems) {
      const samples = s.reps.map(m.pick)
      columns[s.name] = notApplicable(s, m) ? 'n/a' : { ...summarize(samples), samples }
    }
    const med = (name: string): number | null => { const c = columns[name]; return c === undefined || c === 'n/a' ? null : c.median }
    const others = systems.filter(s => s.name !== 'gridmesh' && s.name !== CEILING).map(s => ({ name: s.name, v: med(s.name) }))
      .filter((o): o is { name: string, v: number } => o.v !== null && o.v > 0)
    const best = others.sort((a, b) => m.higherIsBetter ? b.v - a.v : a.v - b.v)[0]
    const g = med('gridmesh')
    return { metric: m.label, unit: m.unit, columns, gridmeshVsBestOther: g !== null && best !== undefined ? g / best.v : null, bestOther: best?.name ?? null }
  })
  const ceiling = systems.find(s => s.name === CEILING)
  const cMed = ceiling === undefined ? null : summarize(ceiling.reps.map(r => r.directMbps)).median
  if (cMed !== null && cMed > 0) {
    const columns: CompareRow['columns'] = {}
    for (const s of systems) {
      const samples = s.reps.map(r => r.directMbps === null ? null : r.directMbps / cMed)
      columns[s.name] = { ...summarize(samples), samples }
    }
    rows.push({ metric: 'direct throughput / ceiling (target ≥ 0.95)', unit: 'ratio', columns, gridmeshVsBestOther: null, bestOther: null })
  }
  return rows
}

/** The aligned text table. */
export function renderCompareTable (title: string, systems: readonly SystemResult[], rows: readonly CompareRow[]): string {
  const header = ['metric', 'unit', ...systems.map(s => s.name), 'gridmesh / best other']
  const body = rows.map(r => [r.metric, r.unit,
    ...systems.map(s => { const c = r.columns[s.name]; return c === undefined ? '–' : c === 'n/a' ? 'n/a' : formatSummary(c, r.unit === 'Mbit/s' ? 0 : 2) }),
    r.gridmeshVsBestOther === null ? '' : `${r.gridmeshVsBestOther.toFixed(2)} (vs ${r.bestOther ?? '?'})`])
  const widths = header.map((h, k) => Math.max(h.length, ...body.map(b => (b[k] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, k) => k < 2 ? c.padEnd(widths[k] ?? 0) : c.padStart(widths[k] ?? 0)).join('  ').trimEnd()
  return [title, line(header), widths.map(w => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}

/** SVG of the four time metrics: groups = metrics, bars = systems (the ceiling has none). */
export function renderCompareSvg (title: string, systems: readonly SystemResult[]): string {
  const series = systems.filter(s => s.caps.mesh)
  const groups: BarGroup[] = METRICS.filter(m => m.time).map(m => ({
    label: m.key,
    values: series.map(s => {
      if (notApplicable(s, m)) return 'n/a'
      const x = summarize(s.reps.map(m.pick))
      return x.median === null || x.min === null || x.max === null ? 'FAIL' : { median: x.median, min: x.min, max: x.max }
    })
  }))
  return renderBarChart({ title, axisLabel: 'seconds', series: series.map(s => s.name), groups })
}
