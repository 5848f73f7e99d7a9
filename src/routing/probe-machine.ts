/**
 * The probe state machine of the direct-link prober, without the socket or
 * timers: which peers to probe on a tick, which probes are overdue, what a
 * received datagram means. Times come in as arguments (`mono` measures RTT,
 * `now` stamps results, the same clock as link-state). src/net/prober.ts
 * drives it with a UDP socket and a timer.
 *
 * Each peer's /128 link address always stays on that peer's own WireGuard
 * entry (plan.ts), so a probe always crosses the direct link, even while the
 * peer's /64 is relayed; that is how a healed link is noticed.
 */
import { decodeProbe, echoOf, encodeProbe, ProbeKind } from './probe-packet.ts'
import type { Ipv6Address } from '../net/prefix.ts'
import type { PeerIdString } from './types.ts'

/** UDP port of the probe responder on every link address (next to WireGuard's 51820). */
export const PROBE_PORT = 51821
/** Probe period: after a first failure a link is probed every tick, so with DOWN_AFTER_FAILURES = 5 a dead link is noticed in about 1.5 s. */
export const PROBE_INTERVAL_MS = 300
/**
 * A link that answered this many probes in a row is calm and is probed only
 * every CALM_PROBE_EVERY ticks; any failure, or a probe that stays unanswered
 * for two intervals, puts it back on every tick. Probes are most of an idle
 * daemon's packets (and of its wireguard-go's CPU), and their number grows
 * with the mesh: this divides them by ~10 on a healthy mesh while a breaking
 * link is still probed at full rate within one calm interval (1 s at the
 * default 100 ms tick). Measured, every 5th → every 10th tick: idle CPU per
 * host 8.3 → 5.7 % at N=10, reroute 1.1 → 1.4 s, and 16 daemons on two
 * cores settled (link-downs per 10 s after a minute: ~100 → ~10, one run each).
 */
export const CALM_AFTER_SUCCESSES = 5
/** A calm link is probed every this many ticks. */
export const CALM_PROBE_EVERY = 10
/** A probe with no echo after this long failed. Far above any sane in-mesh RTT, small enough to react fast. */
export const PROBE_TIMEOUT_MS = 1000
/** Ceiling of the adaptive timeout: past this a path is unusable for traffic anyway. */
export const MAX_PROBE_TIMEOUT_MS = 3000
/** How long a failed probe's echo is still accepted as a (late) success. */
export const LATE_ECHO_MS = 2 * MAX_PROBE_TIMEOUT_MS

/** One probe outcome. */
export interface ProbeOutcome { readonly ok: boolean, readonly rttMs?: number, readonly at: number }
/** A datagram to send. */
export interface Datagram { readonly bytes: Uint8Array, readonly port: number, readonly address: string }
/** A probe result for one peer. */
export interface ProbeResult { readonly peer: PeerIdString, readonly outcome: ProbeOutcome }

export interface ProbeMachineInit {
  readonly intervalMs: number
  readonly timeoutMs: number
  /** Port probes are sent to (every node uses the same one). */
  readonly remotePort: number
  /** Random per-instance nonce prefix (hex), so a restarted prober never matches an old echo. */
  readonly noncePrefix: string
}

interface Pending { readonly peer: PeerIdString, readonly address: string, readonly sentMono: number }

/** Addresses compare as the OS prints them: lower case, without a zone. */
export function normalizeAddress (address: string): string {
  const zone = address.indexOf('%')
  return (zone === -1 ? address : address.slice(0, zone)).toLowerCase()
}

export class ProbeMachine {
  private readonly init: ProbeMachineInit
  private targets = new Map<PeerIdString, string>()
  private sources = new Set<string>()
  private readonly pending = new Map<string, Pending>()
  /**
   * Probes already reported failed, kept a while longer: an echo that still
   * arrives proves the link works (it is only slow, e.g. a starved CPU) and
   * teaches the adaptive timeout the real RTT. Without this a link whose RTT
   * exceeds the timeout never produces an RTT sample and stays down.
   */
  private readonly late = new Map<string, Pending>()
  /** Per-peer consecutive answered probes (calm links are probed less often). */
  private readonly streak = new Map<PeerIdString, number>()
  /** Per-peer monotonic time of the last probe sent. */
  private readonly lastSent = new Map<PeerIdString, number>()
  /** Per-peer smoothed RTT and variance (RFC 6298), for the adaptive timeout. */
  private readonly rtt = new Map<PeerIdString, { srtt: number, rttvar: number }>()
  private counter = 0

  constructor (init: ProbeMachineInit) { this.init = init }

