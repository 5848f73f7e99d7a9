/**
 * When to probe one peer, driven by traffic (docs/scale.md §5) instead of
 * probing every member every second. Input: the peer's cumulative WireGuard
 * byte counters (`wg show <if> dump` / UAPI rx_bytes, tx_bytes), sampled on
 * the prober's tick, plus two facts: whether we watch the peer
 * (watchers.ts) and whether its link is currently down (link-state.ts).
 *
 *  - idle (no tx for activeWindowMs): never probed; its link stays "assumed usable";
 *  - waking (tx grows after idleness: the first packet towards it): a burst
 *    of burstProbes probes burstGapMs apart, at once;
 *  - active, traffic both ways: no probes, received bytes prove the path;
 *  - active, tx grows but rx has not for silentRxMs: one probe per silentRxMs;
 *  - down: probed with backoff downMinMs … downMaxMs, so a heal is seen;
 *  - watched: at least one probe per watchEveryMs, whatever the traffic.
 *
 * Pure: (state, sample, facts) → (state, probe now?).
 */

export interface ProbeScheduleConfig {
  readonly activeWindowMs: number
  readonly silentRxMs: number
  readonly burstProbes: number
  readonly burstGapMs: number
  readonly downMinMs: number
  readonly downMaxMs: number
  readonly watchEveryMs: number
}

export const DEFAULT_PROBE_SCHEDULE: ProbeScheduleConfig = {
  activeWindowMs: 30_000,
  silentRxMs: 1_000,
  burstProbes: 3,
  burstGapMs: 100,
  downMinMs: 1_000,
  downMaxMs: 60_000,
  watchEveryMs: 5_000
}

/** One peer's scheduling memory. */
export interface PeerProbeState {
  readonly rx: number
  readonly tx: number
  /** When rx / tx last grew (null: never seen growing). */
  readonly rxAt: number | null
  readonly txAt: number | null
  readonly lastProbeAt: number | null
  /** Burst probes still owed. */
  readonly burstLeft: number
  readonly downBackoffMs: number
}

export function initialProbeState (cfg: ProbeScheduleConfig = DEFAULT_PROBE_SCHEDULE): PeerProbeState {
  return { rx: 0, tx: 0, rxAt: null, txAt: null, lastProbeAt: null, burstLeft: 0, downBackoffMs: cfg.downMinMs }
}

/**
 * Cumulative counters at `at`. The caller subtracts the bytes of its own
 * probes and echoes from tx / rx (it knows what it sent), so probing never
 * looks like traffic.
 */
export interface CounterSample { readonly at: number, readonly rx: number, readonly tx: number }
export interface PeerFacts { readonly watched: boolean, readonly linkDown: boolean }

/** Why a probe goes out (for counters: traffic probes are reported apart from watcher probes). */
export type ProbeReason = 'waking' | 'one-way' | 'down' | 'watched'

/** stepProbeSchedule folds one counter sample in and says whether to probe now. */
export function stepProbeSchedule (s: PeerProbeState, sample: CounterSample, facts: PeerFacts, cfg: ProbeScheduleConfig = DEFAULT_PROBE_SCHEDULE): { state: PeerProbeState, probe: ProbeReason | null } {
  const { at } = sample
  // A counter that went backwards was reset (interface re-created): count it as growth.
  const rxGrew = sample.rx !== s.rx
  const txGrew = sample.tx !== s.tx
  const wasIdle = s.txAt === null || at - s.txAt >= cfg.activeWindowMs
  let state: PeerProbeState = {
    ...s,
    rx: sample.rx,
    tx: sample.tx,
    rxAt: rxGrew ? at : s.rxAt,
    txAt: txGrew ? at : s.txAt,
    burstLeft: txGrew && wasIdle ? cfg.burstProbes : s.burstLeft,
    downBackoffMs: facts.linkDown ? s.downBackoffMs : cfg.downMinMs
  }
  const since = state.lastProbeAt === null ? Infinity : at - state.lastProbeAt
  const reason = probeReason(state, at, since, facts, cfg)
  if (reason === null) return { state, probe: null }
  state = {
    ...state,
    lastProbeAt: at,
    burstLeft: reason === 'waking' ? state.burstLeft - 1 : state.burstLeft,
    downBackoffMs: reason === 'down' ? Math.min(cfg.downMaxMs, state.downBackoffMs * 2) : state.downBackoffMs
  }
  return { state, probe: reason }
}

function probeReason (s: PeerProbeState, at: number, since: number, facts: PeerFacts, cfg: ProbeScheduleConfig): ProbeReason | null {
  if (s.burstLeft > 0 && since >= cfg.burstGapMs) return 'waking'
  if (facts.linkDown) return since >= s.downBackoffMs ? 'down' : null
  // Still sending (tx grew within two silentRx periods, after the last rx) while nothing came back for one.
  const sending = s.txAt !== null && at - s.txAt < 2 * cfg.silentRxMs && (s.rxAt === null || s.txAt > s.rxAt)
  const rxSilent = s.rxAt === null || at - s.rxAt >= cfg.silentRxMs
  if (sending && rxSilent && since >= cfg.silentRxMs) return 'one-way'
  if (facts.watched && since >= cfg.watchEveryMs) return 'watched'
  return null
}
