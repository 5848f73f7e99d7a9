/**
 * Keeps one wireguard-go alive. If it exits without being asked to, the
 * supervisor logs it, restarts it with backoff, and calls `onRestarted` so the
 * driver can re-apply the device config (the TUN device, and with it every
 * peer, address and route, disappeared with the process). Restarts are
 * bounded: after `maxRestarts` within `windowMs` it gives up and reports
 * through `onGiveUp`, because a crash loop must surface, not spin.
 */
import type { Logger } from '../log.ts'
import type { ExitInfo, WireguardGoProcess } from './userspace.ts'
import { describeExit } from './userspace.ts'

/** Delays before restart attempt 1, 2, …; the last one repeats. */
export const DEFAULT_BACKOFF_MS: readonly number[] = [250, 1000, 2000, 5000, 10000]
/** At most this many restarts … */
export const DEFAULT_MAX_RESTARTS = 5
/** … within this window. */
export const DEFAULT_RESTART_WINDOW_MS = 60_000

/** Collaborators and options of the supervisor. */
export interface SupervisorInit {
  readonly iface: string
  readonly logger: Logger
  /** Starts one process and waits until it is ready (see startWireguardGo). */
  readonly start: () => Promise<WireguardGoProcess>
  /** Runs after each successful restart; a failure here counts as a failed restart. */
  readonly onRestarted: () => Promise<void>
  readonly onGiveUp?: (err: unknown) => void
  readonly backoffMs?: readonly number[]
  readonly maxRestarts?: number
  readonly windowMs?: number
  readonly sleep?: (ms: number) => Promise<void>
  readonly now?: () => number
}

/** WireguardGoSupervisor owns the wireguard-go process of one interface. */
export class WireguardGoSupervisor {
  readonly #init: SupervisorInit
  #proc: WireguardGoProcess | null = null
  #stopped = true
  #restartTimes: number[] = []
  #restarting: Promise<void> | null = null

  constructor (init: SupervisorInit) {
    this.#init = init
  }

  /** True while a process is up (not during a restart gap). */
  get running (): boolean { return this.#proc !== null }

  /** The current process id, for logs and tests. */
  get pid (): number | undefined { return this.#proc?.pid }

  /** A pending restart, if any (tests await it). */
  get restarting (): Promise<void> | null { return this.#restarting }

  /** start launches the first process and begins supervising; throws if it does not come up. */
  async start (): Promise<void> {
    this.#stopped = false
    this.#watch(await this.#init.start())
  }

  /** stop ends supervision and the process; idempotent. */
  async stop (): Promise<void> {
    this.#stopped = true
    const proc = this.#proc
    this.#proc = null
    await proc?.stop()
    await this.#restarting?.catch(() => {})
  }

  #watch (proc: WireguardGoProcess): void {
    this.#proc = proc
    void proc.exited.then(info => {
      if (proc.stopping || this.#stopped || this.#proc !== proc) return
      this.#proc = null
      this.#restarting = this.#restart(info).finally(() => { this.#restarting = null })
    })
  }

  async #restart (info: ExitInfo): Promise<void> {
    const { logger, iface } = this.#init
    logger.warn({ iface, exit: describeExit(info) }, 'wireguard-go exited unexpectedly; restarting')
    const backoff = this.#init.backoffMs ?? DEFAULT_BACKOFF_MS
    const sleep = this.#init.sleep ?? ((ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms)))
    for (let attempt = 0; !this.#stopped; attempt++) {
      if (!this.#allowRestart()) {
        const err = new Error(`wireguard-go for ${iface} restarted too often; giving up`)
        logger.error({ iface }, 'wireguard-go restarted too often; giving up')
        this.#init.onGiveUp?.(err)
        return
      }
      await sleep(backoff[Math.min(attempt, backoff.length - 1)] ?? 1000)
      if (this.#stopped) return
      if (await this.#tryOnce(attempt)) return
    }
  }

  async #tryOnce (attempt: number): Promise<boolean> {
    const { logger, iface } = this.#init
    try {
      const proc = await this.#init.start()
      if (this.#stopped) { await proc.stop(); return true }
      this.#watch(proc)
      await this.#init.onRestarted()
      logger.info({ iface, pid: proc.pid, attempt: attempt + 1 }, 'wireguard-go restarted')
      return true
    } catch (err) {
      logger.warn({ iface, err, attempt: attempt + 1 }, 'wireguard-go restart failed')
      // If the process came up but re-applying failed, take it down and retry cleanly.
      const proc = this.#proc
      this.#proc = null
      await proc?.stop()
      return false
    }
  }

  #allowRestart (): boolean {
    const now = (this.#init.now ?? Date.now)()
    const windowMs = this.#init.windowMs ?? DEFAULT_RESTART_WINDOW_MS
    this.#restartTimes = this.#restartTimes.filter(t => now - t < windowMs)
    if (this.#restartTimes.length >= (this.#init.maxRestarts ?? DEFAULT_MAX_RESTARTS)) return false
    this.#restartTimes.push(now)
    return true
  }
}
