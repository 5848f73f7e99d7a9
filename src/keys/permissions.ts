/**
 * Permission rules for the state dir: the dir is 0700 and every key file
 * 0600. gridmesh creates them that way whatever the umask, and refuses to
 * use an existing dir or key file that group or others can access, saying
 * the exact `chmod` that fixes it (like ssh does for ~/.ssh).
 */
import { constants } from 'node:fs'
import { chmod, mkdir, stat } from 'node:fs/promises'
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
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
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
