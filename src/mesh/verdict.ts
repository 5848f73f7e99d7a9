/**
 * Liveness verdicts for the scaled control plane: who decides that a member
 * is dead, when not every member hears every member's heartbeat any more.
 * Only a member's watchers (watchers.ts) accuse it; accusations and
 * refutations are small signed messages flooded on the members topic (the
 * publisher is authenticated by gossipsub, so `by` is never forged), and
 * every node runs this same reducer per member on what it receives.
 *
 *   alive {target, inc}        by the target: refutes accusations at a lower inc, or rejoins
 *   suspect {target, inc, by}  by a watcher: probes to the target fail / its connection dropped
 *   confirm {target, inc, by}  by a watcher whose redial was refused (RST: nothing listens there)
 *   leave {target, inc}        by the target, on graceful stop
 *
 *   alive ──(credible accusation)──► suspect ──(deadline: confirmGraceMs for a confirm,
 *         │                                     suspicionTimeoutMs for a suspicion)──► dead
 *         └──(accusations from `quorum` distinct watchers, one credible)──────────────► dead
 *   suspect/dead ──(alive at a higher inc)──► alive        any ──(leave)──► left
 *
 * Guards against one hostile watcher (SWIM-style): it cannot reach the
 * quorum alone; a lone accusation only starts a deadline, which the target
 * refutes by flooding `alive` with a higher incarnation; and an accuser
 * whose lone accusation was refuted is discredited for that target: its
 * later accusations count toward a quorum but never start a deadline again.
 * So a single liar costs its target one refutation, ever. Two colluding
 * watchers of the same target can still kill it (K-of-N trust, stated in
 * docs/scale.md). Accusations from members that are not the target's
 * watchers in our assignment are refused.
 */
import type { PeerIdString } from '../keys/types.ts'

export type VerdictStatus = 'alive' | 'suspect' | 'dead' | 'left'

/** Why a member was declared dead (logged and counted). */
export type DeathReason = 'quorum' | 'confirmed' | 'suspicion-timeout'

export interface VerdictConfig {
  /** Distinct accusing watchers that kill at once (default 2 of K = 4). */
  readonly quorum: number
  /** A lone suspicion kills after this unless refuted or joined by others. */
  readonly suspicionTimeoutMs: number
  /** A lone refused-redial confirmation kills after this unless refuted: the target's window to answer. */
  readonly confirmGraceMs: number
}

/** Discredited accusers remembered per member (the most recent); watchers are few, so this is never reached honestly. */
export const MAX_DISCREDITED = 16

export const DEFAULT_VERDICT_CONFIG: VerdictConfig = { quorum: 2, suspicionTimeoutMs: 4_000, confirmGraceMs: 1_000 }

/** One member's verdict state. */
export interface MemberVerdict {
  readonly status: VerdictStatus
  readonly incarnation: number
  /** Accusations at `incarnation`, by watcher. */
  readonly accusers: ReadonlyMap<PeerIdString, 'suspect' | 'confirm'>
  /** When a credible lone accusation kills, if not refuted first. */
  readonly deadline: number | null
  readonly deathReason?: DeathReason
  /** Watchers whose lone accusation this member refuted. */
  readonly discredited: ReadonlySet<PeerIdString>
}

export type VerdictEvent =
  | { readonly type: 'alive', readonly incarnation: number, readonly at: number }
  | { readonly type: 'leave', readonly incarnation: number, readonly at: number }
  | { readonly type: 'suspect' | 'confirm', readonly incarnation: number, readonly by: PeerIdString, readonly at: number }
  | { readonly type: 'tick', readonly at: number }

/** What an event did: for counters and logs. */
export type VerdictEffect = 'none' | 'stale' | 'refused' | 'accused' | 'dead' | 'revived' | 'left'

/** A member we just learned of, at the incarnation its record or alive message carried. */
export function initialVerdict (incarnation: number): MemberVerdict {
  return { status: 'alive', incarnation, accusers: new Map(), deadline: null, discredited: new Set() }
}

