/**
 * The link prober: runs the probe state machine (probe-machine.ts) on a
 * datagram socket and injected timers. It sends one small datagram per peer
 * per interval over the tunnel itself, from our link address
 * `[self::2]:port` to the peer's `[peer::2]:port`, and echoes the probes
 * peers send us. The socket comes from a ProbeSocketFactory: node:dgram
 * `udp6` in the daemon (src/net/udp.ts), the in-memory network in component
 * tests. Results go to `onResult`; the caller folds them into link-state.ts.
 */
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { PROBE_INTERVAL_MS, PROBE_PORT, PROBE_TIMEOUT_MS, ProbeMachine } from './probe-machine.ts'
import type { Datagram, ProbeOutcome } from './probe-machine.ts'
import type { ProbeRemote, ProbeSocket, ProbeSocketFactory } from '../net/udp.ts'
import type { Cancel, Timers } from '../time/clock.ts'
import type { Logger } from '../log.ts'
import type { Ipv6Address } from '../net/prefix.ts'
import type { PeerIdString } from './types.ts'

export { CALM_AFTER_SUCCESSES, CALM_PROBE_EVERY, LATE_ECHO_MS, MAX_PROBE_TIMEOUT_MS, PROBE_INTERVAL_MS, PROBE_PORT, PROBE_TIMEOUT_MS } from './probe-machine.ts'
export type { ProbeOutcome } from './probe-machine.ts'
export type { ProbeRemote, ProbeSocket, ProbeSocketFactory } from '../net/udp.ts'

/** First retry delay when the link address is not usable yet (IPv6 DAD keeps a new address "tentative" ~1 s). */
export const BIND_RETRY_MIN_MS = 100
/** Retry delay cap: doubling stops here so the prober starts soon after the address appears. */
export const BIND_RETRY_MAX_MS = 5000

/** Clocks: `now` stamps results (same clock as link-state); `monotonicMs` measures RTT. */
export interface ProbeClock { now (): number, monotonicMs (): number }

/** Options of createLinkProber. */
export interface LinkProberInit {
  readonly socketFactory: ProbeSocketFactory
  readonly clock: ProbeClock
  /** Timers of the probe tick and the bind retries. */
  readonly timers: Timers
  readonly logger: Logger
  /** Our link address (`<prefix>::2`), assigned to the WireGuard interface before start. */
  readonly bindAddress: string
  readonly port?: number
  /** Port probes are sent to; defaults to `port` (every node uses the same one). */
  readonly remotePort?: number
  readonly intervalMs?: number
  readonly timeoutMs?: number
  readonly onResult: (peer: PeerIdString, result: ProbeOutcome) => void
}

/** A running prober. `start` resolves once bound; `stop` is idempotent. */
export interface LinkProber {
  /** setTargets replaces the peers to probe (peer → its link address). Also the set of addresses we answer. */
  setTargets (targets: ReadonlyMap<PeerIdString, Ipv6Address>): void
  start (): Promise<void>
  stop (): void
}

/** Random per-instance nonce prefix (6 hex digits), so a restarted prober never matches an old echo. */
function randomNoncePrefix (): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(3))].map(b => b.toString(16).padStart(2, '0')).join('')
}

function errorCode (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** createLinkProber wires a prober; nothing happens until `start()`. */
export function createLinkProber (init: LinkProberInit): LinkProber {
  const { clock, timers } = init
  const port = init.port ?? PROBE_PORT
  const intervalMs = init.intervalMs ?? PROBE_INTERVAL_MS
  const machine = new ProbeMachine({
    intervalMs, timeoutMs: init.timeoutMs ?? PROBE_TIMEOUT_MS, remotePort: init.remotePort ?? port, noncePrefix: randomNoncePrefix()
  })
  let socket: ProbeSocket | null = null
  let stopTimer: Cancel | null = null
  let stopped = false
  const sendAll = (ds: readonly Datagram[]): void => { for (const d of ds) socket?.send(d.bytes, d.port, d.address) }
  const onMessage = (buf: Uint8Array, from: ProbeRemote): void => {
    const { reply, result } = machine.receive(buf, from, clock.monotonicMs(), clock.now())
    if (reply !== undefined) sendAll([reply])
    if (result !== undefined) init.onResult(result.peer, result.outcome)
  }
  /**
   * tick probes every target, then fails overdue probes (so a timeout is
   * noticed within one interval after it expires). The timeout check runs in
   * setImmediate, i.e. after the event loop's poll phase: when this process
   * was stalled (CPU starvation), the echoes that arrived meanwhile sit in the
   * socket buffer and must be read before we call their probes lost —
   * otherwise every stall longer than the timeout looks like a dead link.
   */
  const tick = (): void => {
    const mono = clock.monotonicMs()
    if (socket !== null) sendAll(machine.tick(mono, clock.now()))
    setImmediate(() => {
      if (stopped) return
      for (const r of machine.failOverdue(mono, clock.now())) init.onResult(r.peer, r.outcome)
    })
  }
  /** bindWithRetry retries only EADDRNOTAVAIL (address not there or still tentative); other errors are fatal. */
  const bindWithRetry = async (): Promise<ProbeSocket | null> => {
    const factory = init.socketFactory
    let delay = BIND_RETRY_MIN_MS
    while (!stopped) {
      const s = factory(onMessage, err => { init.logger.warn({ err }, 'probe socket error') })
      try {
        await s.bind(port, init.bindAddress)
        if (!stopped) return s
        s.close()
        return null
      } catch (err) {
        s.close()
        if (errorCode(err) !== 'EADDRNOTAVAIL') {
          throw new GridmeshError(ErrorCodes.DRIVER_FAILED,
            `binding probe socket [${init.bindAddress}]:${port}: ${(err as Error).message}`, {}, { cause: err })
        }
        init.logger.debug({ address: init.bindAddress, delayMs: delay }, 'link address not ready, retrying bind')
        await new Promise<void>(resolve => { timers.setTimeout(resolve, delay) })
        delay = Math.min(BIND_RETRY_MAX_MS, delay * 2)
      }
    }
    return null
  }
  return {
    setTargets: targets => { machine.setTargets(targets) },
    start: async () => {
      if (socket !== null || stopped) return
      const s = await bindWithRetry()
      if (s === null) return
      socket = s
      stopTimer = timers.setInterval(tick, intervalMs)
      tick()
    },
    stop: () => {
      stopped = true
      stopTimer?.()
      stopTimer = null
      socket?.close()
      socket = null
      machine.forget()
    }
  }
}
