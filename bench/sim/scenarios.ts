/**
 * The scenarios, run one after the other on one mesh of N cores (a mass join
 * first, since every other scenario needs a mesh): steady state, crash,
 * graceful leave, link cut and heal, partition into halves and heal, 1 % of
 * members churning per minute. Each returns what it measured.
 */
import { observe, type Acted, type Simulation } from './sim.ts'
import { TRAFFIC_KINDS, type Counters, type TrafficKind } from './network.ts'
import type { SimNode } from './root.ts'

export const SCENARIOS = ['join', 'steady', 'crash', 'leave', 'cut', 'partition', 'churn'] as const
export type Scenario = typeof SCENARIOS[number]

/** Per-node cost over a window: mean and max over the live nodes, per second. */
export interface Cost {
  readonly seconds: number
  readonly nodes: number
  /** bytes in + out per node per second */
  readonly bytes: Dist
  readonly bytesOut: Dist
  readonly msgs: Dist
  readonly msgsOut: Dist
  /** gossip message signature checks + record envelope checks, per node per second (records: mesh total / nodes) */
  readonly sigChecks: number
  readonly gossipChecks: number
  readonly recordChecks: number
  /** bytes out per node per second, by kind (mean) */
  readonly outByKind: Record<TrafficKind, { msgs: number, bytes: number }>
}
export interface Dist { mean: number, min: number, max: number }

function dist (xs: readonly number[]): Dist {
  if (xs.length === 0) return { mean: 0, min: 0, max: 0 }
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs) }
}

/** measure runs `ms` of virtual time (or `during`) and returns the per-node cost over it. */
export async function measure (sim: Simulation, ms: number, during?: () => Promise<void>): Promise<Cost> {
  const before = sim.counters()
  const checks0 = sim.recordChecks()
  const t0 = sim.time.now()
  if (during === undefined) await sim.run(ms); else await during()
  const s = (sim.time.now() - t0) / 1000
  const after = sim.counters()
  const rows: Array<{ a: Counters, b: Counters }> = []
  for (const [i, a] of after) { const b = before.get(i); if (b !== undefined) rows.push({ a, b }) }
  const per = (f: (c: Counters) => number): number[] => rows.map(({ a, b }) => (f(a) - f(b)) / s)
  const gossip = dist(per(c => c.gossipChecks)).mean
  const records = (sim.recordChecks() - checks0) / Math.max(1, rows.length) / s
  const outByKind = Object.fromEntries(TRAFFIC_KINDS.map(k => [k, {
    msgs: dist(per(c => c.out[k].msgs)).mean, bytes: dist(per(c => c.out[k].bytes)).mean
  }])) as Cost['outByKind']
  return {
    seconds: s,
    nodes: rows.length,
    bytes: dist(per(c => c.bytesIn + c.bytesOut)),
    bytesOut: dist(per(c => c.bytesOut)),
    msgs: dist(per(c => c.msgsIn + c.msgsOut)),
    msgsOut: dist(per(c => c.msgsOut)),
    sigChecks: gossip + records,
    gossipChecks: gossip,
    recordChecks: records,
    outByKind
  }
}

/** Memory of one node's member and link tables: entries, and bytes approximated from what they hold. */
export interface TableMemory { members: number, memberBytes: number, links: number, linkBytes: number }

/** Per member: the base64 record, its decoded form (~¾ of it as JSON) and its last link report; per link: a LinkState (~10 numbers and strings). */
const LINK_STATE_BYTES = 160
export function tableMemory (n: SimNode): TableMemory {
  const peers = n.services.peers() as Array<{ link: string }>
  const status = n.services.status() as { members: number }
  const members = status.members - 1
  const links = peers.filter(p => p.link !== 'unknown').length
  const recordB64 = 600
  // A link report entry is ~99 B of JSON (scale branch, measured); reports are dropped from announces past the 12 KiB cap (~117 members).
  const report = members + 1 <= 117 ? 114 + 99 * members : 0
  return { members, memberBytes: members * (recordB64 + Math.round(recordB64 * 0.75) + report), links, linkBytes: links * LINK_STATE_BYTES }
}

