/**
 * Closed meshes at start (and at reload): everything that must be true
 * before the node touches the system. The authority id (already parsed by
 * the config schema), this node's token redemption (made once, from a join
 * token given by flag or file, or saved by an older version in the state
 * dir, while the token could still be redeemed), and the saved revocations.
 * After the redemption the token is never needed again: an expired token in
 * the config is fine as long as the node already redeemed it. Every refusal
 * is CONFIG_INVALID (exit 2) with one line saying what to do. The token text
 * is never logged.
 *
 * Files in the state dir: `membership.redemption` (base64url of the signed
 * redemption, 0600); `join.token` is only read (older versions saved it) and
 * deleted once redeemed, so a stolen disk does not yield a reusable token.
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseAuthorityId } from '../admission/authority.ts'
import { decodeToken, memberUntilOf, membershipEnded } from '../admission/token.ts'
import { TOKEN_FILE, loadToken } from '../admission/token-store.ts'
import { REDEMPTION_FILE, redeemToken, verifyRedemption } from '../admission/redemption.ts'
import { RevocationSet } from '../admission/revocation-set.ts'
import { fromBase64url, toBase64url } from '../admission/codec.ts'
import { ErrorCodes, GridmeshError, isGridmeshError } from '../errors.ts'
import { readFileIfExists, writeFileAtomic } from '../keys/atomic-file.ts'
import { assertPrivateFile, ensurePrivateDir } from '../keys/permissions.ts'
import { issueMemberCertificate } from '../admission/certificate.ts'
import { certCheckMs as certCheckMsOf, certificateDue, type CertFacts } from '../mesh/own-record.ts'
import type { AuthorityId } from '../admission/authority.ts'
import type { Certificate } from '../admission/certificate.ts'
import type { Redemption } from '../admission/redemption.ts'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import type { WgPublicKey } from '../keys/types.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { JoinToken, TrustAnchor } from '../admission/token.ts'
import type { Config } from '../config/schema.ts'

/** File of the revocations this node knows (the signed `gmr1.` strings). */
export const REVOCATIONS_FILE = 'revocations.json'
export { REDEMPTION_FILE } from '../admission/redemption.ts'

/** What a closed-mesh node runs with. */
export interface ClosedMesh {
  readonly authority: AuthorityId
  readonly anchor: TrustAnchor
  /** Our membership: replaced when a reload redeems a new token. */
  redemption: Redemption
  readonly revocations: RevocationSet
  /** Writes the revocation set to <stateDir>/revocations.json (0600). */
  saveRevocations (): Promise<void>
}

const NO_TOKEN_FIX = 'get a join token with `gridmesh invite` from the mesh admin and pass --token (or --token-file)'

/** What settling the membership decided; `note` is a line for the log (never the token). */
export interface MembershipChoice {
  readonly redemption: Redemption
  /** True when this call redeemed a token (and saved it). */
  readonly redeemed: boolean
  readonly note: string | null
}

/** prepareAdmission returns null for an open mesh, else the verified closed-mesh material. */
export async function prepareAdmission (config: Config, peerId: string, now: number): Promise<ClosedMesh | null> {
  if (config.authority === undefined) return null
  const authority = parseAuthorityId(config.authority)
  const anchor: TrustAnchor = { mesh: authority.mesh, authority: authority.publicKey }
  const { redemption } = await settleMembership(config, anchor, peerId, now, null)
  const revocations = await loadRevocations(config.stateDir, anchor)
  const path = join(config.stateDir, REVOCATIONS_FILE)
  return {
    authority, anchor, redemption, revocations,
    saveRevocations: async () => { await writeFileAtomic(path, JSON.stringify(revocations.toJSON()) + '\n') }
  }
}

/**
 * settleMembership decides which redemption this node runs with: the current
 * one (a reload passes it; a start reads the saved file), unless the config
 * names a token with another id, which is then redeemed (it must be
 * redeemable now). A token that cannot be redeemed is an error only when
 * there is no membership to keep. With `dryRun` nothing is written.
 */
