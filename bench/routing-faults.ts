/**
 * Routing metrics on a 6-host mesh, each repeated: reroute after cutting the 2–5 link (pings
 * 2 → 5 answered again, through a relay), return to direct after healing it, and how fast the
 * survivors purge a node killed with SIGKILL or leaving with SIGTERM. One lab for all repetitions;
 * after each departure the node is restarted and the full mesh awaited.
 */
import { createMeshLab, type MeshLab } from '../netns/mesh.ts'
import { PingStream } from './ping-stream.ts'
import { elapsedS, nowMs, pollUntil } from './timing.ts'
import { waitPurged } from './wg-purge.ts'

export const ROUTING_HOSTS = 6
const CUT: [number, number] = [2, 5]
const KILLED = 6
const LEAVER = 4
const FAULT_TIMEOUT_MS = 30_000

export interface RoutingRep {
  /** Seconds from `lab.cut` to the first answered echo that was sent after the cut was in place. */
  rerouteS: number | null
  /** Host 2's route to host 5 when the pings came back (expected `relay`). */
  rerouteKind: string | null
  /** How long `lab.cut` itself took (the fault is in place somewhere inside this window). */
  cutCallMs: number
  healDirectS: number | null
  healPingOk: boolean
  killPurgeS: number | null
  killPurgePerHostS: Array<number | null>
  leavePurgeS: number | null
  leavePurgePerHostS: Array<number | null>
  errors: string[]
}

const HOSTS = Array.from({ length: ROUTING_HOSTS }, (_, k) => k + 1)

async function routeKind (m: MeshLab, from: number, toPeer: string): Promise<string | null> {
  const r = (await m.routes(from)).find(x => x.destinationPeer === toPeer)
  return r?.kind ?? null
}

async function cutAndHeal (m: MeshLab, stream: PingStream, rep: RoutingRep): Promise<void> {
  const [a, b] = CUT
  const peerB = (await m.status(b)).peerId
  const addrB = await m.address(b)
  // The stream must be answering before the fault.
  if (await stream.firstReplySentAfter(nowMs(), nowMs() + 10_000) === null) throw new Error(`ping ${a} → ${b} not answering before the cut`)
  const t0 = nowMs()
  await m.lab.cut(a, b)
  const t1 = nowMs()
  rep.cutCallMs = t1 - t0
  const reply = await stream.firstReplySentAfter(t1, t1 + FAULT_TIMEOUT_MS)
  rep.rerouteS = reply === null ? null : elapsedS(t0, reply.receivedMs)
  rep.rerouteKind = await routeKind(m, a, peerB).catch(() => null)
  if (reply === null) rep.errors.push(`no ping ${a} → ${b} answered within ${FAULT_TIMEOUT_MS / 1000} s of the cut`)
  // Let the relay route settle so that the heal measures a real switch back.
  await pollUntil(async () => await routeKind(m, a, peerB) === 'relay', nowMs() + 10_000, 100)

  const h0 = nowMs()
  await m.lab.heal(a, b)
  const direct = await pollUntil(async () => await routeKind(m, a, peerB) === 'direct', h0 + FAULT_TIMEOUT_MS, 50)
  rep.healDirectS = elapsedS(h0, direct)
  if (direct === null) rep.errors.push(`host ${a}'s route to ${b} not direct within ${FAULT_TIMEOUT_MS / 1000} s of the heal`)
  rep.healPingOk = await m.lab.ping6(a, addrB, { count: 2, timeoutS: 1 })
  if (!rep.healPingOk) rep.errors.push(`ping ${a} → ${b} failed after the heal`)
}

async function departure (m: MeshLab, k: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<{ s: number | null, perHost: Array<number | null> }> {
  const key = (await m.status(k)).wgPublicKey
  const survivors = HOSTS.filter(i => i !== k)
  const t0 = nowMs()
  const stopped = m.stop(k, signal)
  const purge = await waitPurged(m, survivors, key, t0 + FAULT_TIMEOUT_MS)
  await stopped
  // Bring it back (same identity) for the next measurement.
  m.start(k)
  await m.waitFullMesh(HOSTS, 90_000)
  return { s: elapsedS(t0, purge.at), perHost: purge.perHost.map(t => elapsedS(t0, t)) }
}

/** Runs `reps` repetitions of every routing metric in one 6-host lab (always destroyed). */
export async function measureRouting (reps: number, log: (s: string) => void): Promise<RoutingRep[]> {
  const out: RoutingRep[] = []
  const m = await createMeshLab({ hosts: ROUTING_HOSTS, mesh: 'bench' })
  log(`lab ${m.lab.id}`)
  try {
    for (const i of HOSTS) m.start(i)
    await m.waitFullMesh(HOSTS, 90_000)
    const stream = PingStream.start(m.lab, CUT[0], await m.address(CUT[1]), `ping-${CUT[0]}-${CUT[1]}`)
    for (let r = 0; r < reps; r++) {
      const rep: RoutingRep = {
        rerouteS: null, rerouteKind: null, cutCallMs: 0, healDirectS: null, healPingOk: false,
        killPurgeS: null, killPurgePerHostS: [], leavePurgeS: null, leavePurgePerHostS: [], errors: []
      }
      out.push(rep)
      try {
        await cutAndHeal(m, stream, rep)
        log(`rep ${r + 1}: reroute ${rep.rerouteS?.toFixed(2) ?? 'FAIL'} s (${rep.rerouteKind ?? '?'}), back to direct ${rep.healDirectS?.toFixed(2) ?? 'FAIL'} s`)
        const kill = await departure(m, KILLED, 'SIGKILL')
        rep.killPurgeS = kill.s; rep.killPurgePerHostS = kill.perHost
        if (kill.s === null) rep.errors.push(`kill -9 of host ${KILLED} not purged everywhere in ${FAULT_TIMEOUT_MS / 1000} s`)
        const leave = await departure(m, LEAVER, 'SIGTERM')
        rep.leavePurgeS = leave.s; rep.leavePurgePerHostS = leave.perHost
        if (leave.s === null) rep.errors.push(`leave of host ${LEAVER} not purged everywhere in ${FAULT_TIMEOUT_MS / 1000} s`)
        log(`rep ${r + 1}: kill -9 purge ${rep.killPurgeS?.toFixed(2) ?? 'FAIL'} s, leave purge ${rep.leavePurgeS?.toFixed(2) ?? 'FAIL'} s`)
      } catch (err) {
        rep.errors.push(`aborted: ${err instanceof Error ? err.message : String(err)}`)
        log(`rep ${r + 1}: aborted: ${rep.errors.at(-1) ?? ''}`)
      }
    }
    await stream.stop()
  } finally {
    await m.destroy()
  }
  return out
}
