/**
 * `npm run sim`: the discrete-event simulator of today's protocol (issue 13,
 * build item 1). For each N it starts N real cores on the simulated network
 * in virtual time, runs the selected scenarios on that one mesh, and reports
 * per node: messages and bytes in and out per second, signature checks per
 * second, the member and link tables, and for each event the time until
 * every member acted on it. Prints a table, writes
 * bench/results/sim-<timestamp>.json and sim-latest.json, and an SVG of the
 * per-node cost against N next to the cost model's "before" column.
 *
 *   npm run sim -- --n 10,100 --scenario steady,crash --seconds 20
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Simulation } from './sim.ts'
import { SimBudgetError } from './sim-time.ts'
import { SCENARIOS, churn, crash, cutAndHeal, leave, massJoin, measure, partitionAndHeal, tableMemory, type Cost, type Scenario, type TableMemory } from './scenarios.ts'
import { modelBefore, type ModelRow } from './model.ts'
import { renderReport, renderPlot } from './report.ts'
import { GOSSIP_COUNTING } from './wire.ts'
import type { Acted } from './sim.ts'

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url))
const PLOT_SIZES = [10, 100, 1_000, 10_000]

export interface Options { sizes: number[], scenarios: Scenario[], seconds: number, settle: number, seed: number, budgetMin: number, loss: number }

export interface SizeResult {
  readonly n: number
  readonly status: 'run' | 'aborted' | 'not run'
  readonly note?: string | undefined
  readonly wallMs: number
  readonly virtualMs: number
  readonly events: number
  readonly steady?: Cost | undefined
  readonly churn?: { cost: Cost, events: number, leave: Acted | null, join: Acted | null } | undefined
  readonly acted: Acted[]
  readonly memory?: TableMemory | undefined
  readonly heapMbPerNode?: number | undefined
  readonly meshDegree?: number | undefined
  readonly model: ModelRow | null
  readonly estimatedMin?: number | undefined
}

function usage (msg: string): never {
  process.stderr.write(`sim: ${msg}\nusage: npm run sim -- [--n 10,100] [--scenario ${SCENARIOS.join(',')}] [--seconds 20] [--settle 20] [--seed 1] [--budget-min 6] [--loss 0]\n`)
  process.exit(2)
}

export function parseOptions (argv: readonly string[]): Options {
  const o: Options = { sizes: [10, 100], scenarios: [...SCENARIOS], seconds: 20, settle: 20, seed: 1, budgetMin: 6, loss: 0 }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]; const v = argv[i + 1]
    if (v === undefined) usage(`${String(flag)} needs a value`)
    i++
    const num = (s: string): number => { const x = Number(s); if (!Number.isFinite(x) || x < 0) usage(`${String(flag)}: not a number: ${s}`); return x }
    if (flag === '--n') o.sizes = v.split(',').map(num).map(Math.floor).filter(x => x >= 2)
    else if (flag === '--scenario') {
      const s = v.split(',')
      for (const x of s) if (!(SCENARIOS as readonly string[]).includes(x)) usage(`unknown scenario ${x}`)
      o.scenarios = s as Scenario[]
    } else if (flag === '--seconds') o.seconds = num(v)
    else if (flag === '--settle') o.settle = num(v)
    else if (flag === '--seed') o.seed = num(v)
    else if (flag === '--budget-min') o.budgetMin = num(v)
    else if (flag === '--loss') o.loss = Math.min(1, num(v))
    else usage(`unknown flag ${String(flag)}`)
  }
  if (o.sizes.length === 0) usage('--n needs at least one size ≥ 2')
  return o
}

/** runSize: one mesh of n cores through the selected scenarios (a mass join always comes first). */
export async function runSize (n: number, o: Options, model: ModelRow | null): Promise<SizeResult> {
  const wall0 = Date.now()
  const sim = new Simulation({ seed: o.seed + n, loss: o.loss, wallBudgetMs: o.budgetMin * 60_000 })
  const v0 = sim.time.now()
  const acted: Acted[] = []
  let steady: Cost | undefined
  let churned: SizeResult['churn']
  let memory: TableMemory | undefined
  let heapMbPerNode: number | undefined
  let meshDegree: number | undefined
  const has = (s: Scenario): boolean => o.scenarios.includes(s)
  let next = n
  const progress = (what: string): void => { process.stderr.write(`  N=${n}: ${what} (wall ${((Date.now() - wall0) / 1000).toFixed(1)} s, virtual ${((sim.time.now() - v0) / 1000).toFixed(1)} s)\n`) }
  try {
    const heap0 = process.memoryUsage().heapUsed
    acted.push(await massJoin(sim, n)); progress('joined')
    await sim.run(o.settle * 1_000) // past the start-up's DHT puts and roster fetches
    if (has('steady') || !has('churn')) {
      steady = await measure(sim, o.seconds * 1_000); progress('steady state measured')
    }
    const first = sim.liveNodes()[0]
    memory = first === undefined ? undefined : tableMemory(first)
    heapMbPerNode = (process.memoryUsage().heapUsed - heap0) / 1e6 / n
    meshDegree = sim.net.meanMeshDegree('/gridmesh/sim/members/1')
    if (has('crash')) { acted.push(await crash(sim)); progress('crash') }
    if (has('leave')) { acted.push(await leave(sim)); progress('leave') }
    if (has('cut')) { acted.push(...await cutAndHeal(sim)); progress('cut and heal') }
    if (has('partition')) { acted.push(...await partitionAndHeal(sim)); progress('partition and heal') }
    if (has('churn')) { churned = await churn(sim, Math.max(o.seconds, 60) * 1_000, () => next++); progress('churn') }
    return { n, status: 'run', wallMs: Date.now() - wall0, virtualMs: sim.time.now() - v0, events: sim.time.events, acted, model, ...opt({ steady, churn: churned, memory, heapMbPerNode, meshDegree }) }
  } catch (err) {
    const done = sim.time.now() - v0
    if (!(err instanceof SimBudgetError)) {
      process.stderr.write(`  N=${n}: failed: ${err instanceof Error ? err.message : String(err)}\n`)
      return { n, status: 'aborted', note: `failed at ${(done / 1000).toFixed(1)} s of virtual time: ${err instanceof Error ? err.message : String(err)}`, wallMs: Date.now() - wall0, virtualMs: done, events: sim.time.events, acted, model, ...opt({ steady, churn: churned, memory, heapMbPerNode, meshDegree }) }
    }
    const planned = 20_000 + o.settle * 1_000 + o.seconds * 1_000 + 60_000 + (has('churn') ? Math.max(o.seconds, 60) * 1_000 : 0)
    const estimatedMin = (Date.now() - wall0) / 60_000 * Math.max(1, planned / Math.max(1, done))
    return {
      n, status: 'aborted', note: `wall budget of ${o.budgetMin} min spent at ${(done / 1000).toFixed(1)} s of virtual time`, estimatedMin,
      wallMs: Date.now() - wall0, virtualMs: done, events: sim.time.events, acted, model, ...opt({ steady, churn: churned, memory, heapMbPerNode, meshDegree })
    }
  }
}

