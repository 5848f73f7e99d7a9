/**
 * Mesh metrics for N hosts (one repetition, one fresh lab): convergence (admin view and pings),
 * startup (`interface ready`), RSS and idle CPU after 10 s idle, leave purge of host N, then the
 * join of a fresh host N (new identity) into the N-1 still running.
 */
import { rmSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { createMeshLab, type MeshLab } from '../netns/mesh.ts'
import { logSize, readyLine, waitReadyLine } from './logs.ts'
import { cpuTicks, exeName, rssMb, ticksPerSecond, wireguardGoPid } from './procfs.ts'
import { median, max } from './stats.ts'
import { elapsedS, latest, nowMs, pingUntil, pollUntil } from './timing.ts'
import { waitPurged } from './wg-purge.ts'

export const IDLE_S = 10
const CONVERGE_TIMEOUT_MS = 180_000
const JOIN_TIMEOUT_MS = 60_000

/** One repetition at one N; every value may be null (failed / timed out). Times in seconds. */
export interface MeshRep {
  n: number
  convergenceAdminS: number | null
  convergencePingS: number | null
  /** Ordered pairs ("i>j") that did not answer in the all-pairs check after convergence. */
  pingFailures: string[]
  readyMs: Array<number | null>
  rssMb: Array<number | null>
  wgRssMb: Array<number | null>
  idleCpuPct: Array<number | null>
  wgIdleCpuPct: Array<number | null>
  leavePurgeS: number | null
  joinS: number | null
  joinPingFailures: number[]
  errors: string[]
}

const range = (n: number): number[] => Array.from({ length: n }, (_, k) => k + 1)

/** Sample pairs for the fast ping poll: every host pings the next host and host 1. */
function samplePairs (hosts: readonly number[]): Array<[number, number]> {
  const pairs = new Map<string, [number, number]>()
  for (const i of hosts) {
    const next = hosts[i % hosts.length] ?? 1
    for (const j of [next, 1]) if (j !== i) pairs.set(`${i}>${j}`, [i, j])
  }
  return [...pairs.values()]
}

function logOf (m: MeshLab, i: number): string {
  const p = m.proc(i)
  if (p === undefined) throw new Error(`host ${i} has no daemon`)
  return p.logFile
}

async function converge (m: MeshLab, hosts: readonly number[], rep: MeshRep): Promise<void> {
  const n = hosts.length
  const t0 = nowMs()
  for (const i of hosts) m.start(i)
  const deadline = t0 + CONVERGE_TIMEOUT_MS
  const admin = Promise.all(hosts.map(i => pollUntil(async () => {
    const peers = await m.peers(i)
    return peers.length === n - 1 && peers.every(p => p.state === 'direct')
  }, deadline, 100)))
  const pings = Promise.all(samplePairs(hosts).map(async ([i, j]) => {
    const [src, dst] = await Promise.all([waitReadyLine(logOf(m, i), deadline), waitReadyLine(logOf(m, j), deadline)])
    if (src === null || dst === null) return null
    return await pingUntil(m.lab, i, dst.address, deadline)
  }))
  const [adminTimes, pingTimes] = await Promise.all([admin, pings])
  rep.convergenceAdminS = elapsedS(t0, latest(adminTimes))
  rep.convergencePingS = elapsedS(t0, latest(pingTimes))
  if (rep.convergenceAdminS === null) rep.errors.push(`admin view not converged after ${CONVERGE_TIMEOUT_MS / 1000} s`)
  if (rep.convergencePingS === null) rep.errors.push(`sample pings not all answered after ${CONVERGE_TIMEOUT_MS / 1000} s`)
  rep.readyMs = hosts.map(i => readyLine(logOf(m, i))?.readyMs ?? null)
  rep.pingFailures = await m.pingAllPairs(hosts, { count: 2, timeoutS: 2 })
  if (rep.pingFailures.length > 0) rep.errors.push(`all-pairs ping failed: ${rep.pingFailures.join(' ')}`)
}

async function idle (m: MeshLab, hosts: readonly number[], rep: MeshRep): Promise<void> {
  const daemons = hosts.map(i => m.proc(i)?.pid ?? -1)
  const wgs = hosts.map(i => wireguardGoPid(m.lab.host(i).keeperPid) ?? -1)
  // The admin-visible pid must be the node process itself, else RSS/CPU would be a wrapper's.
  for (const [k, pid] of daemons.entries()) if (exeName(pid) !== 'node') rep.errors.push(`host ${k + 1}: daemon pid ${pid} runs "${exeName(pid)}", not node`)
  for (const [k, pid] of wgs.entries()) if (pid < 0) rep.errors.push(`host ${k + 1}: no wireguard-go found`)
  const before = [...daemons, ...wgs].map(cpuTicks)
  const t0 = nowMs()
  await sleep(IDLE_S * 1000)
  const seconds = (nowMs() - t0) / 1000
  const after = [...daemons, ...wgs].map(cpuTicks)
  const pct = after.map((a, k) => {
    const b = before[k]
    return a === null || b === null || b === undefined ? null : 100 * (a - b) / ticksPerSecond() / seconds
  })
  rep.idleCpuPct = pct.slice(0, hosts.length)
  rep.wgIdleCpuPct = pct.slice(hosts.length)
  rep.rssMb = daemons.map(rssMb)
  rep.wgRssMb = wgs.map(rssMb)
}

async function leaveThenJoin (m: MeshLab, hosts: readonly number[], rep: MeshRep): Promise<void> {
  const n = hosts.length
  const others = hosts.filter(i => i !== n)
  const key = (await m.status(n)).wgPublicKey
  const tLeave = nowMs()
  const stopped = m.stop(n, 'SIGTERM')
  const purge = await waitPurged(m, others, key, tLeave + 30_000)
  await stopped
  rep.leavePurgeS = elapsedS(tLeave, purge.at)
  if (purge.at === null) {
    rep.errors.push(`host ${n}'s leave not purged by every survivor in 30 s`)
    await waitPurged(m, others, key, nowMs() + 30_000)
  }
  // A fresh identity: the joiner is a new member, not a restart.
  rmSync(m.stateDir(n), { recursive: true, force: true })
  const logFile = `${m.lab.logDir}/h${n}.log`
  const offset = logSize(logFile)
  const t0 = nowMs()
  m.start(n)
  const deadline = t0 + JOIN_TIMEOUT_MS
  const ready = await waitReadyLine(logFile, deadline, offset)
  if (ready === null) { rep.errors.push(`joiner host ${n} never logged interface ready`); return }
  const times = await Promise.all(others.map(i => pingUntil(m.lab, i, ready.address, deadline)))
  rep.joinS = elapsedS(t0, latest(times))
  rep.joinPingFailures = others.filter((_, k) => times[k] === null)
  if (rep.joinS === null) rep.errors.push(`joiner not reached by hosts ${rep.joinPingFailures.join(',')}`)
}

/** Runs one repetition at N hosts in a fresh lab (always destroyed). */
export async function measureMesh (n: number, log: (s: string) => void): Promise<MeshRep> {
  const rep: MeshRep = {
    n, convergenceAdminS: null, convergencePingS: null, pingFailures: [], readyMs: [], rssMb: [], wgRssMb: [],
    idleCpuPct: [], wgIdleCpuPct: [], leavePurgeS: null, joinS: null, joinPingFailures: [], errors: []
  }
  const hosts = range(n)
  const m = await createMeshLab({ hosts: n, mesh: 'bench' })
  log(`lab ${m.lab.id}`)
  try {
    await converge(m, hosts, rep)
    log(`converged: admin ${rep.convergenceAdminS?.toFixed(2) ?? 'FAIL'} s, ping ${rep.convergencePingS?.toFixed(2) ?? 'FAIL'} s`)
    await idle(m, hosts, rep)
    const okRss = rep.rssMb.filter((x): x is number => x !== null)
    log(`idle ${IDLE_S} s: rss median ${median(okRss)?.toFixed(0) ?? '?'} MB, max ${max(okRss)?.toFixed(0) ?? '?'} MB`)
    await leaveThenJoin(m, hosts, rep)
    log(`leave purge ${rep.leavePurgeS?.toFixed(2) ?? 'FAIL'} s, join ${rep.joinS?.toFixed(2) ?? 'FAIL'} s`)
  } catch (err) {
    rep.errors.push(`aborted: ${err instanceof Error ? err.message : String(err)}`)
  } finally {
    await m.destroy()
  }
  return rep
}
