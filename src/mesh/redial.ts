/**
 * The redial loop. libp2p 3 has no auto-dialer and @libp2p/bootstrap dials
 * each seed once (guide pitfalls 9 and 14): under load a node can stay
 * isolated forever. This loop keeps dialing every target (bootstrap seeds and
 * known members) we are not connected to, each with its own backoff
 * (250 ms doubling to 2 s: a refused dial to a seed that is still starting
 * costs nothing, and a long backoff would keep a joiner isolated), and never gives up. It only decides when to dial; the
 * dial itself is injected so the loop is testable without sockets.
 */

/** One thing to keep a connection to. */
export interface RedialTarget {
  /** Stable key: the bootstrap text, or `peer:<peerId>` for a member. */
  readonly id: string
  /** The PeerId when known (members; seeds after the first successful dial). */
  peerId?: string
}

/** Collaborators of the loop. */
export interface RedialComponents {
  /** Dials the target; resolves to the remote PeerId, rejects on failure. Must honour its own timeout. */
  dial: (targetId: string) => Promise<string>
  isConnected: (peerId: string) => boolean
  now: () => number
  onError?: (targetId: string, err: unknown) => void
}

/** Tuning of the loop (defaults: tick 250 ms, backoff 250 ms → 2 s). */
export interface RedialInit {
  tickMs?: number
  minBackoffMs?: number
  maxBackoffMs?: number
}

interface TargetState { target: RedialTarget, failures: number, nextAt: number, pending: boolean }

/** A running redial loop. */
export interface RedialLoop {
  /** Replaces the member targets (seeds stay). */
  setMembers: (peers: ReadonlyMap<string, unknown>) => void
  /** Replaces the seed targets (a config reload); new seeds are dialed now. */
  setSeeds: (seeds: readonly string[]) => void
  /** Runs one round now (also what the timer calls). */
  tick: () => void
  stop: () => void
}

/** startRedialLoop starts dialing `seeds` (and later members) until stop(). */
export function startRedialLoop (components: RedialComponents, seeds: readonly string[], init: RedialInit = {}): RedialLoop {
  const minMs = init.minBackoffMs ?? 250
  const maxMs = init.maxBackoffMs ?? 2_000
  const targets = new Map<string, TargetState>()
  for (const s of seeds) targets.set(s, { target: { id: s }, failures: 0, nextAt: 0, pending: false })

  const attempt = (st: TargetState): void => {
    st.pending = true
    components.dial(st.target.id).then(peerId => {
      st.target.peerId = peerId
      st.failures = 0
    }, err => {
      st.failures++
      st.nextAt = components.now() + Math.min(minMs * 2 ** (st.failures - 1), maxMs)
      components.onError?.(st.target.id, err)
    }).finally(() => { st.pending = false })
  }

  const tick = (): void => {
    const now = components.now()
    for (const st of targets.values()) {
      if (st.pending || st.nextAt > now) continue
      if (st.target.peerId !== undefined && components.isConnected(st.target.peerId)) continue
      attempt(st)
    }
  }

  const timer = setInterval(tick, init.tickMs ?? 250)
  timer.unref()
  return {
    setMembers: peers => {
      for (const [id, st] of targets) {
        if (id.startsWith('peer:') && !peers.has(st.target.peerId ?? '')) targets.delete(id)
      }
      for (const peerId of peers.keys()) {
        const id = `peer:${peerId}`
        if (!targets.has(id)) targets.set(id, { target: { id, peerId }, failures: 0, nextAt: 0, pending: false })
      }
      tick() // a member we just learned of is dialed now, not at the next tick
    },
    setSeeds: seeds => {
      for (const id of targets.keys()) if (!id.startsWith('peer:') && !seeds.includes(id)) targets.delete(id)
      for (const s of seeds) if (!targets.has(s)) targets.set(s, { target: { id: s }, failures: 0, nextAt: 0, pending: false })
      tick()
    },
    tick,
    stop: () => { clearInterval(timer) }
  }
}
