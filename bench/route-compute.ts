/**
 * Route computation at 1,000 (and 10,000) simulated members: runs bench/routing-bench.ts (owned
 * by the routing work) as a subprocess with `--json` and keeps its numbers. Run before any lab,
 * so that the CPU-bound micro-benchmark does not share the cores with our own daemons.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const ROUTING_BENCH = fileURLToPath(new URL('./routing-bench.ts', import.meta.url))

export interface ComputeScenario { scenario: string, members: number, medianMs: number, p95Ms: number, runs: number, [k: string]: unknown }
export type ComputeResult = { ok: true, runs: number, scenarios: ComputeScenario[], raw: unknown } | { ok: false, error: string }

function isScenario (x: unknown): x is ComputeScenario {
  const o = x as Partial<ComputeScenario> | null
  return typeof o === 'object' && o !== null && typeof o.scenario === 'string' && typeof o.members === 'number' &&
    typeof o.medianMs === 'number' && typeof o.p95Ms === 'number'
}

/** `runs` timed computations per scenario (the script's --runs; its default is 20). */
export async function measureRouteComputation (runs: number): Promise<ComputeResult> {
  if (!existsSync(ROUTING_BENCH)) return { ok: false, error: 'bench/routing-bench.ts does not exist' }
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', ROUTING_BENCH, '--json', '--runs', String(runs)],
      { timeout: 600_000, maxBuffer: 16 << 20 })
    const raw = JSON.parse(stdout) as { results?: unknown }
    const scenarios = Array.isArray(raw.results) ? raw.results.filter(isScenario) : []
    if (scenarios.length === 0) return { ok: false, error: 'routing-bench.ts --json printed no results' }
    return { ok: true, runs, scenarios, raw }
  } catch (err) {
    const e = err as { stderr?: string, message?: string }
    return { ok: false, error: `routing-bench.ts failed: ${(e.stderr ?? '').trim().split('\n').at(-1) || (e.message ?? String(err))}` }
  }
}
