/**
 * The link prober: measures each direct WireGuard link by sending one small
 * UDP datagram per peer per interval over the tunnel itself, from our link
 * address `[self::2]:port` to the peer's `[peer::2]:port`, and echoing the
 * probes peers send us.
 *
 * Because each peer's /128 link address always stays on that peer's own
 * WireGuard entry (plan.ts), a probe always crosses the direct link, even
 * while the peer's /64 is relayed; that is how a healed link is noticed.
 *
 * I/O lives behind a narrow ProbeSocket so tests can use a fake; the default
 * adapts node:dgram `udp6`. Results go to `onResult`; the caller folds them
 * into link-state.ts. This module keeps no link state of its own.
 */
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { decodeProbe, echoOf, encodeProbe, ProbeKind } from './probe-packet.ts'
import type { Logger } from '../log.ts'
import type { Ipv6Address } from '../net/prefix.ts'
import type { PeerIdString } from './types.ts'

/** UDP port of the probe responder on every link address (next to WireGuard's 51820). */
export const PROBE_PORT = 51821
/** Probe period: with DOWN_AFTER_FAILURES = 3, a dead link is noticed in about a second. */
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
/** First retry delay when the link address is not usable yet (IPv6 DAD keeps a new address "tentative" ~1 s). */
export const BIND_RETRY_MIN_MS = 100
/** Retry delay cap: doubling stops here so the prober starts soon after the address appears. */
export const BIND_RETRY_MAX_MS = 5000

/** Where a datagram came from. */
export interface ProbeRemote { readonly address: string, readonly port: number }

/** The socket operations the prober needs. `bind` rejects with the OS error (with `code`). */
export interface ProbeSocket {
  bind (port: number, address: string): Promise<void>
  send (buf: Uint8Array, port: number, address: string): void
  close (): void
}

/** Creates one socket delivering datagrams to `onMessage`. A new socket is created for every bind attempt. */
export type ProbeSocketFactory = (onMessage: (buf: Buffer, from: ProbeRemote) => void, onError: (err: Error) => void) => ProbeSocket

/** Clocks: `now` stamps results (same clock as link-state); `monotonicMs` measures RTT. */
export interface ProbeClock { now (): number, monotonicMs (): number }

/** One probe outcome. */
export interface ProbeOutcome { readonly ok: boolean, readonly rttMs?: number, readonly at: number }

/** Options of createLinkProber. Only `logger`, `bindAddress` and `onResult` are required. */
export interface LinkProberInit {
  readonly socketFactory?: ProbeSocketFactory
  readonly clock?: ProbeClock
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

interface Pending { readonly peer: PeerIdString, readonly address: string, readonly sentMono: number }

/** dgramSocketFactory is the real udp6 socket. */
export const dgramSocketFactory: ProbeSocketFactory = (onMessage, onError) => {
  const sock = createSocket({ type: 'udp6', ipv6Only: true })
  sock.on('message', (buf, rinfo) => { onMessage(buf, { address: rinfo.address, port: rinfo.port }) })
  return {
    bind: async (port, address) => await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => { reject(err) }
      sock.once('error', fail)
      sock.bind(port, address, () => {
        sock.off('error', fail)
        sock.on('error', onError)
        resolve()
      })
    }),
    send: (buf, port, address) => { sock.send(buf, port, address, err => { if (err != null) onError(err) }) },
    close: () => { try { sock.close() } catch { /* already closed */ } }
  }
}

const defaultClock: ProbeClock = { now: () => Date.now(), monotonicMs: () => performance.now() }

/** Addresses compare as the OS prints them: lower case, without a zone. */
function normalize (address: string): string {
  const zone = address.indexOf('%')
  return (zone === -1 ? address : address.slice(0, zone)).toLowerCase()
}

