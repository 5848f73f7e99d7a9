/**
 * Redemptions: the one-time proof that a node joined with a join token while
 * the token could still be redeemed.
 *
 * Payload `{ v, mesh, peerId, redeemedAt, token: base64url(token claims
 * envelope) }`, sealed by the TOKEN key under the `gridmesh-redemption`
 * domain. A node makes it once, at its first start with the token (which
 * must be unexpired then), keeps it in its state dir, and carries it forward
 * inside every membership certificate it signs afterwards with its own
 * PeerId key (certificate v2, src/admission/certificate.ts). From then on
 * the token string is never needed again: membership lasts until revocation
 * or the token's `memberUntil`, and certificates renew forever within that.
 *
 * THE RULE verifiers apply: a redemption counts only if the authority signed
 * the token (for our mesh), the token key signed the redemption, the
 * redemption names the certificate's PeerId (and the token's bound PeerId,
 * if any), and `redeemedAt` is before the token's redeem-by date.
 *
 * What that does and does not stop (no trusted clock; the authority is
 * offline, so `redeemedAt` is the redeemer's word):
 *   - A token bound to a PeerId (`invite --peer-id`) can never admit another
 *     PeerId, expired or not: the binding is in the authority's signature.
 *   - A reusable token that leaks AFTER its redeem-by date can still be used
 *     by its holder to sign a back-dated redemption for a new PeerId. Honest
 *     nodes never do this (they refuse to redeem an expired token), and they
 *     delete the token from their state dir once redeemed, so a stolen disk
 *     does not yield it; but the string the admin sent remains a secret. A
 *     leaked reusable token must be revoked (`gridmesh revoke --token-id`),
 *     which also ends the memberships redeemed with it (re-invite those nodes
 *     with bound tokens). Prefer bound tokens where the PeerId is known.
 */
import { z } from 'zod'
import { MESH_NAME_RE, PEER_ID_RE, admissionInvalid, fromBase64url, openJson, parseSchema, sealJson, toBase64url, unixMs } from './codec.ts'
import type { EnvelopeKind } from './codec.ts'
import { memberUntilOf, membershipEnded, tokenExpired, verifyTokenClaims } from './token.ts'
import type { JoinToken, TokenClaims, TrustAnchor } from './token.ts'

/** Largest redemption we try to parse: the embedded claims envelope plus ~200 bytes. */
/** The file in the state dir that holds this node's redemption (it outlives the token's redeem-by date). */
export const REDEMPTION_FILE = 'membership.redemption'

export const MAX_REDEMPTION_BYTES = 1536

/** Domain and payload type the token key signs redemptions under. */
export const REDEMPTION_KIND: EnvelopeKind = {
  domain: 'gridmesh-redemption',
  codec: new TextEncoder().encode('/gridmesh/redemption/1'),
  maxBytes: MAX_REDEMPTION_BYTES,
  malformed: 'redemption-malformed',
  oversized: 'redemption-oversized',
  badSignature: 'redemption-bad-signature',
  noun: 'token redemption'
}

const redemptionSchema = z.strictObject({
  v: z.literal(1),
  mesh: z.string().regex(MESH_NAME_RE),
  peerId: z.string().regex(PEER_ID_RE),
  redeemedAt: unixMs,
  token: z.string().max(1400).regex(/^[A-Za-z0-9_-]+$/)
})

/** A redemption that passed every check. */
export interface Redemption {
  readonly peerId: string
  readonly redeemedAt: number
  /** The authority-vouched claims of the redeemed token. */
  readonly token: TokenClaims
  /** The exact signed bytes (what certificates embed and the state dir keeps). */
  readonly bytes: Uint8Array
}

/**
 * redeemToken is a node's first use of its token: the token must be
 * redeemable at `now` (before its redeem-by date), meant for this PeerId if
 * bound, and its membership bound (if any) still ahead.
 */
export async function redeemToken (init: { token: JoinToken, peerId: string, now: number }): Promise<Redemption> {
  const claims = init.token.claims
  if (claims.expiresAt <= init.now) throw tokenExpired(claims)
  if (claims.peerId !== null && claims.peerId !== init.peerId) {
    throw admissionInvalid('token-wrong-peer', `join token is bound to ${claims.peerId}, not ${init.peerId}`)
  }
  const until = memberUntilOf(claims)
  if (until !== null && until <= init.now) throw membershipEnded(claims)
  const payload = parseSchema(redemptionSchema, {
    v: 1, mesh: claims.mesh, peerId: init.peerId, redeemedAt: init.now, token: toBase64url(init.token.envelope)
  }, 'redemption-malformed', 'token redemption')
  const bytes = await sealJson(REDEMPTION_KIND, payload, init.token.privateKey)
  return { peerId: payload.peerId, redeemedAt: payload.redeemedAt, token: claims, bytes }
}

/**
 * verifyRedemption checks a redemption against the mesh authority (THE RULE
 * above). It does not judge membership expiry or revocation at a time: the
 * certificate check does, and so does the daemon at start.
 */
export async function verifyRedemption (bytes: Uint8Array, anchor: TrustAnchor): Promise<Redemption> {
  const { signer, json } = await openJson(REDEMPTION_KIND, bytes)
  const r = parseSchema(redemptionSchema, json, 'redemption-malformed', 'token redemption')
  const envelope = fromBase64url(r.token)
  if (envelope === null) throw admissionInvalid('redemption-malformed', 'token redemption: token is not base64url')
  const { claims, tokenKey } = await verifyTokenClaims(envelope, anchor)
  if (!signer.equals(tokenKey)) throw admissionInvalid('redemption-bad-signature', 'token redemption is not signed by its token key')
  if (r.mesh !== anchor.mesh) throw admissionInvalid('token-wrong-mesh', `token redemption is for mesh ${r.mesh}, not ${anchor.mesh}`)
  if (claims.peerId !== null && claims.peerId !== r.peerId) {
    throw admissionInvalid('token-wrong-peer', 'token redemption names another peer than its join token')
  }
  if (claims.expiresAt <= r.redeemedAt) throw admissionInvalid('token-expired', 'token redemption is dated after its join token\'s redeem-by date')
  return { peerId: r.peerId, redeemedAt: r.redeemedAt, token: claims, bytes }
}
