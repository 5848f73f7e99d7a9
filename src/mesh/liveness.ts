/**
 * Liveness of one member, as a pure reducer: (state, event) → state. Never a
 * single timeout; three signals are combined:
 *  - gossip heartbeats (arrive through any path, so a cut link alone can't kill),
 *  - libp2p connection events (a killed daemon's RST arrives in milliseconds),
 *  - the outcome of the redial we make right after a disconnect (only a
 *    refused one counts: a timed-out dial on a busy machine proves nothing).
 *
 *   alive ──(no heartbeat 2×H, or disconnect)──► suspect ──(heartbeat)──► alive
 *   any ──(no heartbeat for deadAfterMs)──► dead
 *   any ──(disconnected ∧ redial refused ∧ no heartbeat for crashConfirmMs)──► dead
 *   dead ──(heartbeat)──► alive   (the member table decides whether to believe it)
 */

/** The three states; 'dead' members are dropped from membership snapshots. */
export type LivenessState = 'alive' | 'suspect' | 'dead'

/** Timing of the state machine. */
export interface LivenessConfig {
  /** Heartbeat period H. */
  heartbeatMs: number
  /** No heartbeat for this long ⇒ dead, whatever the connection says. */
  deadAfterMs: number
  /**
   * A member whose connection closed and whose redial was refused is dead once
   * it has also been silent this long. Default 0: a refusal (TCP RST) means
   * nothing listens at any of its addresses, which a cut link (packets
   * dropped, the dial times out) never produces, so a crashed daemon is purged
   * as soon as the refusal arrives. The one live member that can be refused
   * is one behind a firewall that rejects; its heartbeats through others
   * bring it back after deadAfterMs (member-table.ts).
   */
  crashConfirmMs: number
}

/** livenessConfig fills the defaults: deadAfterMs = 3×H + 500, crashConfirmMs = 0. */
export function livenessConfig (heartbeatMs = 1_000, deadAfterMs?: number, crashConfirmMs = 0): LivenessConfig {
  return { heartbeatMs, deadAfterMs: deadAfterMs ?? 3 * heartbeatMs + 500, crashConfirmMs }
}

/** Per-member liveness facts. */
export interface Liveness {
  readonly state: LivenessState
  /** Clock time of the last heartbeat (or of admission, for a record learned from the DHT). */
  readonly lastHeartbeat: number
  /** Whether we hold a libp2p connection to the member. */
  readonly connected: boolean
  /** Whether the redial after the last disconnect failed. */
  readonly redialFailed: boolean
  /** Why a dead member died: silent past deadAfterMs, or disconnected with a refused redial. */
  readonly deadReason?: DeadReason
}

/** Why liveness declared a member dead (logged, so an operator can tell a crash from a partition). */
export type DeadReason = 'silent' | 'unreachable'

/** Inputs of the reducer; `at` is the injected clock's time. */
export type LivenessEvent =
  | { type: 'heartbeat', at: number }
  | { type: 'connect', at: number }
  | { type: 'disconnect', at: number }
  | { type: 'redial-failed', at: number }
  | { type: 'tick', at: number }

/** initialLiveness: a member we just admitted counts as heard from now. */
export function initialLiveness (at: number, connected: boolean): Liveness {
  return { state: 'alive', lastHeartbeat: at, connected, redialFailed: false }
}

/** stepLiveness applies one event, then re-evaluates the timeouts at `ev.at`. */
export function stepLiveness (s: Liveness, ev: LivenessEvent, cfg: LivenessConfig): Liveness {
  return evaluate(apply(s, ev), ev.at, cfg)
}

function apply (s: Liveness, ev: LivenessEvent): Liveness {
  switch (ev.type) {
    case 'heartbeat':
      return { ...s, state: 'alive', lastHeartbeat: Math.max(s.lastHeartbeat, ev.at) }
    case 'connect':
      return { ...s, connected: true, redialFailed: false }
    case 'disconnect':
      return { ...s, connected: false, redialFailed: false, state: s.state === 'dead' ? 'dead' : 'suspect' }
    case 'redial-failed':
      // A late failure after we reconnected says nothing.
      return s.connected ? s : { ...s, redialFailed: true }
    case 'tick':
      return s
  }
}

function evaluate (s: Liveness, at: number, cfg: LivenessConfig): Liveness {
  if (s.state === 'dead') return s
  const silent = at - s.lastHeartbeat
  if (silent >= cfg.deadAfterMs) return { ...s, state: 'dead', deadReason: 'silent' }
  if (!s.connected && s.redialFailed && silent >= cfg.crashConfirmMs) return { ...s, state: 'dead', deadReason: 'unreachable' }
  if (silent >= 2 * cfg.heartbeatMs) return { ...s, state: 'suspect' }
  return s
}