/**
 * stepVerdict applies one event. `isWatcher(by)` says whether `by` watches
 * this member in our current assignment.
 */
export function stepVerdict (s: MemberVerdict, ev: VerdictEvent, cfg: VerdictConfig, isWatcher: (by: PeerIdString) => boolean): { state: MemberVerdict, effect: VerdictEffect } {
  switch (ev.type) {
    case 'alive': return onAlive(s, ev.incarnation)
    case 'leave':
      if (ev.incarnation < s.incarnation || s.status === 'left') return { state: s, effect: 'stale' }
      return { state: { ...s, status: 'left', incarnation: ev.incarnation, accusers: new Map(), deadline: null }, effect: 'left' }
    case 'suspect':
    case 'confirm':
      if (!isWatcher(ev.by)) return { state: s, effect: 'refused' }
      return onAccusation(s, ev.type, ev.by, ev.incarnation, ev.at, cfg)
    case 'tick':
      if (s.status !== 'suspect' || s.deadline === null || ev.at < s.deadline) return { state: s, effect: 'none' }
      return { state: dead(s, [...s.accusers.values()].includes('confirm') ? 'confirmed' : 'suspicion-timeout'), effect: 'dead' }
  }
}

function onAlive (s: MemberVerdict, incarnation: number): { state: MemberVerdict, effect: VerdictEffect } {
  if (incarnation <= s.incarnation) return { state: s, effect: 'stale' }
  // A lone accuser that was refuted lied or erred; several refuted accusers more likely saw a real partition.
  const discredited = s.accusers.size === 1 ? new Set([...s.discredited, ...s.accusers.keys()].slice(-MAX_DISCREDITED)) : s.discredited
  const effect = s.status === 'alive' ? 'none' : 'revived'
  const { deathReason: _, ...rest } = s
  return { state: { ...rest, status: 'alive', incarnation, accusers: new Map(), deadline: null, discredited }, effect }
}

function onAccusation (s: MemberVerdict, kind: 'suspect' | 'confirm', by: PeerIdString, incarnation: number, at: number, cfg: VerdictConfig): { state: MemberVerdict, effect: VerdictEffect } {
  if (incarnation < s.incarnation) return { state: s, effect: 'stale' }
  if (s.status === 'left' || (s.status === 'dead' && incarnation === s.incarnation)) return { state: s, effect: 'none' }
  // An accusation at a newer incarnation than we hold: the accuser heard a refutation we missed; start from it.
  const base: MemberVerdict = incarnation > s.incarnation
    ? { ...s, status: 'alive', incarnation, accusers: new Map(), deadline: null }
    : s
  const accusers = new Map(base.accusers)
  if (accusers.get(by) !== 'confirm') accusers.set(by, kind)
  const credible = [...accusers.keys()].filter(w => !base.discredited.has(w))
  const next: MemberVerdict = { ...base, accusers }
  if (credible.length === 0) return { state: next, effect: 'none' }
  if (accusers.size >= cfg.quorum) return { state: dead(next, 'quorum'), effect: 'dead' }
  const credibleKind = credible.some(w => accusers.get(w) === 'confirm') ? 'confirm' : 'suspect'
  const due = at + (credibleKind === 'confirm' ? cfg.confirmGraceMs : cfg.suspicionTimeoutMs)
  const deadline = next.deadline === null ? due : Math.min(next.deadline, due)
  return { state: { ...next, status: 'suspect', deadline }, effect: 'accused' }
}

function dead (s: MemberVerdict, reason: DeathReason): MemberVerdict {
  return { ...s, status: 'dead', deadline: null, deathReason: reason }
}

/**
 * refutation: what the member itself floods when it sees itself accused (or
 * declared dead) at its current incarnation: `alive` one incarnation higher.
 * Null when nothing needs refuting.
 */
export function refutation (self: MemberVerdict): { type: 'alive', incarnation: number } | null {
  if (self.status === 'suspect' || self.status === 'dead') return { type: 'alive', incarnation: self.incarnation + 1 }
  return null
}
