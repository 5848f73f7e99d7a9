/**
 * Direct-link state machine, one per peer, as a pure reducer.
 *
 * This is the ONLY place where routing has hysteresis. Route computation
 * (routes.ts) stays a pure function of the shared link reports so every node
 * computes the same, mutually consistent paths; damping flaps here, at the
 * source of the reports, keeps that property (see routes.ts header).
 *
 *   unknown ──1 success──► up ──DOWN_AFTER_FAILURES failures──► down
 *      │                    ▲                                   │
 *      └─DOWN_AFTER_FAILURES┘ failures ──► down ◄───────────────┘
 *   down ──UP_AFTER_SUCCESSES successes, and down ≥ MIN_DOWN_MS──► up
 *
 * `unknown` counts as usable so a peer that just joined is direct at once.
 * A link that has never been up gets two exceptions, because its first
 * probes fail for an ordinary reason — the other end has not configured us
 * yet — not because the path is broken:
 * - unknown → down also needs UNKNOWN_GRACE_MS since the link appeared;
 * - a never-up link that went down comes up on its first success (there is
 *   no flapping to damp on a link that has never worked).
 *
 * The RTT class that routing prices (`costClass`) has its own hysteresis: it
 * follows the smoothed RTT only when that moves COST_CLASS_HYSTERESIS classes
 * (4×) away, so scheduling jitter never re-ranks relays; and once it has
 * risen it may not fall again for COST_CLASS_HOLD_MS, so load never makes
 * relays oscillate: traffic relayed through R raises the RTT of R's links,
 * R looks worse than an idle relay S, the traffic moves to S, and R, idle
 * again, looked better at once (measured: a 5 s relayed iperf3 switched
 * relays 3 times). A rise is priced at once, and so is every fall that
 * follows no rise (the inflated RTTs of a mesh that is still starting).
 */
import type { LinkStateName } from './types.ts'

/**
 * Consecutive failed probes before a link is declared down. After a failure
 * a link is probed every tick, so the later failures add only ticks to the
 * first probe's timeout: a dead link is still noticed in ≈1.5 s. Five, not
 * three: a probe is a round trip, so 10 % loss on a link fails ~19 % of
 * them, and three in a row came often enough to move a pair onto a relay
 * twice in 3 minutes (netns fault-loss, R9); five in a row is ~27× rarer.
 */
export const DOWN_AFTER_FAILURES = 5

/** Consecutive successes before a down link is trusted again (one lucky datagram is not enough). */
export const UP_AFTER_SUCCESSES = 3

/**
 * Minimum time a link stays down before it may come back up: the anti-flap
 * hysteresis. A link that alternates works/fails every second would otherwise
 * move every relayed route back and forth with it.
 */
export const MIN_DOWN_MS = 2000

/**
 * A WireGuard session whose latest handshake is older than this is dead:
 * WireGuard rekeys every 120 s (REKEY_AFTER_TIME) while traffic flows (and our
 * 5 s keepalive guarantees traffic) and rejects sessions older than 180 s
 * (REJECT_AFTER_TIME). Past that, no probe can succeed, so the link is down now.
 */
export const HANDSHAKE_STALE_MS = 180_000

/** Weight of the previous smoothed RTT in the EWMA (new = 0.8·old + 0.2·sample). */
export const RTT_EWMA_KEEP = 0.8

/** Highest RTT class; 2^15 ms ≈ 33 s is beyond any usable link. */
export const MAX_RTT_CLASS = 15

/**
 * How long a brand-new link stays usable while its probes fail: long enough
 * for both ends to learn each other's record and complete a WireGuard
 * handshake under load, short enough that a member we can only reach through
 * a relay is relayed within seconds.
 */
export const UNKNOWN_GRACE_MS = 3000

/** costClass changes only when the measured class is this many classes away (a 4× RTT change). */
export const COST_CLASS_HYSTERESIS = 2

/** After costClass rose it may not fall for this long (see the header). */
export const COST_CLASS_HOLD_MS = 10_000

/** Timing knobs of the state machine; every field defaults to the constant of the same name. */
export interface LinkStateOptions {
  readonly downAfterFailures?: number
  readonly upAfterSuccesses?: number
  readonly minDownMs?: number
  readonly handshakeStaleMs?: number
  readonly unknownGraceMs?: number
}

/** The state of one direct link. Plain data: safe to copy, compare and log. */
export interface LinkState {
  readonly state: LinkStateName
  readonly consecutiveFailures: number
  readonly consecutiveSuccesses: number
  /** Smoothed RTT in ms, null until the first successful probe with an RTT. */
  readonly rttMs: number | null
  /** The RTT class routing prices and peers share (rttClass with hysteresis); 0 until measured. */
  readonly costClass: number
  /** When costClass last rose (-Infinity: never). */
  readonly costRaisedAt: number
  /** Whether the link has ever been up (first-contact rules above). */
  readonly everUp: boolean
  /** Time of the last state change (or of creation). */
  readonly since: number
}

/** One probe outcome as the prober reports it. */
export interface ProbeResult {
  readonly ok: boolean
  readonly rttMs?: number
  readonly at: number
}

interface ResolvedOptions {
  downAfterFailures: number
  upAfterSuccesses: number
  minDownMs: number
  handshakeStaleMs: number
  unknownGraceMs: number
}

