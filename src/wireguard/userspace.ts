/**
 * Starting and stopping one wireguard-go process in the foreground. It runs
 * under `setpriv --pdeathsig KILL`, so if our daemon dies (even by kill -9)
 * the kernel kills wireguard-go too, its TUN device vanishes and no
 * interface is left behind. Process creation goes through the `Spawn` seam so
 * the supervisor is unit-testable without real processes.
 */
import { spawn as nodeSpawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { findExecutable, missingToolError } from '../net/command.ts'
import type { Logger } from '../log.ts'

/** Where wireguard-go puts `<iface>.sock` (its compiled-in run dir on Debian). */
export const DEFAULT_WG_RUN_DIR = '/var/run/wireguard'
/** How long a fresh wireguard-go may take to show its socket and link. */
export const READY_DEADLINE_MS = 5000
/** How long `stop` waits after SIGTERM before SIGKILL. */
export const STOP_DEADLINE_MS = 3000
const POLL_MS = 50
/** Output lines kept for error messages when the process dies early. */
const TAIL_LINES = 20

/** How a child ended: exit code, or the signal that killed it. */
export interface ExitInfo { readonly code: number | null, readonly signal: string | null }

/** The little of a child process we use; the fake in tests implements it. */
export interface SupervisedChild {
  readonly pid: number | undefined
  kill (signal: NodeJS.Signals): void
  /** Called once, when the process has exited or failed to start. */
  onExit (cb: (info: ExitInfo) => void): void
  /** Called per line of stdout/stderr. */
  onLine (cb: (line: string) => void): void
}

/** Spawn starts a process; `realSpawn` is the production one. */
export type Spawn = (cmd: string, args: readonly string[], env: NodeJS.ProcessEnv) => SupervisedChild

/** realSpawn wraps node:child_process.spawn in the SupervisedChild shape. */
export const realSpawn: Spawn = (cmd, args, env) => {
  const child = nodeSpawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lineCbs: ((l: string) => void)[] = []
  let exited: ExitInfo | null = null
  const exitCbs: ((i: ExitInfo) => void)[] = []
  const finish = (info: ExitInfo): void => {
    if (exited !== null) return
    exited = info
    for (const cb of exitCbs) cb(info)
  }
  const split = (b: Buffer): void => { for (const l of b.toString().split('\n')) if (l !== '') for (const cb of lineCbs) cb(l) }
  child.stdout.on('data', split)
  child.stderr.on('data', split)
  child.on('error', err => { split(Buffer.from(String(err.message))); finish({ code: -1, signal: null }) })
  child.on('exit', (code, signal) => finish({ code, signal }))
  return {
    pid: child.pid,
    kill: sig => { if (exited === null) child.kill(sig) },
    onExit: cb => { if (exited !== null) cb(exited); else exitCbs.push(cb) },
    onLine: cb => { lineCbs.push(cb) }
  }
}

/** A running wireguard-go, as returned by `startWireguardGo`. */
export interface WireguardGoProcess {
  readonly pid: number | undefined
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<ExitInfo>
  /** True once `stop` was called: an exit after that is expected. */
  readonly stopping: boolean
  /** SIGTERM, then SIGKILL after `STOP_DEADLINE_MS`; resolves when it is gone. Idempotent. */
  stop (): Promise<void>
}

/** Options of `startWireguardGo`. */
export interface StartOptions {
  readonly iface: string
  readonly logger: Logger
  readonly spawn?: Spawn
  readonly runDir?: string
  /** Probe that the link is visible in our netns (`ip link show`). */
  readonly linkExists: () => Promise<boolean>
  readonly readyDeadlineMs?: number
  readonly sleep?: (ms: number) => Promise<void>
}

/** uapiSocketPath is `<runDir>/<iface>.sock`. */
export function uapiSocketPath (iface: string, runDir = DEFAULT_WG_RUN_DIR): string {
  return join(runDir, `${iface}.sock`)
}

const defaultSleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/**
 * startWireguardGo spawns `setpriv --pdeathsig KILL -- wireguard-go -f <iface>`
 * and resolves once the UAPI socket exists and the link is visible, or throws
 * DRIVER_FAILED (with wireguard-go's last output) after the deadline.
 */
export async function startWireguardGo (opts: StartOptions): Promise<WireguardGoProcess> {
  const spawn = opts.spawn ?? realSpawn
  if (opts.spawn === undefined) {
    for (const tool of ['setpriv', 'wireguard-go']) if (findExecutable(tool) === null) throw missingToolError(tool)
  }
  const env = { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' }
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'wireguard-go', '-f', opts.iface], env)
  const log = opts.logger
  const tail: string[] = []
  child.onLine(line => {
    tail.push(line); if (tail.length > TAIL_LINES) tail.shift()
    log.debug({ iface: opts.iface, line }, 'wireguard-go output')
  })
  let exitInfo: ExitInfo | null = null
  const exited = new Promise<ExitInfo>(resolve => child.onExit(info => { exitInfo = info; resolve(info) }))
  const proc = makeProcess(child, exited)
  const sleep = opts.sleep ?? defaultSleep
  const deadline = Date.now() + (opts.readyDeadlineMs ?? READY_DEADLINE_MS)
  const sock = uapiSocketPath(opts.iface, opts.runDir)
  for (;;) {
    if (exitInfo !== null) throw startFailed(opts.iface, `wireguard-go exited (${describeExit(exitInfo)})`, tail)
    if (existsSync(sock) && await opts.linkExists()) return proc
    if (Date.now() > deadline) {
      await proc.stop()
      throw startFailed(opts.iface, `wireguard-go did not create ${sock} and the link within the deadline`, tail)
    }
    await sleep(POLL_MS)
  }
}

function makeProcess (child: SupervisedChild, exited: Promise<ExitInfo>): WireguardGoProcess {
  let stopping = false
  let stopped: Promise<void> | null = null
  return {
    pid: child.pid,
    exited,
    get stopping () { return stopping },
    stop: () => {
      stopping = true
      stopped ??= (async () => {
        child.kill('SIGTERM')
        const timer = new Promise<'timeout'>(resolve => setTimeout(() => resolve('timeout'), STOP_DEADLINE_MS).unref())
        if (await Promise.race([exited, timer]) === 'timeout') child.kill('SIGKILL')
        await exited
      })()
      return stopped
    }
  }
}

/** describeExit renders an ExitInfo for logs ("code 1", "signal SIGKILL"). */
export function describeExit (info: ExitInfo): string {
  return info.signal !== null ? `signal ${info.signal}` : `code ${String(info.code)}`
}

function startFailed (iface: string, why: string, tail: readonly string[]): GridmeshError {
  const out = tail.length > 0 ? `: ${tail.slice(-3).join(' | ')}` : ''
  return new GridmeshError(ErrorCodes.DRIVER_FAILED, `starting wireguard-go for ${iface}: ${why}${out}`, { iface })
}
