/**
 * One repetition of one system in a fresh lab of N hosts: convergence, idle footprint, iperf3
 * direct, reroute after cutting A↔B (+ iperf3 through the relay), kill -9 purge of host N, then
 * the join of host N into the N−1 still running. A = 2, B = 5 (or host N when N < 5).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createLab, type Lab, type LabProcess } from '../../netns/lab.ts'
import { cpuTicks, exeName, rssMb, ticksPerSecond } from '../procfs.ts'
import { median } from '../stats.ts'
import { elapsedS, latest, nowMs, pollUntil } from '../timing.ts'
import { iperf, pingUntil, Stream } from './probe.ts'
import { pairOf, type OverlaySystem } from './system.ts'

export const IDLE_S = 10
const CONVERGE_TIMEOUT_MS = 120_000
/** Purge; Nebula needs ~25 s (connection-manager test + pending deletion). */
const FAULT_TIMEOUT_MS = 45_000
/** tinc notices a dead meta connection only after PingInterval (60 s) + PingTimeout (5 s). */
const REROUTE_TIMEOUT_MS = 75_000
const JOIN_TIMEOUT_MS = 60_000

/** Every time in seconds, throughput in Mbit/s; null = not measured or failed (see errors/notes). */
export interface SystemRep {
  system: string
  n: number
  convergenceS: number | null
  pairFailures: string[]
  /** Ordered pairs that did not answer in the all-pairs check right after the sample converged. */
  latePairs: string[]
  joinS: number | null
  rerouteS: number | null
  purgeS: number | null
  directMbps: number | null
  relayMbps: number | null
  /** Median over hosts of the host's daemon footprint (sum over its processes). */
  rssMb: number | null
  idleCpuPct: number | null
  /** Per process of the footprint window: host, executable, RSS and idle CPU. */
  processes: Array<{ host: number, pid: number, exe: string, rssMb: number | null, cpuPct: number | null }>
  /** Direct throughput with every host's control plane paused (SIGSTOP), where the system has that split. */
  directMbpsControlPaused: number | null
  /** From the driver's details(), taken after convergence. */
  details: Record<string, unknown>
  errors: string[]
  notes: string[]
}

export interface RunOptions { n: number, iperfS: number, log: (s: string) => void }

const hostsOf = (n: number): number[] => Array.from({ length: n }, (_, k) => k + 1)

/** Every host pings the next one and host 1 (the fast poll); all pairs are verified afterwards. */
function samplePairs (hosts: readonly number[]): Array<[number, number]> {
  const pairs = new Map<string, [number, number]>()
  for (const i of hosts) for (const j of [hosts[i % hosts.length] ?? 1, 1]) if (j !== i) pairs.set(`${i}>${j}`, [i, j])
  return [...pairs.values()]
}

async function footprint (sys: OverlaySystem, hosts: readonly number[], rep: SystemRep): Promise<void> {
  const pids = hosts.map(i => sys.pids(i))
  const ticks = (): Array<number | null> => pids.map(ps => ps.reduce<number | null>((s, p) => { const t = cpuTicks(p); return s === null || t === null ? null : s + t }, 0))
  const flat = pids.flat()
  const flatBefore = flat.map(cpuTicks)
  const before = ticks()
  const t0 = nowMs()
  await sleep(IDLE_S * 1000)
  const seconds = (nowMs() - t0) / 1000
  const after = ticks()
  const flatAfter = flat.map(cpuTicks)
  const cpu = after.map((a, k) => { const b = before[k]; return a === null || b === null || b === undefined ? null : 100 * (a - b) / ticksPerSecond() / seconds })
  const rss = pids.map(ps => ps.length === 0 ? null : ps.reduce<number | null>((s, p) => { const r = rssMb(p); return s === null || r === null ? null : s + r }, 0))
  const per = pids.flatMap((ps, k) => ps.map(pid => ({ host: hosts[k] ?? 0, pid })))
  rep.processes = per.map(({ host, pid }, x) => {
    const a = flatAfter[x]; const b = flatBefore[x]
    const cpuPct = a === null || a === undefined || b === null || b === undefined ? null : 100 * (a - b) / ticksPerSecond() / seconds
    return { host, pid, exe: exeName(pid), rssMb: rssMb(pid), cpuPct }
  })
  rep.idleCpuPct = median(cpu.filter((x): x is number => x !== null))
  rep.rssMb = median(rss.filter((x): x is number => x !== null))
}

