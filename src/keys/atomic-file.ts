/**
 * Crash-safe small-file I/O for the state dir (keys and node state).
 * A write goes to `<file>.tmp` (created exclusively, mode fixed with fchmod so
 * the umask cannot widen or narrow it), is fsynced, renamed over the target,
 * and the directory is fsynced: after a crash the target is either the old
 * or the new content, never a torn mix. A leftover `.tmp` is never read.
 */
import { constants } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Stats } from 'node:fs'

/** Mode of every file gridmesh writes into its state dir. */
export const PRIVATE_FILE_MODE = 0o600

/** Suffix of the temporary file a write goes through; readers ignore it. */
export const TMP_SUFFIX = '.tmp'

/** The content and metadata of a file read by readFileIfExists. */
export interface ReadFile {
  readonly data: Buffer
  readonly stats: Stats
}

/**
 * writeFileAtomic replaces `path` with `data` atomically and durably, with
 * the given mode regardless of umask. Throws the underlying fs error.
 */
export async function writeFileAtomic (path: string, data: string | Uint8Array, mode: number = PRIVATE_FILE_MODE): Promise<void> {
  const tmp = `${path}${TMP_SUFFIX}`
  await rm(tmp, { force: true })
  try {
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode)
    try {
      await handle.chmod(mode)
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined)
    throw err
  }
  await fsyncDir(dirname(path))
}

/**
 * readFileIfExists returns the content and stat of `path` read through one
 * file handle (so the stat describes the bytes read), or null if it does not
 * exist. Other fs errors are thrown unchanged.
 */
export async function readFileIfExists (path: string): Promise<ReadFile | null> {
  let handle
  try {
    handle = await open(path, constants.O_RDONLY)
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null
    throw err
  }
  try {
    const stats = await handle.stat()
    const data = stats.isFile() ? await handle.readFile() : Buffer.alloc(0)
    return { data, stats }
  } finally {
    await handle.close()
  }
}

/** fsyncDir makes a rename or file creation inside `dir` durable. */
export async function fsyncDir (dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** isErrno says whether a thrown value is a Node fs error with the given code. */
export function isErrno (err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code
}