function resolve (o: LinkStateOptions): ResolvedOptions {
  return {
    downAfterFailures: o.downAfterFailures ?? DOWN_AFTER_FAILURES,
    upAfterSuccesses: o.upAfterSuccesses ?? UP_AFTER_SUCCESSES,
    minDownMs: o.minDownMs ?? MIN_DOWN_MS,
    handshakeStaleMs: o.handshakeStaleMs ?? HANDSHAKE_STALE_MS,
    unknownGraceMs: o.unknownGraceMs ?? UNKNOWN_GRACE_MS
  }
}

/** initialLinkState is the state of a peer we have not measured yet (`unknown`, usable). */
export function initialLinkState (now: number): LinkState {
  return { state: 'unknown', consecutiveFailures: 0, consecutiveSuccesses: 0, rttMs: null, costClass: 0, costRaisedAt: -Infinity, everUp: false, since: now }
}

/** isUsable says whether routing may use the link: everything but `down`. */
export function isUsable (state: LinkStateName): boolean {
  return state !== 'down'
}

/**
 * RTTs up to this are all class 0. A LAN's RTTs all sit below it, and on a
 * busy host they swing tenfold with CPU scheduling (0.5 ↔ 10 ms); priced
 * apart, that moved relays back and forth between equally good hosts (the
 * routing-cut netns test saw 4 relay changes in the 3 s after a cut). Real
 * path differences (a WAN's 30 vs 150 ms) are far above it.
 */
export const RTT_CLASS_FLOOR_MS = 16

/**
 * rttClass maps an RTT to the coarse, shared cost ceil(log2(rtt + 1)) clamped
 * to 0..15, and 0 up to RTT_CLASS_FLOOR_MS. Each class doubles the RTT, so
 * jitter never changes a class (and therefore never changes a route) except
 * near a boundary.
 */
export function rttClass (rttMs: number | null): number {
  if (rttMs === null || !Number.isFinite(rttMs) || rttMs <= RTT_CLASS_FLOOR_MS) return 0
  return Math.min(MAX_RTT_CLASS, Math.ceil(Math.log2(rttMs + 1)))
}

function smooth (old: number | null, sample: number | undefined): number | null {
  if (sample === undefined || !Number.isFinite(sample) || sample < 0) return old
  return old === null ? sample : RTT_EWMA_KEEP * old + (1 - RTT_EWMA_KEEP) * sample
}

function nextCost (s: LinkState, rttMs: number | null, at: number): { costClass: number, costRaisedAt: number } {
  const kept = { costClass: s.costClass, costRaisedAt: s.costRaisedAt }
  if (rttMs === null) return kept
  const measured = rttClass(rttMs)
  if (s.rttMs === null) return { costClass: measured, costRaisedAt: s.costRaisedAt }
  if (Math.abs(measured - s.costClass) < COST_CLASS_HYSTERESIS) return kept
  if (measured > s.costClass) return { costClass: measured, costRaisedAt: at }
  return at - s.costRaisedAt < COST_CLASS_HOLD_MS ? kept : { costClass: measured, costRaisedAt: s.costRaisedAt }
}

function onSuccess (s: LinkState, r: ProbeResult, o: ResolvedOptions): LinkState {
  const successes = s.consecutiveSuccesses + 1
  const rttMs = smooth(s.rttMs, r.rttMs)
  const base = { consecutiveFailures: 0, consecutiveSuccesses: successes, rttMs, ...nextCost(s, rttMs, r.at) }
  const firstContact = s.state === 'unknown' || (s.state === 'down' && !s.everUp)
  if (firstContact) return { ...base, state: 'up', everUp: true, since: r.at }
  if (s.state === 'down' && successes >= o.upAfterSuccesses && r.at - s.since >= o.minDownMs) {
    return { ...base, state: 'up', everUp: true, since: r.at }
  }
  return { ...base, state: s.state, everUp: s.everUp, since: s.since }
}

function onFailure (s: LinkState, r: ProbeResult, o: ResolvedOptions): LinkState {
  const failures = s.consecutiveFailures + 1
  const base = { consecutiveFailures: failures, consecutiveSuccesses: 0, rttMs: s.rttMs, costClass: s.costClass, costRaisedAt: s.costRaisedAt, everUp: s.everUp }
  const inGrace = s.state === 'unknown' && r.at - s.since < o.unknownGraceMs
  if (s.state !== 'down' && failures >= o.downAfterFailures && !inGrace) return { ...base, state: 'down', since: r.at }
  return { ...base, state: s.state, since: s.since }
}

/**
 * applyProbe folds one probe result into the state. Pure; `result.at` is the
 * clock. Failures reset the success streak and vice versa, so only
 * *consecutive* evidence changes the state.
 */
export function applyProbe (s: LinkState, result: ProbeResult, options: LinkStateOptions = {}): LinkState {
  const o = resolve(options)
  return result.ok ? onSuccess(s, result, o) : onFailure(s, result, o)
}

/**
 * applyHandshakeAge folds WireGuard's `latestHandshake` age into the state.
 * `ageMs` null means "never handshaked": no evidence either way (a new peer
 * stays `unknown`; probes decide). A stale handshake forces `down` at once:
 * the session is gone, so waiting for probe failures only loses packets. It
 * never brings a link up; only probes do, under the normal hysteresis.
 */
export function applyHandshakeAge (s: LinkState, ageMs: number | null, now: number, options: LinkStateOptions = {}): LinkState {
  const o = resolve(options)
  if (ageMs === null || ageMs <= o.handshakeStaleMs) return s
  if (s.state === 'down') return s.consecutiveSuccesses === 0 ? s : { ...s, consecutiveSuccesses: 0 }
  return { ...s, state: 'down', consecutiveSuccesses: 0, since: now }
}
