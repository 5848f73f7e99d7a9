/**
 * The file-backed part of config validation: what `up` would refuse about
 * files the config names, checked for `--check-config` (and so the
 * installer) too. A psk file that is missing, readable by others or not a
 * swarm key; a join token (flag or file) that is malformed, not signed by
 * the configured authority, for another mesh, or expired (unless this node
 * already redeemed a token: its saved membership outlives the token's
 * redeem-by date, and the start decides with it). Everything here is
 * CONFIG_INVALID (exit 2), one line. Reads files; changes nothing.
 */
import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseAuthorityId } from '../admission/authority.ts'
import { decodeToken, verifyToken } from '../admission/token.ts'
import { REDEMPTION_FILE } from '../admission/redemption.ts'
import { loadSwarmKey } from '../keys/swarm-key.ts'
import { ErrorCodes, GridmeshError, isGridmeshError } from '../errors.ts'
import type { Config } from './schema.ts'

async function tokenText (config: Config): Promise<{ text: string, from: string } | null> {
  if (config.token !== undefined) return { text: config.token, from: '--token' }
  if (config.tokenFile === undefined) return null
  try {
    return { text: (await readFile(config.tokenFile, 'utf8')).trim(), from: `--token-file ${config.tokenFile}` }
  } catch (err) {
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `cannot read --token-file ${config.tokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/** preflight throws CONFIG_INVALID for the first file-backed problem of `config`. */
export async function preflight (config: Config, now: number): Promise<void> {
  if (config.pskFile !== undefined) await loadSwarmKey(config.pskFile)
  if (config.authority === undefined) return
  const given = await tokenText(config)
  if (given === null) return // the token saved in the state dir is checked at start
  const authority = parseAuthorityId(config.authority)
  try {
    await verifyToken(await decodeToken(given.text), { mesh: authority.mesh, authority: authority.publicKey, now })
  } catch (err) {
    if (!isGridmeshError(err)) throw err
    if (err.meta?.reason === 'token-expired' && await hasRedemption(config.stateDir)) return
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `join token from ${given.from} refused (${String(err.meta?.reason ?? 'invalid')}): ${err.message}`)
  }
}

/** hasRedemption: this node redeemed a token before. */
async function hasRedemption (stateDir: string): Promise<boolean> {
  try { await access(join(stateDir, REDEMPTION_FILE)); return true } catch { return false }
}
