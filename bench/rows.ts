/** Turns raw repetitions into table rows (metric × column) with their targets. */
import type { MeshRep } from './mesh-bench.ts'
import type { RoutingRep } from './routing-faults.ts'
import type { ComputeResult } from './route-compute.ts'
import { max, median, type Sample } from './stats.ts'
import type { Row, Target } from './table.ts'

export const col = (n: number): string => `N=${n}`

const ok = (xs: readonly Sample[]): number[] => xs.filter((x): x is number => x !== null)
const med = (xs: readonly Sample[]): Sample => median(ok(xs))
const top = (xs: readonly Sample[]): Sample => max(ok(xs))

function target (max: number, text: string, columns: string[] = []): Target {
  return { max, text, columns }
}

function meshRow (byN: ReadonlyMap<number, MeshRep[]>, metric: string, unit: string, digits: number, pick: (r: MeshRep) => Sample, t?: Target): Row {
  const cells = new Map<string, Sample[]>()
  for (const [n, reps] of byN) cells.set(col(n), reps.map(pick))
  return t === undefined ? { metric, unit, digits, cells } : { metric, unit, digits, cells, target: t }
}

export function meshRows (byN: ReadonlyMap<number, MeshRep[]>): Row[] {
  const at8 = [col(8)]
  return [
    meshRow(byN, 'convergence: all peers direct (admin view)', 's', 2, r => r.convergenceAdminS, target(3, '≤ 3 s @ N=8', at8)),
    meshRow(byN, 'convergence: all pairs ping', 's', 2, r => r.pingFailures.length > 0 ? null : r.convergencePingS, target(3, '≤ 3 s @ N=8', at8)),
    meshRow(byN, 'join: new host N reachable from all N-1', 's', 2, r => r.joinS, target(1, '≤ 1 s')),
    meshRow(byN, 'leave: host N purged by all (wg show)', 's', 2, r => r.leavePurgeS, target(0.5, '≤ 0.5 s')),
    meshRow(byN, 'startup: interface ready, median daemon', 'ms', 0, r => med(r.readyMs)),
    meshRow(byN, 'startup: interface ready, slowest daemon', 'ms', 0, r => top(r.readyMs)),
    meshRow(byN, 'rss_mb daemon, median', 'MB', 0, r => med(r.rssMb), target(120, '≤ 120 MB')),
    meshRow(byN, 'rss_mb daemon, max', 'MB', 0, r => top(r.rssMb), target(120, '≤ 120 MB')),
    meshRow(byN, 'rss_mb wireguard-go, median', 'MB', 1, r => med(r.wgRssMb)),
    meshRow(byN, 'rss_mb wireguard-go, max', 'MB', 1, r => top(r.wgRssMb)),
    meshRow(byN, 'idle_cpu_pct daemon, median', '%', 1, r => med(r.idleCpuPct)),
    meshRow(byN, 'idle_cpu_pct daemon, max', '%', 1, r => top(r.idleCpuPct)),
    meshRow(byN, 'idle_cpu_pct wireguard-go, median', '%', 1, r => med(r.wgIdleCpuPct))
  ]
}

export const ROUTING_COL = 'value'

function one (metric: string, unit: string, digits: number, samples: Sample[], t?: Target): Row {
  const cells = new Map([[ROUTING_COL, samples]])
  return t === undefined ? { metric, unit, digits, cells } : { metric, unit, digits, cells, target: t }
}

export function routingRows (reps: readonly RoutingRep[]): Row[] {
  return [
    one('reroute_after_cut (N=6, ping 2→5 answers again)', 's', 2, reps.map(r => r.rerouteS), target(1, '≤ 1 s')),
    one('return_to_direct_after_heal (N=6, routes)', 's', 2, reps.map(r => r.healPingOk ? r.healDirectS : null)),
    one('purge_after_kill9 (N=6, all survivors)', 's', 2, reps.map(r => r.killPurgeS), target(3, '≤ 3 s')),
    one('purge_after_leave (N=6, all survivors)', 's', 2, reps.map(r => r.leavePurgeS), target(0.5, '≤ 0.5 s'))
  ]
}

export function computeRows (c: ComputeResult): Row[] {
  if (!c.ok) return []
  return c.scenarios.map(s => {
    const row = one(`route computation at ${s.members.toLocaleString('en-US')} members (median of ${s.runs} runs)`, 'ms', 2, [s.medianMs],
      s.members === 1000 ? target(20, '≤ 20 ms') : undefined)
    row.display = new Map([[ROUTING_COL, `${s.medianMs.toFixed(2)} (p95 ${s.p95Ms.toFixed(2)})`]])
    return row
  })
}
