/**
 * One simulated mesh: N real cores (root.ts) on the simulated network
 * (network.ts) in virtual time (sim-time.ts), and the means to act on it
 * (start, stop, crash, cut, partition) and to observe it (per-node counters,
 * and for an event the time until every member has acted on it).
 */
import { SimTime, type SimScope } from './sim-time.ts'
import { SimNetwork, copyCounters, type Counters } from './network.ts'
import { signatureChecks, startSimNode, type SimNode } from './root.ts'

export interface SimInit {
  readonly seed?: number
  readonly latencyMs?: number
  readonly jitterMs?: number
  readonly loss?: number
  /** Wall-clock budget of the whole simulation (throws SimBudgetError past it). */
  readonly wallBudgetMs?: number
}

/** How long each member took to act on one event. */
export interface Acted {
  readonly event: string
  readonly members: number
  readonly acted: number
  /** Time until the last member acted (null: some never did within the limit). */
  readonly maxMs: number | null
  readonly p50Ms: number | null
}

/** mulberry32: a small seeded PRNG, so a run is repeatable. */
export function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export class Simulation {
  readonly time = new SimTime()
  readonly net: SimNetwork
  readonly random: () => number
  readonly nodes = new Map<number, SimNode>()
  readonly live = new Set<SimNode>()
  private readonly scopes = new Map<number, SimScope>()
  private readonly deadline: number

  constructor (init: SimInit = {}) {
    this.random = seeded(init.seed ?? 1)
    this.net = new SimNetwork({ time: this.time, random: this.random, latencyMs: init.latencyMs ?? 2, jitterMs: init.jitterMs ?? 3, loss: init.loss ?? 0 })
    this.deadline = Date.now() + (init.wallBudgetMs ?? Infinity)
  }

  private budget (): number { return Math.max(1, this.deadline - Date.now()) }

  /** run advances virtual time by `ms`. */
  async run (ms: number): Promise<void> { await this.time.runFor(ms, this.budget()) }

  /** drive advances time in 50 ms steps until `work` settles. */
  async drive<T> (work: Promise<T>, limitMs = 120_000): Promise<T> {
    let out: { ok: true, value: T } | { ok: false, err: unknown } | null = null
    work.then(value => { out = { ok: true, value } }, (err: unknown) => { out = { ok: false, err } })
    for (let waited = 0; out === null; waited += 50) {
      if (waited > limitMs) throw new Error(`not settled within ${limitMs} ms of virtual time`)
      await this.run(50)
    }
    const done = out as { ok: true, value: T } | { ok: false, err: unknown }
    if (!done.ok) throw done.err
    return done.value
  }

  /** start brings nodes up together (index = identity). */
  async start (indexes: readonly number[]): Promise<SimNode[]> {
    const ns = await this.drive(Promise.all(indexes.map(async i => {
      const scope = this.time.scope()
      this.scopes.set(i, scope)
      return await startSimNode(this.net, scope, i)
    })))
    for (const n of ns) { this.nodes.set(n.index, n); this.live.add(n) }
    return ns
  }

  /** leave: a graceful stop (the leave message goes out, then the transport closes). */
  async leave (n: SimNode): Promise<void> {
    this.live.delete(n)
    await this.drive(n.services.stop())
    this.scopes.get(n.index)?.kill()
  }

  /** crash: the process vanishes (connections reset, timers gone). */
  crash (n: SimNode): void {
    this.live.delete(n)
    this.net.crash(n.identity.peerId)
    this.scopes.get(n.index)?.kill()
  }

  liveNodes (): SimNode[] { return [...this.live].sort((a, b) => a.index - b.index) }

  /** snapshot of every live node's counters (to diff over a window). */
  counters (): Map<number, Counters> {
    return new Map(this.liveNodes().map(n => [n.index, copyCounters(this.net.counters(n.identity.peerId))]))
  }

  recordChecks (): number { return signatureChecks.records }

  /**
   * waitActed polls every `pollMs` until `ok(node)` holds for every node of
   * `members` (first time counts), or `limitMs` passes; returns per-event timing.
   */
  async waitActed (event: string, members: readonly SimNode[], ok: (n: SimNode) => boolean, limitMs: number, pollMs = 50): Promise<Acted> {
    const start = this.time.now()
    const times = new Map<number, number>()
    const pending = new Set(members)
    const check = (): void => {
      for (const n of pending) {
        if (!this.live.has(n)) { pending.delete(n); continue }
        if (ok(n)) { times.set(n.index, this.time.now() - start); pending.delete(n) }
      }
    }
    check()
    while (pending.size > 0 && this.time.now() - start < limitMs) {
      await this.run(pollMs)
      check()
    }
    const ts = [...times.values()].sort((a, b) => a - b)
    return {
      event,
      members: members.length,
      acted: ts.length,
      maxMs: pending.size > 0 ? null : (ts[ts.length - 1] ?? 0),
      p50Ms: ts.length === 0 ? null : (ts[Math.floor((ts.length - 1) / 2)] ?? null)
    }
  }
}

/** Observations of one node's data plane, as the fake WireGuard device holds it. */
export const observe = {
  /** gone: `x` is no longer a WireGuard peer of `n`. */
  gone: (x: SimNode) => (n: SimNode): boolean => !n.wgPeers().has(x.identity.wg.publicKey),
  /** routed: `n` has a route (some peer's allowed-ips) to `x`'s /64. */
  routed: (x: SimNode) => (n: SimNode): boolean => n.routeVia().has(x.services.status().prefix),
  /** direct: `n` reaches `x` through `x`'s own peer. */
  direct: (x: SimNode) => (n: SimNode): boolean => n.routeVia().get(x.services.status().prefix) === x.identity.wg.publicKey,
  /** relayed: `n` reaches `x` through another member. */
  relayed: (x: SimNode) => (n: SimNode): boolean => {
    const v = n.routeVia().get(x.services.status().prefix)
    return v !== undefined && v !== x.identity.wg.publicKey
  }
}