export async function settleMembership (
  config: Config, anchor: TrustAnchor, peerId: string, now: number, current: Redemption | null, dryRun = false
): Promise<MembershipChoice> {
  const have = current ?? await loadRedemption(config.stateDir, anchor, peerId)
  const given = await givenToken(config)
  const legacy = given === null && have === null ? await loadToken(config.stateDir) : null
  const token = given ?? legacy
  let choice: MembershipChoice
  if (token === null || (have !== null && token.claims.tokenId === have.token.tokenId)) {
    if (have === null) throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `mesh ${config.mesh} is closed and this node has no join token: ${NO_TOKEN_FIX}`)
    choice = { redemption: have, redeemed: false, note: null }
  } else {
    try {
      choice = { redemption: await redeem(token, anchor, peerId, now), redeemed: true, note: `redeemed join token ${token.claims.tokenId}` }
    } catch (err) {
      if (!isGridmeshError(err) || have === null) throw err
      choice = { redemption: have, redeemed: false, note: `kept the membership from token ${have.token.tokenId}: ${err.message}` }
    }
  }
  const until = memberUntilOf(choice.redemption.token)
  if (until !== null && until <= now) throw refusal(membershipEnded(choice.redemption.token))
  if (choice.redeemed && !dryRun) {
    await saveRedemption(config.stateDir, choice.redemption)
    // Older versions kept the token secret in the state dir; it is not needed any more.
    await rm(join(config.stateDir, TOKEN_FILE), { force: true })
  }
  return choice
}

async function redeem (token: JoinToken, anchor: TrustAnchor, peerId: string, now: number): Promise<Redemption> {
  try {
    // verifyRedemption checks the authority's signature and mesh on what we just made.
    return await verifyRedemption((await redeemToken({ token, peerId, now })).bytes, anchor)
  } catch (err) {
    throw refusal(err)
  }
}

/** refusal maps an admission error to the one-line CONFIG_INVALID a farmer sees at start. */
function refusal (err: unknown): unknown {
  if (!isGridmeshError(err) || err.code !== ErrorCodes.RECORD_INVALID) return err
  const reason = String(err.meta?.reason ?? 'invalid')
  const fix = reason === 'token-wrong-peer' ? '; ask the mesh admin for a token for this node' : ''
  return new GridmeshError(ErrorCodes.CONFIG_INVALID, `join token refused (${reason}): ${err.message}${fix}`, { reason })
}

/** loadRedemption reads <stateDir>/membership.redemption: null when absent or made by another PeerId (keys replaced). */
export async function loadRedemption (stateDir: string, anchor: TrustAnchor, peerId: string): Promise<Redemption | null> {
  const path = join(stateDir, REDEMPTION_FILE)
  const file = await readFileIfExists(path)
  if (file === null) return null
  assertPrivateFile(path, file.stats)
  const bytes = fromBase64url(file.data.toString('utf8').trim())
  let r: Redemption
  try {
    if (bytes === null) throw new Error('not base64url')
    r = await verifyRedemption(bytes, anchor)
  } catch (err) {
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID,
      `${path} is unusable (${err instanceof Error ? err.message : String(err)}); delete it and start with a new join token (--token-file)`, { path })
  }
  return r.peerId === peerId ? r : null
}

async function saveRedemption (stateDir: string, r: Redemption): Promise<void> {
  await ensurePrivateDir(stateDir)
  await writeFileAtomic(join(stateDir, REDEMPTION_FILE), `${toBase64url(r.bytes)}\n`)
}

/**
 * needsNewCertificate: issue one when we have none, when our /64 moved (the
 * certificate binds it: after a collision move the old one would get every
 * record refused as cert-mismatch), when our membership changed (a reload
 * redeemed a new token), or when a third of its lifetime is left.
 */
export function needsNewCertificate (cert: CertFacts | null, prefix: Ipv6Prefix, now: number, closed?: Pick<ClosedMesh, 'redemption'>): boolean {
  return certificateDue(cert, prefix, now, closed?.redemption.redeemedAt)
}

/** issueOwnCertificate signs our next certificate with our own key: no token needed. */
export async function issueOwnCertificate (
  closed: Pick<ClosedMesh, 'redemption'>, key: Ed25519PrivateKey, wgPublicKey: WgPublicKey, prefix: Ipv6Prefix, now: number
): Promise<Certificate> {
  return await issueMemberCertificate({ redemption: closed.redemption, key, wgPublicKey, prefix, now })
}

/** How often to look at our certificate: a sixth of its lifetime, between 1 s and 30 s. */
export function certCheckMs (closed: Pick<ClosedMesh, 'redemption'>): number {
  return certCheckMsOf(closed.redemption.token.maxCertTtlMs)
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

async function loadRevocations (stateDir: string, anchor: TrustAnchor): Promise<RevocationSet> {
  const file = await readFileIfExists(join(stateDir, REVOCATIONS_FILE))
  if (file === null) return new RevocationSet(anchor.mesh)
  let json: unknown
  try { json = JSON.parse(file.data.toString('utf8')) } catch { json = null }
  return await RevocationSet.fromJSON(json, anchor)
}
