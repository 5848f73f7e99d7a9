/**
 * The one seam through which the drivers run OS tools (`ip`, `wg`, `nft`).
 * Drivers take a `CommandRunner`, so unit tests inject the recording fake in
 * `command-fake.ts` and never touch the system. Secrets only ever travel on
 * stdin: argv is world-readable in /proc, stdin is not.
 */
import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { GridmeshError, ErrorCodes } from '../errors.ts'

/** Options of one command run. */
export interface RunOptions {
  /** Written to the child's stdin, then closed. Never logged, never in errors. */
  readonly stdin?: string
  /** Return a non-zero exit code instead of throwing (for probes like `ip link show`). */
  readonly allowFail?: boolean
}

/** What a finished command produced. */
export interface RunResult {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

/** CommandRunner runs one OS command to completion. Implementations never use a shell. */
export interface CommandRunner {
  run (cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>
}

/** Debian package that ships each tool we call, for MISSING_TOOL messages. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  wg: 'wireguard-tools',
  'wireguard-go': 'wireguard-go',
  ip: 'iproute2',
  nft: 'nftables',
  setpriv: 'util-linux',
  ping: 'iputils-ping'
}

/** missingToolError builds the MISSING_TOOL error naming the package to install. */
export function missingToolError (cmd: string, cause?: unknown): GridmeshError {
  const pkg = TOOL_PACKAGES[cmd] ?? cmd
  return new GridmeshError(ErrorCodes.MISSING_TOOL,
    `${cmd} not found: install it with "apt-get install --no-install-recommends ${pkg}"`,
    { tool: cmd, package: pkg }, { cause })
}

/** describeCommand renders a command line for errors and logs (argv only, never stdin). */
export function describeCommand (cmd: string, args: readonly string[]): string {
  return [cmd, ...args.map(a => a === '' ? '""' : a)].join(' ')
}

/** commandFailedError is the DRIVER_FAILED error for a command that exited non-zero. */
export function commandFailedError (cmd: string, args: readonly string[], r: RunResult): GridmeshError {
  const detail = r.stderr.trim() || r.stdout.trim() || `exit code ${r.code}`
  return new GridmeshError(ErrorCodes.DRIVER_FAILED,
    `${describeCommand(cmd, args)} failed: ${detail}`,
    { command: cmd, args: [...args], code: r.code, stderr: r.stderr.trim() })
}

/** Output cap per stream: `wg show dump` of 65k peers is ~13 MB; anything larger is a bug. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024

/** createCommandRunner returns the real runner (node:child_process spawn, no shell). */
export function createCommandRunner (init: { env?: NodeJS.ProcessEnv } = {}): CommandRunner {
  return {
    run: async (cmd, args, opts = {}) => {
      if (opts.stdin !== undefined && findExecutable(cmd, (init.env ?? process.env).PATH) === null) throw missingToolError(cmd)
      const r = opts.stdin === undefined
        ? await spawnCollect(cmd, args, undefined, init.env)
        : await spawnCollect('/bin/sh', ['-c', STDIN_VIA_PIPE, cmd, ...args], opts.stdin, init.env, cmd)
      if (r.code !== 0 && opts.allowFail !== true) throw commandFailedError(cmd, args, r)
      return r
    }
  }
}

/**
 * Node gives a child a socketpair, not a pipe, as stdin; `wg set … private-key
 * /dev/stdin` then fails in fopen() with ENXIO. `cat` turns it into a real
 * pipe. The command and its args are positional parameters ("$0" "$@"), never
 * interpolated into the script, so no shell parsing touches them.
 */
const STDIN_VIA_PIPE = 'command -v "$0" >/dev/null || exit 127; cat | "$0" "$@"'

function spawnCollect (cmd: string, args: readonly string[], stdin: string | undefined,
  env: NodeJS.ProcessEnv | undefined, tool = cmd): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...(env ?? process.env), LC_ALL: 'C' }
    })
    const out: Buffer[] = []; const err: Buffer[] = []; let size = 0
    const collect = (into: Buffer[]) => (b: Buffer): void => {
      size += b.length
      if (size > MAX_OUTPUT_BYTES) { child.kill('SIGKILL'); return }
      into.push(b)
    }
    child.stdout.on('data', collect(out))
    child.stderr.on('data', collect(err))
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(missingToolError(cmd, e))
      else reject(new GridmeshError(ErrorCodes.DRIVER_FAILED, `${describeCommand(cmd, args)} could not start: ${e.message}`, { command: cmd }, { cause: e }))
    })
    child.on('close', (code, signal) => {
      if (tool !== cmd && code === 127) { reject(missingToolError(tool)); return }
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal !== null ? `killed by ${signal}` : ''),
        code: code ?? 128
      })
    })
    // EPIPE when the child exits before reading stdin is reported by 'close'.
    child.stdin.on('error', () => {})
    child.stdin.end(stdin ?? '')
  })
}

/** findExecutable looks `name` up on PATH, like `command -v`; null when absent. */
export function findExecutable (name: string, path = process.env.PATH ?? ''): string | null {
  if (name.includes('/')) {
    try { accessSync(name, constants.X_OK); return name } catch { return null }
  }
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const p = join(dir, name)
    try { accessSync(p, constants.X_OK); return p } catch { /* next dir */ }
  }
  return null
}