const pick = (sim: Simulation, not: readonly SimNode[] = []): SimNode => {
  const live = sim.liveNodes().filter(n => !not.includes(n))
  return live[Math.floor(sim.random() * live.length)] as SimNode
}

const allRouted = (sim: Simulation) => (n: SimNode): boolean => sim.liveNodes().every(x => x === n || observe.routed(x)(n))

export async function massJoin (sim: Simulation, n: number): Promise<Acted> {
  const nodes = await sim.start([...Array(n).keys()])
  return await sim.waitActed('mass join: every member routes to every other', nodes, m => nodes.every(x => x === m || observe.routed(x)(m)), 180_000, 250)
}

export async function crash (sim: Simulation): Promise<Acted> {
  const x = pick(sim)
  sim.crash(x)
  return await sim.waitActed('crash: dropped from every WireGuard device', sim.liveNodes(), observe.gone(x), 30_000)
}

export async function leave (sim: Simulation): Promise<Acted> {
  const x = pick(sim)
  const left = sim.leave(x)
  const acted = await sim.waitActed('leave: dropped from every WireGuard device', sim.liveNodes().filter(n => n !== x), observe.gone(x), 30_000)
  await left
  return acted
}

export async function cutAndHeal (sim: Simulation): Promise<Acted[]> {
  const a = pick(sim); const b = pick(sim, [a])
  sim.net.cutLink(a.identity.peerId, b.identity.peerId)
  const ends = (f: (x: SimNode) => (n: SimNode) => boolean) => (n: SimNode): boolean => n === a ? f(b)(a) : f(a)(b)
  const cut = await sim.waitActed('link cut: both ends relay', [a, b], ends(observe.relayed), 30_000)
  sim.net.healLink(a.identity.peerId, b.identity.peerId)
  const heal = await sim.waitActed('link heal: both ends direct again', [a, b], ends(observe.direct), 30_000)
  return [cut, heal]
}

export async function partitionAndHeal (sim: Simulation, holdMs = 20_000): Promise<Acted[]> {
  const live = sim.liveNodes()
  const half = new Set(live.slice(0, Math.floor(live.length / 2)))
  const other = (n: SimNode): SimNode[] => live.filter(x => half.has(x) !== half.has(n))
  sim.net.partition([...half].map(n => n.identity.peerId), live.filter(n => !half.has(n)).map(n => n.identity.peerId))
  const t0 = sim.time.now()
  const split = await sim.waitActed('partition: each half drops the other', live, n => other(n).every(x => observe.gone(x)(n)), 60_000, 100)
  await sim.run(Math.max(0, holdMs - (sim.time.now() - t0)))
  sim.net.heal()
  const healed = await sim.waitActed('partition heal: every member routes to every other', live, allRouted(sim), 120_000, 100)
  return [split, healed]
}

/**
 * churn: 1 % of the members per minute, alternately a graceful leave and a
 * new member joining, evenly spaced; at least two events. Returns the cost
 * over the window and the worst time to act on a leave and on a join.
 */
export async function churn (sim: Simulation, windowMs: number, nextIndex: () => number): Promise<{ cost: Cost, events: number, leave: Acted | null, join: Acted | null }> {
  const n = sim.live.size
  const every = 60_000 / Math.max(1e-9, 0.01 * n)
  const events = Math.max(2, Math.floor(windowMs / every))
  let worstLeave: Acted | null = null
  let worstJoin: Acted | null = null
  const worse = (a: Acted | null, b: Acted): Acted => a === null || b.maxMs === null || (a.maxMs !== null && b.maxMs > a.maxMs) ? b : a
  const cost = await measure(sim, 0, async () => {
    for (let e = 0; e < events; e++) {
      const slot = sim.time.now()
      if (e % 2 === 0) {
        worstLeave = worse(worstLeave, await leave(sim))
      } else {
        const [x] = await sim.start([nextIndex()])
        const joiner = x as SimNode
        worstJoin = worse(worstJoin, await sim.waitActed('churn join: routed by every member and to every member', sim.liveNodes(),
          m => m === joiner ? allRouted(sim)(m) : observe.routed(joiner)(m), 60_000))
      }
      await sim.run(Math.max(0, every - (sim.time.now() - slot)))
    }
  })
  return { cost, events, leave: worstLeave, join: worstJoin }
}
