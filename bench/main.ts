/**
 * `npm run bench`: speed and memory of gridmesh on real daemons in lab hosts, measured from the
 * outside (wall clock in this process, polling every 50–100 ms: resolution ~0.1 s). Prints a
 * table (median (min–max) over repetitions) and writes bench/results/<timestamp>.json and
 * latest.json with the machine, the commit and every raw sample. See options.ts for flags.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCompareAndScale } from './compare/main.ts'
import { measureMesh, IDLE_S, type MeshRep } from './mesh-bench.ts'
import { parseOptions } from './options.ts'
import { measureRouteComputation, type ComputeResult } from './route-compute.ts'
import { measureRouting, ROUTING_HOSTS, type RoutingRep } from './routing-faults.ts'
import { col, computeRows, meshRows, ROUTING_COL, routingRows } from './rows.ts'
import { renderTable, rowResult } from './table.ts'

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const NOTES = [
  'Times are wall clock measured from outside the daemons (this process polls the admin API and `wg show` every 50–100 ms; pings run inside the hosts at 20/s): resolution ~0.1 s.',
  'Cells are median (min–max) over repetitions; "FAIL" = timed out or a check failed (see errors).',
  `RSS is VmRSS after convergence + ${IDLE_S} s idle; idle CPU is utime+stime over that ${IDLE_S} s window, in % of one core.`,
  'join: with N-1 running, a fresh host N (new identity) starts; time until every other host pings its node address.',
  'leave/purge: SIGTERM (graceful leave) or SIGKILL at t0; time until no survivor\'s `wg show` lists the node.',
  'reroute: ping -i 0.05 from host 2 to host 5; time from lab.cut(2,5) to the first reply to an echo sent after the cut was in place.'
]

function log (s: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`)
}

function git (args: string[]): string {
  try { return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() } catch { return 'unknown' }
}

async function main (): Promise<void> {
  const opts = parseOptions(process.argv.slice(2))
  if (opts.compare || opts.scale) { await runCompareAndScale(opts, log); return }
  const started = new Date()
  log(`options: N=${opts.ns.join(',')} reps=${opts.reps}${opts.quick ? ' (quick)' : ''}; ${cpus().length} cpus, load ${loadavg().map(x => x.toFixed(2)).join(' ')}`)

  let compute: ComputeResult = { ok: false, error: 'skipped (--no-compute)' }
  if (opts.compute) {
    log('route computation (bench/routing-bench.ts --json)')
    compute = await measureRouteComputation(opts.quick ? 5 : 20)
    if (!compute.ok) log(`route computation: ${compute.error}`)
  }

  const mesh = new Map<number, MeshRep[]>()
  for (const n of opts.ns) {
    const reps: MeshRep[] = []
    mesh.set(n, reps)
    for (let r = 0; r < opts.reps; r++) {
      log(`mesh N=${n} rep ${r + 1}/${opts.reps}`)
      const rep = await measureMesh(n, s => { log(`  N=${n} rep ${r + 1}: ${s}`) })
      for (const e of rep.errors) log(`  N=${n} rep ${r + 1}: ERROR ${e}`)
      reps.push(rep)
    }
  }

  let routing: RoutingRep[] = []
  if (opts.routing) {
    log(`routing faults N=${ROUTING_HOSTS}, ${opts.reps} rep(s)`)
    routing = await measureRouting(opts.reps, s => { log(`  routing ${s}`) })
    for (const [k, r] of routing.entries()) for (const e of r.errors) log(`  routing rep ${k + 1}: ERROR ${e}`)
  }

  const mRows = meshRows(mesh)
  const rRows = [...(opts.routing ? routingRows(routing) : []), ...computeRows(compute)]
  const out = [
    '',
    renderTable(`gridmesh bench — mesh metrics by N hosts (reps=${opts.reps})`, opts.ns.map(col), mRows),
    '',
    ...(rRows.length > 0 ? [renderTable(`routing (N=${ROUTING_HOSTS}, reps=${opts.reps}) and route computation`, [ROUTING_COL], rRows), ''] : []),
    ...(compute.ok ? [] : [`route computation: ${compute.error}`]),
    ...NOTES.map(n => `note: ${n}`),
    '  (*) the target is stated for a column that was not run; judged on the columns that were.'
  ]

  const commit = git(['rev-parse', 'HEAD'])
  const result = {
    date: started.toISOString(),
    durationS: Math.round((Date.now() - started.getTime()) / 1000),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, kernel: release(), loadavgAtEnd: loadavg() },
    git: { commit, dirty: git(['status', '--porcelain']) !== '' },
    options: opts,
    notes: NOTES,
    table: [...mRows, ...rRows].map(rowResult),
    raw: { mesh: Object.fromEntries(mesh), routing, routeComputation: compute }
  }
  mkdirSync(RESULTS, { recursive: true })
  const file = join(RESULTS, `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`)
  const text = JSON.stringify(result, null, 2) + '\n'
  writeFileSync(file, text)
  writeFileSync(join(RESULTS, 'latest.json'), text)
  process.stdout.write(out.join('\n') + `\nresults: ${file} (and latest.json)\n`)
}

await main()
