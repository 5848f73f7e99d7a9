/**
 * All-pairs connectivity monitoring: every ordered pair of lab hosts keeps a
 * stream of ICMPv6 echoes (`ping -D -O`, default every 100 ms) running inside
 * the source host, logged to a file. Outages are then measured per pair in
 * milliseconds from what the probes saw — a run of echoes that were *sent* and
 * never answered within the timeout — and compared with a budget. A busy
 * machine that delays the prober delays its sends too, so a stall of the test
 * machine is not counted as an outage of the mesh; late replies count only up
 * to `timeoutMs`.
 *
 * The parsing and the arithmetic are pure (parsePingLog, summarizeProbes) and
 * unit-tested; startPairProbes is the side-effecting part.
 */
import { readFileSync } from 'node:fs'
import type { Lab, LabProcess } from './lab.ts'

/** One echo as the log shows it: when it was sent and how long its reply took (null: none). */
export interface ProbeEvent { readonly sentMs: number, readonly rttMs: number | null }

const REPLY = /^\[(\d+(?:\.\d+)?)\] \d+ bytes from .*icmp_seq=(\d+) .*time=([\d.]+) ms/
const NO_ANSWER = /^\[(\d+(?:\.\d+)?)\] no answer yet for icmp_seq=(\d+)/
const EXITED = /^\[(\d+(?:\.\d+)?)\] prober exited/

/**
 * parsePingLog reads the output of `ping -D -O -i <intervalMs>` (possibly
 * several runs one after the other, each opened by its `PING` header and
 * closed by a `prober exited` marker) into echo events ordered by send time.
 * A reply gives the exact send time (receive − rtt); "no answer yet" is
 * printed when the next echo goes out, so its echo left one interval before;
 * a sequence number with no line at all between two known ones was sent and
 * lost (send time interpolated); a prober that exited counts as one lost
 * echo at that moment, so a prober that died is never a quiet pair.
 * Duplicate replies are ignored.
 */
export function parsePingLog (text: string, intervalMs: number): ProbeEvent[] {
  const out: ProbeEvent[] = []
  let run = new Map<number, ProbeEvent>()
  const flush = (): void => {
    const seqs = [...run.keys()].sort((a, b) => a - b)
    for (let k = 0; k < seqs.length; k++) {
      const seq = seqs[k] as number
      const e = run.get(seq) as ProbeEvent
      out.push(e)
      const next = seqs[k + 1]
      if (next === undefined) continue
      const n = run.get(next) as ProbeEvent
      for (let s = seq + 1; s < next; s++) {
        out.push({ sentMs: e.sentMs + (n.sentMs - e.sentMs) * (s - seq) / (next - seq), rttMs: null })
      }
    }
    run = new Map()
  }
  for (const line of text.split('\n')) {
    if (line.startsWith('PING ')) { flush(); continue }
    const exited = EXITED.exec(line)
    if (exited !== null) { flush(); out.push({ sentMs: Number(exited[1]) * 1000, rttMs: null }); continue }
    if (line.includes('(DUP!)')) continue
    const r = REPLY.exec(line)
    if (r !== null) {
      const rtt = Number(r[3])
      run.set(Number(r[2]), { sentMs: Number(r[1]) * 1000 - rtt, rttMs: rtt })
      continue
    }
    const q = NO_ANSWER.exec(line)
    if (q !== null && !run.has(Number(q[2]))) run.set(Number(q[2]), { sentMs: Number(q[1]) * 1000 - intervalMs, rttMs: null })
  }
  flush()
  return out.sort((a, b) => a.sentMs - b.sentMs)
}

/** One outage: echoes sent from `startMs` on went unanswered until one sent at `endMs` was answered (or the window ended). */
export interface Outage { readonly startMs: number, readonly endMs: number, readonly lost: number }

export interface ProbeSummary {
  /** Echoes sent inside the window. */
  readonly sent: number
  /** Of those, answered within the timeout. */
  readonly answered: number
  /** answered / sent (1 when nothing was sent). */
  readonly delivery: number
  /** The longest outage in ms (0 when none). */
  readonly maxOutageMs: number
  readonly outages: readonly Outage[]
  /** Send times of the first and last answered echoes in the window (null when none). */
  readonly firstAnsweredMs: number | null
  readonly lastAnsweredMs: number | null
}

/**
 * summarizeProbes counts the echoes sent in [fromMs, toMs] and measures each
 * run of unanswered ones (a reply slower than `timeoutMs` is a loss): an
 * outage lasts from the first lost echo's send time to the send time of the
 * next answered one, or to `toMs` if none was.
 */
export function summarizeProbes (events: readonly ProbeEvent[], o: { fromMs: number, toMs: number, timeoutMs: number }): ProbeSummary {
  const inWindow = events.filter(e => e.sentMs >= o.fromMs && e.sentMs <= o.toMs)
  const outages: Outage[] = []
  let answered = 0
  let start: number | null = null
  let lost = 0
  let firstAnsweredMs: number | null = null
  let lastAnsweredMs: number | null = null
  for (const e of inWindow) {
    const ok = e.rttMs !== null && e.rttMs <= o.timeoutMs
    if (ok) {
      answered++
      firstAnsweredMs ??= e.sentMs
      lastAnsweredMs = e.sentMs
      if (start !== null) { outages.push({ startMs: start, endMs: e.sentMs, lost }); start = null; lost = 0 }
    } else {
      start ??= e.sentMs
      lost++
    }
  }
  if (start !== null) outages.push({ startMs: start, endMs: o.toMs, lost })
  return {
    sent: inWindow.length,
    answered,
    delivery: inWindow.length === 0 ? 1 : answered / inWindow.length,
    maxOutageMs: outages.reduce((m, x) => Math.max(m, x.endMs - x.startMs), 0),
    outages,
    firstAnsweredMs,
    lastAnsweredMs
  }
}