function errorCode (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** createLinkProber wires a prober; nothing happens until `start()`. */
export function createLinkProber (init: LinkProberInit): LinkProber {
  return new Prober(init)
}

class Prober implements LinkProber {
  private readonly init: LinkProberInit
  private readonly clock: ProbeClock
  private readonly port: number
  private readonly remotePort: number
  private readonly intervalMs: number
  private readonly timeoutMs: number
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
  /** Random per-instance nonce prefix, so a restarted prober never matches an old echo. */
  private readonly noncePrefix = randomBytes(3).toString('hex')
  private counter = 0
  private socket: ProbeSocket | null = null
  private timer: NodeJS.Timeout | null = null
  private stopped = false

  constructor (init: LinkProberInit) {
    this.init = init
    this.clock = init.clock ?? defaultClock
    this.port = init.port ?? PROBE_PORT
    this.remotePort = init.remotePort ?? this.port
    this.intervalMs = init.intervalMs ?? PROBE_INTERVAL_MS
    this.timeoutMs = init.timeoutMs ?? PROBE_TIMEOUT_MS
  }

  setTargets (targets: ReadonlyMap<PeerIdString, Ipv6Address>): void {
    this.targets = new Map([...targets].map(([peer, addr]) => [peer, normalize(addr)]))
    for (const m of [this.rtt, this.streak, this.lastSent]) for (const peer of m.keys()) if (!this.targets.has(peer)) m.delete(peer)
    this.sources = new Set(this.targets.values())
    for (const m of [this.pending, this.late]) {
      for (const [nonce, p] of m) if (this.targets.get(p.peer) !== p.address) m.delete(nonce)
    }
  }

  async start (): Promise<void> {
    if (this.socket !== null || this.stopped) return
    const socket = await this.bindWithRetry()
    if (socket === null) return
    this.socket = socket
    this.timer = setInterval(() => { this.tick() }, this.intervalMs)
    this.tick()
  }

  stop (): void {
    this.stopped = true
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.socket?.close()
    this.socket = null
    this.pending.clear()
    this.late.clear()
  }

  /** bindWithRetry retries only EADDRNOTAVAIL (address not there or still tentative); other errors are fatal. */
  private async bindWithRetry (): Promise<ProbeSocket | null> {
    const factory = this.init.socketFactory ?? dgramSocketFactory
    let delay = BIND_RETRY_MIN_MS
    while (!this.stopped) {
      const socket = factory((buf, from) => { this.onMessage(buf, from) }, err => {
        this.init.logger.warn({ err }, 'probe socket error')
      })
      try {
        await socket.bind(this.port, this.init.bindAddress)
        if (!this.stopped) return socket
        socket.close()
        return null
      } catch (err) {
        socket.close()
        if (errorCode(err) !== 'EADDRNOTAVAIL') {
          throw new GridmeshError(ErrorCodes.DRIVER_FAILED,
            `binding probe socket [${this.init.bindAddress}]:${this.port}: ${(err as Error).message}`, {}, { cause: err })
        }
        this.init.logger.debug({ address: this.init.bindAddress, delayMs: delay }, 'link address not ready, retrying bind')
        await new Promise(resolve => setTimeout(resolve, delay))
        delay = Math.min(BIND_RETRY_MAX_MS, delay * 2)
      }
    }
    return null
  }

  /**
   * tick probes every target, then fails overdue probes (so a timeout is
   * noticed within one interval after it expires). The timeout check runs in
   * setImmediate, i.e. after the event loop's poll phase: when this process
   * was stalled (CPU starvation), the echoes that arrived meanwhile sit in the
   * socket buffer and must be read before we call their probes lost —
   * otherwise every stall longer than the timeout looks like a dead link.
   */
  private tick (): void {
    const mono = this.clock.monotonicMs()
    const late = this.lateProbes(mono)
    for (const [peer, address] of this.targets) {
      const calm = (this.streak.get(peer) ?? 0) >= CALM_AFTER_SUCCESSES && !late.has(peer)
      const since = mono - (this.lastSent.get(peer) ?? -Infinity)
      // 0.5 tick of slack: timers fire a little early or late, and a calm link must not slip a whole tick.
      if (calm && since < (CALM_PROBE_EVERY - 0.5) * this.intervalMs) continue
      this.send(peer, address, mono)
    }
    setImmediate(() => { this.failOverdue(mono) })
  }

  /** lateProbes: peers with a probe unanswered for two intervals (not failed yet, but no longer calm). */
  private lateProbes (mono: number): Set<PeerIdString> {
    const out = new Set<PeerIdString>()
    for (const p of this.pending.values()) if (mono - p.sentMono >= 2 * this.intervalMs) out.add(p.peer)
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
    if (r === undefined) return this.timeoutMs
    return Math.min(MAX_PROBE_TIMEOUT_MS, Math.max(this.timeoutMs, r.srtt + 4 * r.rttvar))
  }

  private observeRtt (peer: PeerIdString, sample: number): void {
    const r = this.rtt.get(peer)
    if (r === undefined) { this.rtt.set(peer, { srtt: sample, rttvar: sample / 2 }); return }
    r.rttvar = 0.75 * r.rttvar + 0.25 * Math.abs(r.srtt - sample)
    r.srtt = 0.875 * r.srtt + 0.125 * sample
  }

  private failOverdue (mono: number): void {
    if (this.stopped) return
    for (const [nonce, p] of this.late) if (mono - p.sentMono > LATE_ECHO_MS) this.late.delete(nonce)
    for (const [nonce, p] of this.pending) {
      if (mono - p.sentMono < this.timeoutFor(p.peer)) continue
      this.pending.delete(nonce)
      this.late.set(nonce, p)
      this.streak.set(p.peer, 0)
      this.init.onResult(p.peer, { ok: false, at: this.clock.now() })
    }
  }

  private send (peer: PeerIdString, address: string, mono: number): void {
    if (this.socket === null) return
    this.counter = (this.counter + 1) >>> 0
    const nonce = this.noncePrefix + this.counter.toString(16).padStart(8, '0')
    this.pending.set(nonce, { peer, address, sentMono: mono })
    this.lastSent.set(peer, mono)
    this.socket.send(encodeProbe({ kind: ProbeKind.PROBE, nonce, sentAt: this.clock.now() }), this.remotePort, address)
  }

  private onMessage (buf: Buffer, from: ProbeRemote): void {
    const packet = decodeProbe(buf)
    const source = normalize(from.address)
    if (packet === null || !this.sources.has(source)) return
    if (packet.kind === ProbeKind.PROBE) {
      this.socket?.send(echoOf(buf), from.port, from.address)
      return
    }
    const p = this.pending.get(packet.nonce) ?? this.late.get(packet.nonce)
    if (p === undefined || p.address !== source) return
    this.pending.delete(packet.nonce)
    this.late.delete(packet.nonce)
    const rttMs = Math.max(0, this.clock.monotonicMs() - p.sentMono)
    this.observeRtt(p.peer, rttMs)
    this.streak.set(p.peer, (this.streak.get(p.peer) ?? 0) + 1)
    this.init.onResult(p.peer, { ok: true, rttMs, at: this.clock.now() })
  }
}
