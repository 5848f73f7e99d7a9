/**
 * Running commands and daemons inside a lab host: both go through `nsenter` into the host's
 * keeper (its network namespace plus its private mount namespace), so a short `wg show` sees the
 * UAPI socket of a wireguard-go that a daemon started earlier. nsenter execs the command without
 * forking (no pid or user namespace is entered), so the child's pid is the command's own pid.
 */
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'

/** Output of a finished command. `code` is null when a signal ended it (see `signal`). */
export interface ExecResult {
  stdout: string
  stderr: string
  code: number | null
  signal: NodeJS.Signals | null
}

/** Options for a short command. */
export interface ExecOptions {
  /** Extra environment; merged over the test process's environment. */
  env?: Record<string, string>
  /** Working directory inside the host (default: the test's cwd; the filesystem is shared). */
  cwd?: string
  /** Kill with SIGKILL after this long (default 30 000 ms). */
  timeoutMs?: number
  /** Written to the command's stdin. */
  input?: string
}

/** Options for a long-running process. */
export interface SpawnOptions {
  env?: Record<string, string>
  cwd?: string
  /** stdout+stderr go here (appended). Relative paths are under the lab's log dir. */
  logFile?: string
}

/** A process running in a lab host. */
export interface LabProcess {
  /** 1-based host index. */
  readonly host: number
  readonly pid: number
  readonly logFile: string
  /** Resolves with the exit code, or null if a signal ended it; never rejects. */
  readonly exited: Promise<number | null>
  /** True until the process has exited. */
  readonly running: boolean
  /** The signal that ended it, once exited by a signal. */
  readonly signal: NodeJS.Signals | null
  /** Sends a signal (default SIGTERM); a no-op once exited. */
  kill (signal?: NodeJS.Signals): void
}

/** argv prefix that enters a host through its keeper. */
export function nsenterArgs (keeperPid: number, cwd: string): string[] {
  return ['--target', String(keeperPid), '--mount', '--net', `--wd=${cwd}`, '--']
}

/** Runs `cmd args` in the host of `keeperPid` and collects its output. Never rejects on exit code. */
export function execIn (keeperPid: number, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const cwd = opts.cwd ?? process.cwd()
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [...nsenterArgs(keeperPid, cwd), cmd, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (b: Buffer) => { stdout += b.toString() })
    child.stderr?.on('data', (b: Buffer) => { stderr += b.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, opts.timeoutMs ?? 30_000)
    child.once('error', err => { clearTimeout(timer); reject(err) })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ stdout, stderr, code, signal })
    })
    if (opts.input !== undefined && child.stdin !== null) child.stdin.end(opts.input)
  })
}

/**
 * Starts a long-running process in the host of `keeperPid`, its output appended to `logFile`.
 * It gets its own process group so a Ctrl-C on the terminal reaches the test runner (which tears
 * the lab down) rather than racing it into every daemon at once.
 */
export function spawnIn (host: number, keeperPid: number, cmd: string, args: readonly string[], logFile: string, opts: SpawnOptions = {}): LabProcess {
  const fd = openSync(logFile, 'a')
  let child
  try {
    child = spawn('nsenter', [...nsenterArgs(keeperPid, opts.cwd ?? process.cwd()), cmd, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', fd, fd],
      detached: true
    })
  } finally {
    closeSync(fd)
  }
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not start ${cmd} in host ${host} (see ${logFile})`)
  let running = true
  let signal: NodeJS.Signals | null = null
  const exited = new Promise<number | null>(resolve => {
    child.once('error', () => { running = false; resolve(null) })
    child.once('exit', (code, sig) => { running = false; signal = sig; resolve(code) })
  })
  return {
    host,
    pid,
    logFile,
    exited,
    get running () { return running },
    get signal () { return signal },
    kill (sig: NodeJS.Signals = 'SIGTERM') {
      if (!running) return
      try { process.kill(pid, sig) } catch { /* already gone */ }
    }
  }
}
