/**
 * What this node floods on the members topic, and when, in the scaled
 * control plane: nothing periodic carries a full record or link report.
 *
 *  - our record: when its seq changed (at most once per minIntervalMs, so a
 *    burst of endpoint changes goes out as its last state), when it was never
 *    announced, and every refreshMs or when expiresAt comes within
 *    expiryMarginMs (receivers must not see it expire);
 *  - `alive` with a higher incarnation, at once, when we were accused
 *    (verdict.ts refutation): never rate-limited, it is what keeps us alive;
 *  - pending link changes (link-flood.ts), after a hold-down that doubles
 *    while our links keep changing (linkHoldMinMs … linkHoldMaxMs) and falls
 *    back once they have been quiet for linkQuietMs: a flapping link costs
 *    the mesh one delta per hold-down, carrying only its latest state.
 *
 * A pure decision: state and time in, what to send now and when to ask
 * again out. The caller sends, then stores the returned state.
 */

export interface AnnouncePolicy {
  readonly minIntervalMs: number
  readonly refreshMs: number
  readonly expiryMarginMs: number
  readonly linkHoldMinMs: number
  readonly linkHoldMaxMs: number
  readonly linkQuietMs: number
}

export const DEFAULT_ANNOUNCE_POLICY: AnnouncePolicy = {
  minIntervalMs: 1_000,
  refreshMs: 12 * 3_600_000,
  expiryMarginMs: 3_600_000,
  linkHoldMinMs: 200,
  linkHoldMaxMs: 30_000,
  linkQuietMs: 60_000
}

/** What the policy remembers between decisions. */
export interface AnnounceState {
  readonly recordSeq: number | null
  readonly recordAt: number | null
  readonly linksAt: number | null
  readonly linkHoldMs: number
  readonly incarnation: number
}

export function initialAnnounceState (incarnation: number, policy: AnnouncePolicy = DEFAULT_ANNOUNCE_POLICY): AnnounceState {
  return { recordSeq: null, recordAt: null, linksAt: null, linkHoldMs: policy.linkHoldMinMs, incarnation }
}

/** The facts of this moment. */
export interface AnnounceInput {
  readonly now: number
  readonly record: { readonly seq: number, readonly expiresAt: number }
  /** The incarnation a refutation must carry (verdict.ts `refutation`), or null. */
  readonly refuteWith: number | null
  /** Whether link changes wait to be flooded. */
  readonly linksPending: boolean
}

export type RecordReason = 'first' | 'changed' | 'refresh' | 'expiring'

export interface AnnounceDecision {
  readonly record: RecordReason | null
  readonly alive: number | null
  readonly links: boolean
  /** Ask again at this time at the latest (earlier on any new input). */
  readonly nextAt: number
  readonly state: AnnounceState
}

/** decideAnnounce: what to send now. */
export function decideAnnounce (s: AnnounceState, input: AnnounceInput, p: AnnouncePolicy = DEFAULT_ANNOUNCE_POLICY): AnnounceDecision {
  const { now } = input
  let state = s
  const alive = input.refuteWith !== null && input.refuteWith > s.incarnation ? input.refuteWith : null
  if (alive !== null) state = { ...state, incarnation: alive }

  const due = recordDue(s, input, p)
  const record = due.reason !== null && now >= due.at ? due.reason : null
  if (record !== null) state = { ...state, recordSeq: input.record.seq, recordAt: now }

  const links = linksDecision(state, input, p)
  state = links.state

  const after = recordDue(state, input, p)
  const candidates = [after.reason === null ? Infinity : after.at, links.nextAt]
  return { record, alive, links: links.send, nextAt: Math.max(now, Math.min(...candidates)), state }
}

/** recordDue: why and from when our record should be announced (reason null: not before the refresh). */
function recordDue (s: AnnounceState, input: AnnounceInput, p: AnnouncePolicy): { reason: RecordReason | null, at: number } {
  if (s.recordSeq === null || s.recordAt === null) return { reason: 'first', at: input.now }
  const earliest = s.recordAt + p.minIntervalMs
  if (input.record.seq !== s.recordSeq) return { reason: 'changed', at: earliest }
  const expiringAt = input.record.expiresAt - p.expiryMarginMs
  const refreshAt = s.recordAt + p.refreshMs
  if (expiringAt < refreshAt) return { reason: 'expiring', at: Math.max(earliest, expiringAt) }
  return { reason: 'refresh', at: Math.max(earliest, refreshAt) }
}

/** linksDecision: flood pending link changes once the hold-down since the last flood has passed. */
function linksDecision (s: AnnounceState, input: AnnounceInput, p: AnnouncePolicy): { send: boolean, nextAt: number, state: AnnounceState } {
  const { now } = input
  // Quiet long enough: the hold-down falls back to its minimum.
  const hold = s.linksAt !== null && now - s.linksAt >= p.linkQuietMs ? p.linkHoldMinMs : s.linkHoldMs
  if (!input.linksPending) return { send: false, nextAt: Infinity, state: hold === s.linkHoldMs ? s : { ...s, linkHoldMs: hold } }
  const readyAt = s.linksAt === null ? now : s.linksAt + hold
  if (now < readyAt) return { send: false, nextAt: readyAt, state: { ...s, linkHoldMs: hold } }
  // Sent while changes keep coming: the next flood waits twice as long.
  const next = s.linksAt !== null && now - s.linksAt < p.linkQuietMs ? Math.min(p.linkHoldMaxMs, hold * 2) : hold
  return { send: true, nextAt: Infinity, state: { ...s, linksAt: now, linkHoldMs: next } }
}
