/**
 * Crash-safe small-file I/O for the state dir (keys and node state).
 * A write goes to `<file>.tmp` (created exclusively, mode fixed with fchmod so
 * the umask cannot widen or narrow it), is fsynced, renamed over the target,
 * and the directory is fsynced: after a crash the target is either the old
 * or the new content, never a torn mix. A leftover `.tmp` is never read.
 */
import { constants } from 'node:fs'
import { link, open, rename, rm, unlink } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
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
    await writeNewPrivate(tmp, data, mode)
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
 * exist. With `noFollow` a symlink is refused (ELOOP) and a FIFO does not
 * block the open. Other fs errors are thrown unchanged.
 */
export async function readFileIfExists (path: string, opts: { noFollow?: boolean } = {}): Promise<ReadFile | null> {
  let handle
  try {
    // O_NOFOLLOW: a symlink in place of a key file fails with ELOOP instead of reading its target.
    handle = await open(path, constants.O_RDONLY | (opts.noFollow === true ? constants.O_NOFOLLOW | constants.O_NONBLOCK : 0))
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

/**
 * createFileExclusive writes `data` to `path` only if nothing is there yet,
 * atomically and durably: a private temp file is written and fsynced, then
 * hard-linked to `path` (link(2) fails with EEXIST instead of replacing).
 * Two processes creating the same file at once thus agree on one content:
 * the loser gets false and must read what the winner wrote.
 */
export async function createFileExclusive (path: string, data: string | Uint8Array, mode: number = PRIVATE_FILE_MODE): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`
  try {
    await writeNewPrivate(tmp, data, mode)
    try {
      await link(tmp, path)
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return false
      throw err
    }
  } finally {
    await unlink(tmp).catch(() => undefined)
  }
  await fsyncDir(dirname(path))
  return true
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

/** writeNewPrivate creates `tmp` (never following a link, never reusing a file), with `mode` whatever the umask, and syncs it. */
async function writeNewPrivate (tmp: string, data: string | Uint8Array, mode: number): Promise<void> {
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode)
  try {
    await handle.chmod(mode)
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
}
