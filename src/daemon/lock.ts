/**
 * One daemon per state dir: a pid file taken with O_EXCL. A pid file whose
 * process is gone (a crash) is taken over; a live one is ALREADY_RUNNING.
 */
import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, GridmeshError } from '../errors.ts'

export const LOCK_FILE = 'daemon.pid'

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

/** acquireStateLock returns the release function. */
export async function acquireStateLock (stateDir: string): Promise<() => Promise<void>> {
  const path = join(stateDir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600)
      await fh.writeFile(`${process.pid}\n`)
      await fh.close()
      return async () => { await unlink(path).catch(() => {}) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim())
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new GridmeshError(ErrorCodes.ALREADY_RUNNING, `another gridmesh daemon (pid ${pid}) uses the state dir ${stateDir}; stop it first or use another --state-dir`)
      }
      await unlink(path).catch(() => {}) // left by a crash: take it over
    }
  }
  throw new GridmeshError(ErrorCodes.ALREADY_RUNNING, `could not lock the state dir ${stateDir} (${path})`)
}