async function converge (lab: Lab, sys: OverlaySystem, hosts: readonly number[], rep: SystemRep): Promise<Map<number, string>> {
  const t0 = nowMs()
  const deadline = t0 + CONVERGE_TIMEOUT_MS
  await Promise.all(hosts.map(i => sys.start(i)))
  const addrs = new Map<number, string>()
  await Promise.all(hosts.map(async i => { addrs.set(i, await sys.overlayAddress(i, deadline)) }))
  const times = await Promise.all(samplePairs(hosts).map(([i, j]) => pingUntil(lab, i, addrs.get(j) ?? '', deadline)))
  const sampled = latest(times)
  if (sampled === null) {
    rep.errors.push(`sample pairs not all answering after ${CONVERGE_TIMEOUT_MS / 1000} s`)
    return addrs
  }
  // Verify every ordered pair once (2 echoes, 2 s); pairs that do not answer yet are polled
  // until they do, and convergence is when the last pair answered.
  const all = hosts.flatMap(i => hosts.filter(j => j !== i).map(j => [i, j] as const))
  const checks = await Promise.all(all.map(async ([i, j]) => await lab.ping(i, addrs.get(j) ?? '', { count: 2, timeoutS: 2 })))
  const late = all.filter((_, x) => checks[x] !== true)
  rep.latePairs = late.map(([i, j]) => `${i}>${j}`)
  const lateTimes = await Promise.all(late.map(([i, j]) => pingUntil(lab, i, addrs.get(j) ?? '', deadline)))
  rep.pairFailures = late.filter((_, x) => lateTimes[x] === null).map(([i, j]) => `${i}>${j}`)
  if (rep.pairFailures.length > 0) rep.errors.push(`pairs never answering within ${CONVERGE_TIMEOUT_MS / 1000} s: ${rep.pairFailures.join(' ')}`)
  else rep.convergenceS = elapsedS(t0, latest([sampled, ...lateTimes]))
  return addrs
}

async function reroute (lab: Lab, sys: OverlaySystem, addrs: ReadonlyMap<number, string>, opts: RunOptions, rep: SystemRep): Promise<void> {
  const [a, b] = pairOf(opts.n)
  const stream = new Stream(lab, a, addrs.get(b) ?? '', `${sys.name.split(' ')[0] ?? 'x'}-ping-${a}-${b}`)
  let cut = false
  try {
    if (await stream.firstReplySentAfter(nowMs(), nowMs() + 10_000) === null) throw new Error(`ping ${a} → ${b} not answering before the cut`)
    const t0 = nowMs()
    await lab.cut(a, b)
    cut = true
    const reply = await stream.firstReplySentAfter(nowMs(), nowMs() + REROUTE_TIMEOUT_MS)
    rep.rerouteS = elapsedS(t0, reply)
    if (reply === null) { rep.errors.push(`reroute: no reply ${a} → ${b} within ${REROUTE_TIMEOUT_MS / 1000} s of the cut`); return }
    await sleep(1000)
    const relay = await iperf(lab, a, b, addrs.get(b) ?? '', opts.iperfS)
    rep.relayMbps = relay.mbps
    if (relay.error !== undefined) rep.errors.push(`relay ${relay.error}`)
  } finally {
    await stream.stop()
    if (cut) await lab.heal(a, b)
  }
}

async function purgeThenJoin (lab: Lab, sys: OverlaySystem, hosts: readonly number[], addrs: ReadonlyMap<number, string>, rep: SystemRep): Promise<void> {
  const k = hosts.length
  const survivors = hosts.filter(i => i !== k)
  if ('none' in sys.caps.purge) {
    rep.notes.push(`purge n/a: ${sys.caps.purge.none}`)
    await sys.stop(k, 'SIGKILL')
  } else {
    // Survivors keep sending to the dead node (5/s), as live traffic would.
    const senders: LabProcess[] = survivors.map(i => lab.spawn(i, 'ping', ['-n', '-q', '-i', '0.2', addrs.get(k) ?? ''], { logFile: `purge-ping-h${i}.log` }))
    try {
      const t0 = nowMs()
      await sys.stop(k, 'SIGKILL')
      const per = await Promise.all(survivors.map(i => pollUntil(async () => !(await sys.knows(i, k)), t0 + FAULT_TIMEOUT_MS, 100)))
      rep.purgeS = elapsedS(t0, latest(per))
      if (rep.purgeS === null) rep.errors.push(`purge: host ${k} still known by ${survivors.filter((_, x) => per[x] === null).join(',')} after ${FAULT_TIMEOUT_MS / 1000} s`)
    } finally {
      await Promise.all(senders.map(p => lab.kill(p.host, p, 'SIGKILL', 2000)))
    }
  }
  const t0 = nowMs()
  const deadline = t0 + JOIN_TIMEOUT_MS
  await sys.start(k, true)
  const addr = await sys.overlayAddress(k, deadline)
  const times = await Promise.all(survivors.map(i => pingUntil(lab, i, addr, deadline)))
  rep.joinS = elapsedS(t0, latest(times))
  if (rep.joinS === null) rep.errors.push(`join: host ${k} not reached by ${survivors.filter((_, x) => times[x] === null).join(',')} in ${JOIN_TIMEOUT_MS / 1000} s`)
}

