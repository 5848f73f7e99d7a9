/**
 * Permission rules for the state dir: the dir is 0700 and every key file
 * 0600. gridmesh creates them that way whatever the umask, and refuses to
 * use an existing dir or key file that group or others can access, saying
 * the exact `chmod` that fixes it (like ssh does for ~/.ssh).
 */
import { constants } from 'node:fs'
import { access, chmod, mkdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Stats } from 'node:fs'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { isErrno } from './atomic-file.ts'

/** Mode of the state dir. */
export const PRIVATE_DIR_MODE = 0o700

const GROUP_OTHER_BITS = 0o077

/**
 * ensurePrivateDir creates `dir` (and missing parents) with mode 0700, or
 * checks an existing one: not a directory → CONFIG_INVALID, group/other
 * bits set → KEY_PERMISSIONS.
 */
export async function ensurePrivateDir (dir: string): Promise<void> {
  const existing = await statIfExists(dir)
  if (existing === null) {
    await makeDir(dir)
    await chmod(dir, PRIVATE_DIR_MODE)
    return
  }
  if (!existing.isDirectory()) {
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `state dir ${dir} exists but is not a directory; point --state-dir at a directory`, { path: dir })
  }
  if ((existing.mode & GROUP_OTHER_BITS) !== 0) {
    throw new GridmeshError(ErrorCodes.KEY_PERMISSIONS,
      `state dir ${dir} is accessible by group or others (mode ${octal(existing.mode)}); run \`chmod 700 ${dir}\``, { path: dir })
  }
  assertOwnedByUs(dir, existing, 'state dir')
  await access(dir, constants.W_OK).catch((err: unknown) => { throw notWritable(dir, err) })
}

/**
 * assertPrivateFile checks a key file's stat: a regular file (else
 * KEY_CORRUPT) with no group/other bits (else KEY_PERMISSIONS).
 */
export function assertPrivateFile (file: string, stats: Stats): void {
  if (!stats.isFile()) {
    throw new GridmeshError(ErrorCodes.KEY_CORRUPT, `key file ${file} is not a regular file; move it away and restore the key from a backup`, { path: file })
  }
  if ((stats.mode & GROUP_OTHER_BITS) !== 0) {
    throw new GridmeshError(ErrorCodes.KEY_PERMISSIONS,
      `key file ${file} is accessible by group or others (mode ${octal(stats.mode)}); run \`chmod 600 ${file}\``, { path: file })
  }
  assertOwnedByUs(file, stats, 'key file')
}

/** assertOwnedByUs: a key file or state dir owned by another user is refused (it could swap our keys). */
export function assertOwnedByUs (path: string, stats: Stats, what: string): void {
  const uid = process.geteuid?.()
  if (uid !== undefined && stats.uid !== uid) {
    throw new GridmeshError(ErrorCodes.KEY_PERMISSIONS,
      `${what} ${path} is owned by uid ${stats.uid}, not by the user gridmesh runs as (uid ${uid}); run \`chown ${uid} ${path}\``, { path })
  }
}

/**
 * makeDir creates `dir` and its missing parents (0700). A recursive mkdir
 * under a read-only or unwritable parent reports ENOENT; on any failure the
 * deepest missing level is created alone so the error says what is wrong.
 */
async function makeDir (dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  } catch (err) {
    let missing = dir
    while (dirname(missing) !== missing && await statIfExists(dirname(missing)) === null) missing = dirname(missing)
    try { await mkdir(missing, { mode: PRIVATE_DIR_MODE }) } catch (real) { throw notWritable(dirname(missing), real) }
    throw err
  }
}

/** notWritable turns EROFS/EACCES/EPERM on the state dir (or its parent) into one clear line. */
function notWritable (dir: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code ?? ''
  if (code === 'EROFS') {
    return new GridmeshError(ErrorCodes.NOT_PERMITTED, `${dir} is on a read-only file system; gridmesh writes its keys and state there: mount it read-write or pick another --state-dir`, { path: dir }, { cause: err })
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new GridmeshError(ErrorCodes.NOT_PERMITTED, `${dir} is not writable by gridmesh (${code}); run it as the owner of the state dir or pick another --state-dir`, { path: dir }, { cause: err })
  }
  return err
}

async function statIfExists (path: string): Promise<Stats | null> {
  try {
    return await stat(path)
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null
    throw err
  }
}

function octal (mode: number): string {
  return `0${(mode & (constants.S_IRWXU | constants.S_IRWXG | constants.S_IRWXO)).toString(8)}`
}