  /** setTargets replaces the peers to probe (peer → its link address). Also the set of addresses we answer. */
  setTargets (targets: ReadonlyMap<PeerIdString, Ipv6Address>): void {
    this.targets = new Map([...targets].map(([peer, addr]) => [peer, normalizeAddress(addr)]))
    for (const m of [this.rtt, this.streak, this.lastSent]) for (const peer of m.keys()) if (!this.targets.has(peer)) m.delete(peer)
    this.sources = new Set(this.targets.values())
    for (const m of [this.pending, this.late]) {
      for (const [nonce, p] of m) if (this.targets.get(p.peer) !== p.address) m.delete(nonce)
    }
  }

  /** tick returns the probes to send now: every target, except calm links between their calm probes. */
  tick (mono: number, now: number): Datagram[] {
    const late = this.lateProbes(mono)
    const out: Datagram[] = []
    for (const [peer, address] of this.targets) {
      const calm = (this.streak.get(peer) ?? 0) >= CALM_AFTER_SUCCESSES && !late.has(peer)
      const since = mono - (this.lastSent.get(peer) ?? -Infinity)
      // 0.5 tick of slack: timers fire a little early or late, and a calm link must not slip a whole tick.
      if (calm && since < (CALM_PROBE_EVERY - 0.5) * this.init.intervalMs) continue
      out.push(this.probe(peer, address, mono, now))
    }
    return out
  }

  /** failOverdue fails the probes past their timeout (they stay matchable as late echoes a while). */
  failOverdue (mono: number, now: number): ProbeResult[] {
    const out: ProbeResult[] = []
    for (const [nonce, p] of this.late) if (mono - p.sentMono > LATE_ECHO_MS) this.late.delete(nonce)
    for (const [nonce, p] of this.pending) {
      if (mono - p.sentMono < this.timeoutFor(p.peer)) continue
      this.pending.delete(nonce)
      this.late.set(nonce, p)
      this.streak.set(p.peer, 0)
      out.push({ peer: p.peer, outcome: { ok: false, at: now } })
    }
    return out
  }

  /** receive handles a datagram: a probe from a target is echoed, an echo of ours is a result; anything else is dropped. */
  receive (buf: Uint8Array, from: { address: string, port: number }, mono: number, now: number): { reply?: Datagram, result?: ProbeResult } {
    const packet = decodeProbe(buf)
    const source = normalizeAddress(from.address)
    if (packet === null || !this.sources.has(source)) return {}
    if (packet.kind === ProbeKind.PROBE) return { reply: { bytes: echoOf(buf), port: from.port, address: from.address } }
    const p = this.pending.get(packet.nonce) ?? this.late.get(packet.nonce)
    if (p === undefined || p.address !== source) return {}
    this.pending.delete(packet.nonce)
    this.late.delete(packet.nonce)
    const rttMs = Math.max(0, mono - p.sentMono)
    this.observeRtt(p.peer, rttMs)
    this.streak.set(p.peer, (this.streak.get(p.peer) ?? 0) + 1)
    return { result: { peer: p.peer, outcome: { ok: true, rttMs, at: now } } }
  }

  /** forget drops every outstanding probe (the socket closed). */
  forget (): void { this.pending.clear(); this.late.clear() }

  private probe (peer: PeerIdString, address: string, mono: number, now: number): Datagram {
    this.counter = (this.counter + 1) >>> 0
    const nonce = this.init.noncePrefix + this.counter.toString(16).padStart(8, '0')
    this.pending.set(nonce, { peer, address, sentMono: mono })
    this.lastSent.set(peer, mono)
    return { bytes: encodeProbe({ kind: ProbeKind.PROBE, nonce, sentAt: now }), port: this.init.remotePort, address }
  }

  /** lateProbes: peers with a probe unanswered for two intervals (not failed yet, but no longer calm). */
  private lateProbes (mono: number): Set<PeerIdString> {
    const out = new Set<PeerIdString>()
    for (const p of this.pending.values()) if (mono - p.sentMono >= 2 * this.init.intervalMs) out.add(p.peer)
    return out
  }

  /**
   * timeoutFor is the configured timeout, stretched like TCP's RTO
   * (srtt + 4·rttvar, RFC 6298) when a peer's RTT is jittery: under CPU load
   * echoes come late, not never, and a fixed timeout turns load into link
   * flaps. On a quiet path rttvar is tiny and the configured floor rules.
   */
  private timeoutFor (peer: PeerIdString): number {
    const r = this.rtt.get(peer)
    if (r === undefined) return this.init.timeoutMs
    return Math.min(MAX_PROBE_TIMEOUT_MS, Math.max(this.init.timeoutMs, r.srtt + 4 * r.rttvar))
  }

  private observeRtt (peer: PeerIdString, sample: number): void {
    const r = this.rtt.get(peer)
    if (r === undefined) { this.rtt.set(peer, { srtt: sample, rttvar: sample / 2 }); return }
    r.rttvar = 0.75 * r.rttvar + 0.25 * Math.abs(r.srtt - sample)
    r.srtt = 0.875 * r.srtt + 0.125 * sample
  }
}