/** Runs one repetition of `sys` in a fresh lab (always destroyed). */
export async function runSystem (sys: OverlaySystem, opts: RunOptions): Promise<SystemRep> {
  const rep: SystemRep = {
    system: sys.name, n: opts.n, convergenceS: null, pairFailures: [], latePairs: [], joinS: null, rerouteS: null, purgeS: null,
    directMbps: null, directMbpsControlPaused: null, relayMbps: null, rssMb: null, idleCpuPct: null, processes: [], details: {}, errors: [], notes: []
  }
  const lab = await createLab({ hosts: Math.max(opts.n, 2) })
  const step = async (what: string, f: () => Promise<void>): Promise<void> => {
    try { await f() } catch (err) { rep.errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`) }
  }
  try {
    await sys.setup(lab, opts.n)
    const [a, b] = pairOf(opts.n)
    if (!sys.caps.mesh) {
      const pair = [a, b]
      await Promise.all(pair.map(i => sys.start(i)))
      const addr = await sys.overlayAddress(b, nowMs() + 10_000)
      rep.details = await sys.details?.() ?? {}
      await footprint(sys, pair, rep)
      const r = await iperf(lab, a, b, addr, opts.iperfS)
      rep.directMbps = r.mbps
      if (r.error !== undefined) rep.errors.push(r.error)
      return rep
    }
    const hosts = hostsOf(opts.n)
    const addrs = await converge(lab, sys, hosts, rep)
    opts.log(`converged ${rep.convergenceS?.toFixed(2) ?? 'FAIL'} s`)
    await step('details', async () => { rep.details = await sys.details?.() ?? {} })
    await step('idle', () => footprint(sys, hosts, rep))
    await step('iperf direct', async () => {
      const r = await iperf(lab, a, b, addrs.get(b) ?? '', opts.iperfS)
      rep.directMbps = r.mbps
      if (r.error !== undefined) rep.errors.push(r.error)
    })
    const control = sys.controlPids
    if (control !== undefined) {
      await step('iperf direct, control plane paused', async () => {
        const paused = hosts.flatMap(i => control(i))
        for (const p of paused) process.kill(p, 'SIGSTOP')
        try {
          const r = await iperf(lab, a, b, addrs.get(b) ?? '', opts.iperfS)
          rep.directMbpsControlPaused = r.mbps
        } finally {
          for (const p of paused) process.kill(p, 'SIGCONT')
        }
      })
      opts.log(`direct with control plane paused ${rep.directMbpsControlPaused?.toFixed(0) ?? 'FAIL'} Mbit/s`)
    }
    opts.log(`rss ${rep.rssMb?.toFixed(1) ?? '?'} MB, idle cpu ${rep.idleCpuPct?.toFixed(2) ?? '?'} %, direct ${rep.directMbps?.toFixed(0) ?? 'FAIL'} Mbit/s`)
    await step('reroute', () => reroute(lab, sys, addrs, opts, rep))
    opts.log(`reroute ${rep.rerouteS?.toFixed(2) ?? 'FAIL'} s, relay ${rep.relayMbps?.toFixed(0) ?? 'FAIL'} Mbit/s`)
    await step('purge/join', () => purgeThenJoin(lab, sys, hosts, addrs, rep))
    opts.log(`purge ${rep.purgeS?.toFixed(2) ?? 'n/a'} s, join ${rep.joinS?.toFixed(2) ?? 'FAIL'} s`)
  } catch (err) {
    rep.errors.push(`aborted: ${err instanceof Error ? err.message : String(err)}`)
  } finally {
    await lab.destroy()
  }
  return rep
}
