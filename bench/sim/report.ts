/**
 * The simulator's table (markdown, printed) and plot (SVG through
 * bench/svg.ts): per-node cost against N, simulated beside the cost model's
 * "before" column, and the event timings.
 */
import { renderBarChart, type BarValue } from '../svg.ts'
import { GOSSIP_COUNTING } from './wire.ts'
import type { Options, SizeResult } from './main.ts'

export function human (bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`
  return `${bytes.toFixed(0)} B`
}

const ms = (x: number | null | undefined): string => x === null || x === undefined ? 'never' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`

function notRun (r: SizeResult): string {
  return r.estimatedMin === undefined ? 'not run' : `not run: estimated ${r.estimatedMin >= 60 ? `${(r.estimatedMin / 60).toFixed(1)} h` : `${r.estimatedMin.toFixed(0)} min`}`
}

export function renderReport (results: readonly SizeResult[], o: Options): string {
  const out: string[] = []
  out.push(`# gridmesh simulator: today's protocol (seed ${o.seed}, steady window ${o.seconds} s, loss ${o.loss})`, '')
  out.push(`Per node, steady state (after the join and ${o.settle} s to settle); bytes and messages in + out per second, mean (max) over nodes;`,
    'model = scale branch cost model, "before" column, in + out.', '')
  out.push('| N | wall | virtual | B/s sim | B/s model | out B/s sim | msg/s sim | msg/s model | sig checks/s sim (gossip + record) | sig/s model | member table | link table | heap/node |')
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of results) {
    const m = r.model
    const mB = m === null ? '–' : human(m.bytes); const mM = m === null ? '–' : m.msgs.toFixed(0); const mS = m === null ? '–' : m.sigChecks.toFixed(1)
    const s = r.steady
    if (r.status === 'not run' || s === undefined) {
      const why = r.status === 'not run' ? notRun(r) : `aborted: ${r.note ?? ''}, estimated ${(r.estimatedMin ?? 0).toFixed(0)} min`
      out.push(`| ${r.n.toLocaleString('en-US')} | ${why} | | | ${mB} | | | ${mM} | | ${mS} | | | |`)
      continue
    }
    const mem = r.memory
    out.push(`| ${r.n.toLocaleString('en-US')} | ${(r.wallMs / 1000).toFixed(0)} s | ${(r.virtualMs / 1000).toFixed(0)} s | ${human(s.bytes.mean)} (${human(s.bytes.max)}) | ${mB} | ${human(s.bytesOut.mean)} | ` +
      `${s.msgs.mean.toFixed(0)} (${s.msgs.max.toFixed(0)}) | ${mM} | ${s.sigChecks.toFixed(1)} (${s.gossipChecks.toFixed(1)} + ${s.recordChecks.toFixed(1)}) | ${mS} | ` +
      `${mem === undefined ? '–' : `${mem.members} entries, ≈${human(mem.memberBytes)}`} | ${mem === undefined ? '–' : `${mem.links} entries, ≈${human(mem.linkBytes)}`} | ${r.heapMbPerNode === undefined ? '–' : `${r.heapMbPerNode.toFixed(1)} MB`} |`)
  }
  out.push('', 'Out bytes per node per second by kind (mean):', '')
  out.push('| N | publish | forward | IHAVE | GRAFT/PRUNE | probes | roster | DHT (modelled RPCs) | connect | gossip mesh degree |')
  out.push('|---|---|---|---|---|---|---|---|---|---|')
  for (const r of results) {
    const k = r.steady?.outByKind
    if (k === undefined) continue
    out.push(`| ${r.n} | ${human(k.publish.bytes)} | ${human(k.forward.bytes)} | ${human(k.ihave.bytes)} | ${human(k.graft.bytes)} | ${human(k.probe.bytes)} | ${human(k.roster.bytes)} | ${human(k.dht.bytes)} | ${human(k.connect.bytes)} | ${(r.meshDegree ?? 0).toFixed(1)} |`)
  }
  out.push('', 'Time until every member acted on an event (max; median in brackets):', '')
  out.push('| N | event | members | acted | time |')
  out.push('|---|---|---|---|---|')
  for (const r of results) {
    for (const a of r.acted) out.push(`| ${r.n} | ${a.event} | ${a.members} | ${a.acted} | ${ms(a.maxMs)} (${ms(a.p50Ms)}) |`)
    const c = r.churn
    if (c !== undefined) {
      out.push(`| ${r.n} | churn 1 %/min, ${c.events} events over ${c.cost.seconds.toFixed(0)} s: per node ${human(c.cost.bytes.mean)}/s, ${c.cost.msgs.mean.toFixed(0)} msg/s, ${c.cost.sigChecks.toFixed(1)} sig/s | | | |`)
      if (c.leave !== null) out.push(`| ${r.n} | churn, worst leave: ${c.leave.event} | ${c.leave.members} | ${c.leave.acted} | ${ms(c.leave.maxMs)} |`)
      if (c.join !== null) out.push(`| ${r.n} | churn, worst join: ${c.join.event} | ${c.join.members} | ${c.join.acted} | ${ms(c.join.maxMs)} |`)
    }
  }
  out.push('', `Counting: ${GOSSIP_COUNTING}`,
    'Record signature checks are every RecordEnvelope.validate in the process divided by the live nodes (not attributed per node).',
    'Not simulated: libp2p\'s own upkeep (kad-dht query-self and table refresh, yamux keepalives; the model counts them: about 0.3, 1.3 and 7.6 KB/s out at N = 10, 100 and 1,000) and connection set-up beyond a modelled 2.5 KB each way.',
    'Member-table bytes ≈ record (base64 + decoded) + the last link report per member; link table ≈ 160 B per LinkState. heap/node = heap growth during the run / N.')
  return out.join('\n') + '\n'
}

export function renderPlot (results: readonly SizeResult[]): string {
  const series = ['bytes/s sim', 'bytes/s model', 'msg/s sim', 'msg/s model', 'sig checks/s sim', 'sig/s model']
  const v = (x: number): BarValue => ({ median: x, min: x, max: x })
  const groups = results.map(r => {
    const s = r.steady
    const m = r.model
    const miss = r.status === 'not run' ? notRun(r) : 'aborted'
    return {
      label: `N = ${r.n.toLocaleString('en-US')}`,
      values: [
        s === undefined ? miss : { median: s.bytes.mean, min: s.bytes.min, max: s.bytes.max },
        m === null ? 'n/a' : v(m.bytes),
        s === undefined ? miss : { median: s.msgs.mean, min: s.msgs.min, max: s.msgs.max },
        m === null ? 'n/a' : v(m.msgs),
        s === undefined ? miss : v(s.sigChecks),
        m === null ? 'n/a' : v(m.sigChecks)
      ]
    }
  })
  return renderBarChart({ title: 'gridmesh today: per-node control-plane cost, steady state (in + out per second)', axisLabel: 'per node per second', series, groups })
}
