/**
 * Closed meshes at start: everything that must be true before the node
 * touches the system. The authority id (already parsed by the config
 * schema), a join token (flag, file, or the one saved on a previous start)
 * that the authority signed for this mesh and that has not expired, and the
 * saved revocations. Every refusal is CONFIG_INVALID (exit 2) with one line
 * saying what to do. The token text is never logged.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseAuthorityId } from '../admission/authority.ts'
import { decodeToken, verifyToken } from '../admission/token.ts'
import { loadToken, saveToken } from '../admission/token-store.ts'
import { RevocationSet } from '../admission/revocation-set.ts'
import { ErrorCodes, GridmeshError, isGridmeshError } from '../errors.ts'
import { readFileIfExists, writeFileAtomic } from '../keys/atomic-file.ts'
import { needsRenewal } from '../admission/certificate.ts'
import type { AuthorityId } from '../admission/authority.ts'
import type { Certificate } from '../admission/certificate.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { JoinToken, TrustAnchor } from '../admission/token.ts'
import type { Config } from '../config/schema.ts'

/** File of the revocations this node knows (the signed `gmr1.` strings). */
export const REVOCATIONS_FILE = 'revocations.json'

/** What a closed-mesh node runs with. */
export interface ClosedMesh {
  readonly authority: AuthorityId
  readonly anchor: TrustAnchor
  readonly token: JoinToken
  readonly revocations: RevocationSet
  /** Writes the revocation set to <stateDir>/revocations.json (0600). */
  saveRevocations (): Promise<void>
}

const NO_TOKEN_FIX = 'get a join token with `gridmesh invite` from the mesh admin and pass --token (or --token-file)'

/** prepareAdmission returns null for an open mesh, else the verified closed-mesh material. */
export async function prepareAdmission (config: Config, peerId: string, now: number): Promise<ClosedMesh | null> {
  if (config.authority === undefined) return null
  const authority = parseAuthorityId(config.authority)
  const anchor: TrustAnchor = { mesh: authority.mesh, authority: authority.publicKey }
  const given = await givenToken(config)
  const token = given ?? await loadSaved(config.stateDir)
  if (token === null) throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `mesh ${config.mesh} is closed and this node has no join token: ${NO_TOKEN_FIX}`)
  try {
    await verifyToken(token, { ...anchor, now })
  } catch (err) {
    if (!isGridmeshError(err)) throw err
    const reason = String(err.meta?.reason ?? 'invalid')
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `join token refused (${reason}): ${err.message}${given === null ? ` (saved in ${join(config.stateDir, 'join.token')})` : ''}`, { reason })
  }
  if (token.claims.peerId !== null && token.claims.peerId !== peerId) {
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `join token refused (token-wrong-peer): it is bound to node ${token.claims.peerId}, this node is ${peerId}; ask the mesh admin for a token for this node`, { reason: 'token-wrong-peer' })
  }
  if (given !== null) await saveToken(config.stateDir, token)
  const revocations = await loadRevocations(config.stateDir, anchor)
  const path = join(config.stateDir, REVOCATIONS_FILE)
  return {
    authority, anchor, token, revocations,
    saveRevocations: async () => { await writeFileAtomic(path, JSON.stringify(revocations.toJSON()) + '\n') }
  }
}

/**
 * needsNewCertificate: issue one when we have none, when our /64 moved (the
 * certificate binds it: after a collision move the old one would get every
 * record refused as cert-mismatch), or when a third of its lifetime is left.
 */
export function needsNewCertificate (cert: Pick<Certificate, 'prefix' | 'issuedAt' | 'expiresAt'> | null, prefix: Ipv6Prefix, now: number): boolean {
  return cert === null || cert.prefix !== prefix || needsRenewal(cert, now)
}

/** givenToken decodes the token from --token / --token-file, if any (CONFIG_INVALID naming the reason). */
async function givenToken (config: Config): Promise<JoinToken | null> {
  let text = config.token
  if (text === undefined && config.tokenFile !== undefined) {
    try {
      text = (await readFile(config.tokenFile, 'utf8')).trim()
    } catch (err) {
      throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `cannot read --token-file ${config.tokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  if (text === undefined) return null
  try {
    return await decodeToken(text.trim())
  } catch (err) {
    if (!isGridmeshError(err)) throw err
    const reason = String(err.meta?.reason ?? 'invalid')
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `join token refused (${reason}): ${err.message}; ${NO_TOKEN_FIX}`, { reason })
  }
}

async function loadSaved (stateDir: string): Promise<JoinToken | null> {
  return await loadToken(stateDir)
}

async function loadRevocations (stateDir: string, anchor: TrustAnchor): Promise<RevocationSet> {
  const file = await readFileIfExists(join(stateDir, REVOCATIONS_FILE))
  if (file === null) return new RevocationSet(anchor.mesh)
  let json: unknown
  try { json = JSON.parse(file.data.toString('utf8')) } catch { json = null }
  return await RevocationSet.fromJSON(json, anchor)
}
