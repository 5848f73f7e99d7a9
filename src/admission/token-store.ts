/**
 * The join token a node keeps to renew its certificate:
 * `<stateDir>/join.token`, the `gmt1.` string plus a newline. It is a secret
 * (it can issue certificates), so it gets the key rules: dir 0700, file 0600
 * written atomically, refused when group/world accessible.
 */
import { join } from 'node:path'
import { GridmeshError, ErrorCodes, isGridmeshError } from '../errors.ts'
import { readFileIfExists, writeFileAtomic } from '../keys/atomic-file.ts'
import { assertPrivateFile, ensurePrivateDir } from '../keys/permissions.ts'
import { decodeToken, encodeToken } from './token.ts'
import type { JoinToken } from './token.ts'

/** File name of the join token inside the state dir. */
export const TOKEN_FILE = 'join.token'

/** saveToken writes the token to `<stateDir>/join.token` (0600, atomic; dir created 0700). */
export async function saveToken (stateDir: string, token: JoinToken): Promise<void> {
  await ensurePrivateDir(stateDir)
  await writeFileAtomic(join(stateDir, TOKEN_FILE), `${encodeToken(token)}\n`)
}

/**
 * loadToken reads `<stateDir>/join.token`, or returns null when there is
 * none. Group/world accessible → KEY_PERMISSIONS; undecodable → KEY_CORRUPT.
 * It does not check the authority or expiry: call verifyToken.
 */
export async function loadToken (stateDir: string): Promise<JoinToken | null> {
  const path = join(stateDir, TOKEN_FILE)
  const file = await readFileIfExists(path)
  if (file === null) return null
  assertPrivateFile(path, file.stats)
  try {
    return await decodeToken(file.data.toString('utf8'))
  } catch (err) {
    if (!isGridmeshError(err)) throw err
    throw new GridmeshError(ErrorCodes.KEY_CORRUPT,
      `join token file ${path} is unusable (${err.message}); replace it with a new token from the mesh admin`, { path }, { cause: err })
  }
}
