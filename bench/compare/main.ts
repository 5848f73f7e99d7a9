/**
 * `npm run bench -- --compare` and `--scale`: gridmesh next to the systems users would pick
 * instead, one system after another on identical fresh labs of N hosts, and the largest gridmesh
 * mesh this machine sustains. Writes bench/results/compare-<timestamp>.{json,svg} and
 * compare-latest.{json,svg} (scale: scale-<timestamp>.json, scale-latest.json).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchOptions } from '../options.ts'
import { measureRouteComputation } from '../route-compute.ts'
import { compareRows, renderCompareSvg, renderCompareTable, type SystemResult } from './report.ts'
import { IDLE_S, runSystem, type SystemRep } from './run.ts'
import { measureScale } from './scale.ts'
import { SYSTEMS, type SystemEntry } from './systems.ts'

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url))

const NOTES = [
  'Each system runs alone, one after another, in its own fresh lab of N hosts on one bridge (same topology for all); times are wall clock from outside (polling 50–100 ms), resolution ~0.1 s.',
  'convergence: all N daemons start together; every host pings the next and host 1 (20/s) until answered, then every ordered pair is checked once and pairs not answering yet are polled until they do: the time is when the last pair answered.',
  'Cells are median (min–max) over repetitions; FAIL = timed out (convergence 120 s, reroute 75 s, purge 45 s, join 60 s); n/a = not applicable.',
  'Throughput and reroute use hosts 2 and 5 (host N if N < 5). Relay throughput is measured after cutting 2↔5, through whatever path the system picked.',
  `RSS = VmRSS summed over a host's daemon processes (gridmesh: node + wireguard-go), median over hosts; idle CPU = utime+stime over ${IDLE_S} s after convergence, % of one core.`,
  'join: with N−1 running, host N (killed for the purge) starts again. gridmesh joins with a fresh identity (a new member); tinc/Nebula/Yggdrasil restart the pre-configured host (they need its key/cert distributed beforehand).',
  'purge: kill -9 of host N while every survivor pings it 5/s; gridmesh = its WireGuard peer gone from every survivor\'s `wg show`; tinc = host-down hook ran on every survivor; Nebula = "Tunnel status dead" logged by every survivor; Yggdrasil = gone from `yggdrasilctl getPeers`.',
  'Nebula 1.6 (Debian) overlay is IPv4 (10.99.0.0/24); relay = lighthouse host 1 only (with am_relay on every host Nebula 1.6 ignores relay.relays). The others use IPv6 overlays.',
  'Defaults everywhere else (tinc PingInterval 60 s, Nebula handshake/tunnel timers, Yggdrasil 0.4 link timers). 2-core machine shared with other test runs: numbers are noisy, throughput especially.'
]

function git (args: string[]): string {
  try { return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() } catch { return 'unknown' }
}

function has (binary: string): boolean {
  try { execFileSync('which', [binary], { stdio: 'ignore' }); return true } catch { return false }
}

/** Installs the Debian packages of the selected systems that are missing; says what it installs. */
function ensurePackages (systems: readonly SystemEntry[], log: (s: string) => void): void {
  const missing = systems.filter(s => s.debPackage !== null && !has(s.binary)).map(s => s.debPackage as string)
  if (missing.length === 0) return
  log(`installing Debian packages: ${missing.join(' ')} (apt-get install -y --no-install-recommends)`)
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

async function runCompare (opts: BenchOptions, log: (s: string) => void): Promise<void> {
  const n = opts.nGiven ? (opts.ns[0] ?? 10) : (opts.quick ? 4 : 10)
  const chosen = opts.systems.length === 0 ? SYSTEMS : SYSTEMS.filter(s => opts.systems.includes(s.key))
  const unknown = opts.systems.filter(k => !SYSTEMS.some(s => s.key === k))
  if (unknown.length > 0) throw new Error(`unknown --systems ${unknown.join(',')} (known: ${SYSTEMS.map(s => s.key).join(',')})`)
  ensurePackages(chosen, log)
  const started = new Date()
  const load: number[][] = [loadavg()]
  log(`compare: N=${n}, reps=${opts.reps}, systems ${chosen.map(s => s.key).join(',')}; ${cpus().length} cpus, load ${loadavg().map(x => x.toFixed(2)).join(' ')}`)
  const results: SystemResult[] = []
  for (const entry of chosen) {
    const reps: SystemRep[] = []
    let res: SystemResult | undefined
    for (let r = 0; r < opts.reps; r++) {
      const sys = entry.make()
      res ??= { name: sys.name, caps: sys.caps, reps }
      log(`${sys.name} rep ${r + 1}/${opts.reps}`)
      const rep = await runSystem(sys, { n, iperfS: opts.quick ? 3 : 5, log: s => { log(`  ${sys.name} rep ${r + 1}: ${s}`) } })
      for (const e of rep.errors) log(`  ${sys.name} rep ${r + 1}: ERROR ${e}`)
      reps.push(rep)
      load.push(loadavg())
    }
    if (res !== undefined) results.push(res)
  }
  const rows = compareRows(results)
  const loadText = `load average (1 min) during the run: ${Math.min(...load.map(l => l[0] ?? 0)).toFixed(1)}–${Math.max(...load.map(l => l[0] ?? 0)).toFixed(1)} on ${cpus().length} cpus`
  const title = `gridmesh vs the alternatives — N=${n} hosts, reps=${opts.reps}`
  const table = renderCompareTable(title, results, rows)
  const stamp = started.toISOString().replace(/[:.]/g, '-')
  const result = {
    date: started.toISOString(),
    durationS: Math.round((Date.now() - started.getTime()) / 1000),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, kernel: release(), loadavgSamples: load },
    git: { commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain']) !== '' },
    options: { n, reps: opts.reps, quick: opts.quick, systems: chosen.map(s => s.key) },
    notes: NOTES,
    table: rows,
    raw: results
  }
  mkdirSync(RESULTS, { recursive: true })
  const json = JSON.stringify(result, null, 2) + '\n'
  const svg = renderCompareSvg(`${title} — time metrics (s)`, results)
  for (const base of [`compare-${stamp}`, 'compare-latest']) {
    writeFileSync(join(RESULTS, `${base}.json`), json)
    writeFileSync(join(RESULTS, `${base}.svg`), svg)
  }
  process.stdout.write(['', table, '', loadText, ...NOTES.map(x => `note: ${x}`), `results: ${join(RESULTS, `compare-${stamp}`)}.{json,svg} (and compare-latest.*)`, ''].join('\n'))
}

async function runScale (opts: BenchOptions, log: (s: string) => void): Promise<void> {
  const started = new Date()
  log('scale: route computation (bench/routing-bench.ts --json)')
  const compute = await measureRouteComputation(opts.quick ? 5 : 20)
  const meshes = await measureScale(opts.quick ? [8, 12] : [16, 20, 24], log)
  const lines = ['', 'gridmesh scale — real daemons, convergence (all N start → sample pairs ping, all pairs verified)']
  for (const m of meshes) lines.push(`  N=${m.n}: ${m.convergenceS === null ? 'FAIL' : `${m.convergenceS.toFixed(1)} s`}${m.errors.length > 0 ? ` (${m.errors.join('; ')})` : ''}`)
  const ok = meshes.filter(m => m.convergenceS !== null).map(m => m.n)
  lines.push(`  largest mesh converged within 120 s: ${ok.length > 0 ? `N=${Math.max(...ok)}` : 'none'}`)
  lines.push('route computation:')
  if (compute.ok) for (const s of compute.scenarios) lines.push(`  ${s.members} members (${s.scenario}): median ${s.medianMs.toFixed(1)} ms, p95 ${s.p95Ms.toFixed(1)} ms over ${s.runs} runs`)
  else lines.push(`  ${compute.error}`)
  const json = JSON.stringify({ date: started.toISOString(), machine: { cpus: cpus().length, loadavgAtEnd: loadavg() }, meshes, compute }, null, 2) + '\n'
  mkdirSync(RESULTS, { recursive: true })
  const stamp = started.toISOString().replace(/[:.]/g, '-')
  writeFileSync(join(RESULTS, `scale-${stamp}.json`), json)
  writeFileSync(join(RESULTS, 'scale-latest.json'), json)
  process.stdout.write(lines.join('\n') + `\nresults: ${join(RESULTS, `scale-${stamp}.json`)} (and scale-latest.json)\n`)
}

/** Entry from bench/main.ts when --compare and/or --scale is given. */
export async function runCompareAndScale (opts: BenchOptions, log: (s: string) => void): Promise<void> {
  if (opts.compare) await runCompare(opts, log)
  if (opts.scale) await runScale(opts, log)
}