function opt<T extends Record<string, unknown>> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** estimate: wall minutes for a size not run, from the last two sizes run (power law in N), or N² from one. */
export function estimateMinutes (done: ReadonlyArray<{ n: number, wallMs: number }>, n: number): number | null {
  const pts = done.filter(d => d.wallMs > 0).sort((a, b) => a.n - b.n)
  const last = pts[pts.length - 1]
  if (last === undefined) return null
  const prev = pts[pts.length - 2]
  const k = prev === undefined || prev.n === last.n ? 2 : Math.max(1, Math.log(last.wallMs / prev.wallMs) / Math.log(last.n / prev.n))
  return last.wallMs / 60_000 * Math.pow(n / last.n, k)
}

async function main (): Promise<void> {
  const o = parseOptions(process.argv.slice(2))
  const results: SizeResult[] = []
  for (const n of o.sizes) {
    process.stderr.write(`N=${n}: starting\n`)
    results.push(await runSize(n, o, await modelBefore(n)))
  }
  const run = results.filter(r => r.status === 'run')
  for (const n of PLOT_SIZES) {
    if (results.some(r => r.n === n)) continue
    const est = estimateMinutes(run, n)
    results.push({ n, status: 'not run', wallMs: 0, virtualMs: 0, events: 0, acted: [], model: await modelBefore(n), ...(est === null ? {} : { estimatedMin: est }) })
  }
  results.sort((a, b) => a.n - b.n)
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  mkdirSync(RESULTS, { recursive: true })
  const doc = { kind: 'gridmesh-sim', protocol: 'today (before)', at: new Date().toISOString(), options: o, counting: GOSSIP_COUNTING, results }
  const json = JSON.stringify(doc, null, 2)
  writeFileSync(`${RESULTS}sim-${stamp}.json`, json)
  writeFileSync(`${RESULTS}sim-latest.json`, json)
  const svg = renderPlot(results)
  writeFileSync(`${RESULTS}sim-${stamp}.svg`, svg)
  writeFileSync(`${RESULTS}sim-latest.svg`, svg)
  process.stdout.write(renderReport(results, o) + `\nresults: bench/results/sim-${stamp}.json (and sim-latest.json), plot: bench/results/sim-latest.svg\n`)
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  main().then(() => { process.exit(0) }, (err: unknown) => { process.stderr.write(`sim: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`); process.exit(1) })
}
