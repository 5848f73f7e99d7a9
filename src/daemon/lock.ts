/**
 * One daemon per state dir: a pid file taken with O_EXCL, holding the pid and
 * that process's start time (/proc/PID/stat field 22). A pid file whose
 * process is gone — exited, killed and not yet reaped (a zombie), or whose
 * pid now belongs to another process (different start time) — is left by a
 * crash and taken over at once; a live holder is ALREADY_RUNNING.
 */
import { readFileSync } from 'node:fs'
import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, GridmeshError } from '../errors.ts'

export const LOCK_FILE = 'daemon.pid'

/** What /proc says about a pid: its state letter and start time (clock ticks since boot). */
export interface ProcStat { readonly state: string, readonly startTime: string }

/** parseProcStat reads /proc/PID/stat text (the comm field may hold spaces and parentheses). */
export function parseProcStat (text: string): ProcStat | null {
  const close = text.lastIndexOf(')')
  if (close < 0) return null
  const fields = text.slice(close + 2).trim().split(/\s+/)
  // fields[0] is field 3 (state); start time is field 22.
  const state = fields[0]; const startTime = fields[19]
  return state === undefined || startTime === undefined ? null : { state, startTime }
}

/** readProcStat is null when the pid does not exist (or /proc is unreadable). */
export function readProcStat (pid: number): ProcStat | null {
  try { return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return null }
}

/** The lock file's content: `PID START_TIME` (older files: `PID`). */
export interface LockOwner { readonly pid: number, readonly startTime: string | null }

export function parseLockFile (text: string): LockOwner | null {
  const [p, start] = text.trim().split(/\s+/)
  const pid = Number(p)
  if (!Number.isInteger(pid) || pid <= 0) return null
  return { pid, startTime: start ?? null }
}

/**
 * holderAlive decides whether the lock's owner still runs. Pure given
 * `stat`: a missing pid, a zombie (Z) or dead (X) one, or a pid whose start
 * time differs from the recorded one (reused by another process) is dead.
 */
export function holderAlive (owner: LockOwner, stat: ProcStat | null): boolean {
  if (stat === null) return false
  if (stat.state === 'Z' || stat.state === 'X') return false
  return owner.startTime === null || owner.startTime === stat.startTime
}

/** acquireStateLock returns the release function. */
export async function acquireStateLock (stateDir: string, procStat: (pid: number) => ProcStat | null = readProcStat): Promise<() => Promise<void>> {
  const path = join(stateDir, LOCK_FILE)
  const self = procStat(process.pid)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600)
      await fh.writeFile(`${process.pid}${self === null ? '' : ` ${self.startTime}`}\n`)
      await fh.close()
      return async () => { await unlink(path).catch(() => {}) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const owner = parseLockFile(await readFile(path, 'utf8').catch(() => ''))
      if (owner !== null && owner.pid !== process.pid && holderAlive(owner, procStat(owner.pid))) {
        throw new GridmeshError(ErrorCodes.ALREADY_RUNNING, `another gridmesh daemon (pid ${owner.pid}) uses the state dir ${stateDir}; stop it first or use another --state-dir`)
      }
      await unlink(path).catch(() => {}) // left by a crash: take it over
    }
  }
  throw new GridmeshError(ErrorCodes.ALREADY_RUNNING, `could not lock the state dir ${stateDir} (${path})`)
}
