/**
 * Route-computation benchmark.
 *
 *   node --import tsx bench/routing-bench.ts [--json] [--runs N] [--broken-10k FRACTION]
 *
 * Scenario "1k": 1,000 members, every member publishes a full report (999
 * links with RTT classes), ~5% of links broken. Scenario "10k": 10,000
 * members, reports list only broken links (1% of pairs by default; missing = usable),
 * which is how a large healthy mesh looks on the wire. Each run computes the
 * table of a different member; we print median and p95 over the runs (after
 * two warm-up runs). Inputs come from a seeded PRNG, so runs are comparable.
 * Target: 1,000 members ≤ 20 ms.
 */
import { computeRoutes } from '../src/routing/routes.ts'
import { ownLinksOf, randomMesh, type Mesh } from '../test/unit/routing/mesh-fixtures.ts'

interface Scenario { name: string, n: number, broken: number, fullReports: boolean }

/** The bench reuses the tests' seeded generator (checked there against reference shortest paths). */
function makeMesh (s: Scenario): Mesh {
  return randomMesh({ n: s.n, seed: 0x5eed + s.n, broken: s.broken, onlyDown: !s.fullReports })
}

function quantile (sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN
}

function run (s: Scenario, runs: number): Record<string, number | string> {
  const mesh = makeMesh(s)
  const times: number[] = []
  let relayed = 0
  for (let i = -2; i < runs; i++) {
    const self = mesh.ids[(i + 2) * 37 % s.n] as string
    const ownLinks = ownLinksOf(mesh, self)
    const t0 = performance.now()
    const table = computeRoutes({ self, members: mesh.ids, reports: mesh.reports, ownLinks, now: 0 })
    const dt = performance.now() - t0
    if (i < 0) continue
    times.push(dt)
    for (const r of table.values()) if (r.kind === 'relay') relayed++
  }
  times.sort((a, b) => a - b)
  return {
    scenario: s.name, members: s.n, brokenFraction: s.broken, runs,
    medianMs: Number(quantile(times, 0.5).toFixed(2)),
    p95Ms: Number(quantile(times, 0.95).toFixed(2)),
    meanRelayedRoutes: Math.round(relayed / runs)
  }
}

const json = process.argv.includes('--json')
const runsArg = process.argv.indexOf('--runs')
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20
const brokenArg = process.argv.indexOf('--broken-10k')
const broken10k = brokenArg > 0 ? Number(process.argv[brokenArg + 1]) : 0.01
const scenarios: Scenario[] = [
  { name: '1k', n: 1000, broken: 0.05, fullReports: true },
  { name: '10k', n: 10_000, broken: broken10k, fullReports: false }
]
const results = scenarios.map(s => run(s, runs))
if (json) {
  process.stdout.write(JSON.stringify({ node: process.version, results }, null, 2) + '\n')
} else {
  for (const r of results) {
    process.stdout.write(`${String(r.scenario).padEnd(4)} members=${r.members} broken=${r.brokenFraction} ` +
      `median=${r.medianMs}ms p95=${r.p95Ms}ms relayed/table=${r.meanRelayedRoutes}\n`)
  }
}