/** A one-line summary for test output. */
export function describeSummary (s: ProbeSummary): string {
  return `${s.answered}/${s.sent} answered (${(100 * s.delivery).toFixed(1)} %), ${s.outages.length} outage(s), longest ${Math.round(s.maxOutageMs)} ms`
}

export interface PairProbes {
  /** Ordered pairs probed, as "i>j". */
  readonly pairs: readonly string[]
  readonly intervalMs: number
  readonly timeoutMs: number
  /** The events of pair "i>j" so far. */
  events (pair: string): ProbeEvent[]
  /** Every pair's summary over [fromMs, toMs] (toMs default: now). */
  summaries (fromMs: number, toMs?: number, pairs?: readonly string[]): Map<string, ProbeSummary>
  /** Waits (up to timeoutMs) until each of `pairs` has an answered echo sent after `afterMs`; throws naming those without. */
  waitAnsweredAfter (afterMs: number, pairs?: readonly string[], timeoutMs?: number): Promise<void>
  /** Stops every prober (idempotent). */
  stop (): Promise<void>
}

/**
 * startPairProbes starts one prober per ordered pair of `hosts` (host i pings
 * host j's overlay address), each restarted if ping exits (e.g. while the
 * overlay route is briefly gone). Stop it in `finally`; lab.destroy() is the
 * safety net.
 */
export function startPairProbes (lab: Lab, hosts: readonly number[], addressOf: (host: number) => string,
  o: { intervalMs?: number, timeoutMs?: number, name?: string } = {}): PairProbes {
  const intervalMs = o.intervalMs ?? 100
  const timeoutMs = o.timeoutMs ?? 1000
  const seconds = (intervalMs / 1000).toFixed(3)
  const procs = new Map<string, LabProcess>()
  for (const i of hosts) {
    for (const j of hosts) {
      if (i === j) continue
      const ping = `ping -6 -n -D -O -i ${seconds} -W ${Math.ceil(timeoutMs / 1000)} ${addressOf(j)}`
      const script = `trap 'kill $p 2>/dev/null; exit 0' TERM INT; while :; do ${ping} & p=$!; wait $p; echo "[$(date +%s.%N)] prober exited"; sleep 0.2; done`
      procs.set(`${i}>${j}`, lab.spawn(i, 'sh', ['-c', script], { logFile: `${o.name ?? 'probe'}-${i}-${j}.log` }))
    }
  }
  let stopped: Promise<void> | null = null
  const self: PairProbes = {
    pairs: [...procs.keys()],
    intervalMs,
    timeoutMs,
    events (pair) {
      const p = procs.get(pair)
      if (p === undefined) throw new Error(`pair ${pair} is not probed`)
      let text = ''
      try { text = readFileSync(p.logFile, 'utf8') } catch { /* not written yet */ }
      return parsePingLog(text, intervalMs)
    },
    summaries (fromMs, toMs = Date.now(), pairs = self.pairs) {
      const out = new Map<string, ProbeSummary>()
      for (const pair of pairs) out.set(pair, summarizeProbes(self.events(pair), { fromMs, toMs, timeoutMs }))
      return out
    },
    async waitAnsweredAfter (afterMs, pairs = self.pairs, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const late = [...self.summaries(afterMs, Infinity, pairs)].filter(([, x]) => x.answered === 0).map(([k]) => k)
        if (late.length === 0) return
        if (Date.now() > deadline) throw new Error(`no answered probe after ${new Date(afterMs).toISOString()} on ${late.join(' ')} within ${timeoutMs} ms`)
        await new Promise(resolve => setTimeout(resolve, 250))
      }
    },
    stop () {
      stopped ??= (async () => {
        await Promise.all([...procs.values()].map(async p => await lab.kill(p.host, p, 'SIGTERM', 3000).catch(() => null)))
      })()
      return stopped
    }
  }
  return self
}

/**
 * overBudget returns one line per pair whose longest outage in the summaries
 * exceeds `budgetMs` or whose delivery is below `minDelivery`, or that sent
 * fewer than `minSent` echoes, or that has no answered echo sent at or before
 * `cover[0]` and at or after `cover[1]` (a prober that did not run across the
 * fault proves nothing about it; how many it sent depends on the machine).
 */
export function overBudget (summaries: ReadonlyMap<string, ProbeSummary>, o: { budgetMs?: number, minDelivery?: number, minSent?: number, cover?: readonly [number, number] }): string[] {
  const bad: string[] = []
  for (const [pair, s] of summaries) {
    if (s.sent < (o.minSent ?? 1)) bad.push(`${pair}: only ${s.sent} probes sent`)
    else if (o.cover !== undefined && (s.firstAnsweredMs === null || s.firstAnsweredMs > o.cover[0] || (s.lastAnsweredMs ?? 0) < o.cover[1])) {
      bad.push(`${pair}: no answered probe both before ${new Date(o.cover[0]).toISOString()} and after ${new Date(o.cover[1]).toISOString()} (${describeSummary(s)})`)
    }
    else if (o.budgetMs !== undefined && s.maxOutageMs > o.budgetMs) bad.push(`${pair}: outage ${Math.round(s.maxOutageMs)} ms > ${o.budgetMs} ms (${describeSummary(s)})`)
    else if (o.minDelivery !== undefined && s.delivery < o.minDelivery) bad.push(`${pair}: delivery ${(100 * s.delivery).toFixed(1)} % < ${(100 * o.minDelivery).toFixed(1)} % (${describeSummary(s)})`)
  }
  return bad
}
