/**
 * Membership certificates: "this PeerId, with this WireGuard key and this
 * /64, is a member of the mesh until expiresAt". Two versions, both sealed
 * under the `gridmesh-cert` domain; `verifyCertificate` takes either and is
 * total: every failure is RECORD_INVALID with `meta.reason`.
 *
 * v2 (what nodes issue): `{ v: 2, mesh, peerId, wgPublicKey, prefix,
 * issuedAt, expiresAt, redemption: base64url(redemption envelope) }`, signed
 * by the member's own PeerId key. The chain is authority → token claims →
 * (token key) redemption → (PeerId key) certificate; see redemption.ts for
 * the redeem-by rule. Renewal needs only the node's own key, so a member
 * stays a member after its token's redeem-by date, until revocation or the
 * token's memberUntil (a certificate never runs past it).
 *
 * v1 (older nodes; still verified): `{ v: 1, …, token: base64url(token
 * claims envelope) }`, sealed by the token key and valid only if issued
 * before the token's expiresAt (the old "membership dies with the token").
 *
 * What this does NOT prove: that the presenter owns `peerId`. The node
 * record carrying the certificate is signed by the PeerId key, and the
 * record's signer, WireGuard key and prefix must equal the certificate's.
 */
import { z } from 'zod'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey, PublicKey } from '@libp2p/interface'
import { parseWgPublicKey } from '../keys/wg-key.ts'
import { parseIpv6Prefix, prefixLength } from '../net/prefix.ts'
import type { WgPublicKey } from '../keys/types.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import { MESH_NAME_RE, PEER_ID_RE, admissionInvalid, fromBase64url, openJson, parseSchema, sealJson, toBase64url, unixMs } from './codec.ts'
import type { EnvelopeKind } from './codec.ts'
import { memberUntilOf, membershipEnded, tokenExpired, verifyTokenClaims } from './token.ts'
import type { JoinToken, TokenClaims } from './token.ts'
import { verifyRedemption } from './redemption.ts'
import type { Redemption } from './redemption.ts'

/** Largest certificate we even try to parse. */
export const MAX_CERT_BYTES = 2048
/** How far a certificate's issuedAt may be ahead of the verifier's clock. */
export const CLOCK_SKEW_MS = 60_000

/** Domain and payload type the token key signs certificates under. */
export const CERT_KIND: EnvelopeKind = {
  domain: 'gridmesh-cert',
  codec: new TextEncoder().encode('/gridmesh/cert/1'),
  maxBytes: MAX_CERT_BYTES,
  malformed: 'cert-malformed',
  oversized: 'cert-oversized',
  badSignature: 'cert-bad-signature',
  noun: 'membership certificate'
}

const isWgKey = (s: string): boolean => { try { parseWgPublicKey(s); return true } catch { return false } }
const isCanonical64 = (s: string): boolean => {
  try { return parseIpv6Prefix(s) === s && prefixLength(s as Ipv6Prefix) === 64 } catch { return false }
}

const certFields = {
  mesh: z.string().regex(MESH_NAME_RE),
  peerId: z.string().regex(PEER_ID_RE),
  wgPublicKey: z.string().max(44).refine(isWgKey, 'not a WireGuard public key'),
  prefix: z.string().max(43).refine(isCanonical64, 'prefix must be a canonical IPv6 /64'),
  issuedAt: unixMs,
  expiresAt: unixMs
}

/** The signed payload, v1 or v2. Strict; `token` / `redemption` is the embedded envelope. */
export const certPayloadSchema = z.discriminatedUnion('v', [
  z.strictObject({ v: z.literal(1), ...certFields, token: z.string().max(1400).regex(/^[A-Za-z0-9_-]+$/) }),
  z.strictObject({ v: z.literal(2), ...certFields, redemption: z.string().max(2048).regex(/^[A-Za-z0-9_-]+$/) })
]).refine(c => c.expiresAt > c.issuedAt, 'expiresAt must be after issuedAt')

/** A certificate that passed every check. */
export interface Certificate {
  readonly mesh: string
  readonly peerId: string
  readonly wgPublicKey: WgPublicKey
  readonly prefix: Ipv6Prefix
  readonly issuedAt: number
  readonly expiresAt: number
  /** When the member redeemed its token (v1: issuedAt, the token signed it directly). */
  readonly redeemedAt: number
  /** The authority-vouched claims of the member's join token. */
  readonly token: TokenClaims
  /** The exact signed bytes, to embed in a node record. */
  readonly bytes: Uint8Array
}

/** Options of issueCertificate. */
export interface IssueInit {
  token: JoinToken
  peerId: string
  wgPublicKey: WgPublicKey
  prefix: Ipv6Prefix
  now: number
  ttlMs: number
}

/** Options of verifyCertificate. */
export interface VerifyCertificateOptions {
  mesh: string
  /** The mesh authority key (from parseAuthorityId). */
  authority: PublicKey
  now: number
  /** True when the peer or the token is revoked (e.g. RevocationSet#isRevoked). */
  revoked?: (peerId: string, tokenId: string) => boolean
}

/**
 * issueCertificate signs a certificate with the token key. It refuses what
 * every verifier would refuse (token expired, TTL beyond the token's max,
 * wrong peer for a bound token, bad fields), so a misconfigured node fails
 * here, loudly.
 */
export async function issueCertificate (init: IssueInit): Promise<Certificate> {
  const claims = init.token.claims
  if (claims.expiresAt <= init.now) throw tokenExpired(claims)
  if (claims.peerId !== null && claims.peerId !== init.peerId) {
    throw admissionInvalid('token-wrong-peer', `join token is bound to ${claims.peerId}, not ${init.peerId}`)
  }
  if (!(init.ttlMs > 0 && init.ttlMs <= claims.maxCertTtlMs)) {
    throw admissionInvalid('cert-ttl-too-long', `certificate TTL ${init.ttlMs} ms is outside 1..${claims.maxCertTtlMs} ms allowed by the token`)
  }
  const payload = parseSchema(certPayloadSchema, {
    v: 1,
    mesh: claims.mesh,
    peerId: init.peerId,
    wgPublicKey: init.wgPublicKey,
    prefix: init.prefix,
    issuedAt: init.now,
    expiresAt: init.now + init.ttlMs,
    token: toBase64url(init.token.envelope)
  }, 'cert-malformed', 'membership certificate')
  const bytes = await sealJson(CERT_KIND, payload, init.token.privateKey)
  return certificateOf(payload, claims, payload.issuedAt, bytes)
}

/** Options of issueMemberCertificate. */
export interface IssueMemberInit {
  redemption: Redemption
  /** The member's own libp2p key: the PeerId the redemption names. */
  key: Ed25519PrivateKey
  wgPublicKey: WgPublicKey
  prefix: Ipv6Prefix
  now: number
  /** Default memberCertTtl(token, now): the token's max, never past memberUntil. */
  ttlMs?: number
}

/**
 * issueMemberCertificate signs a v2 certificate with the member's own key,
 * carrying its redemption. No token is needed, and the token's redeem-by
 * date does not matter any more. Refuses what verifiers would refuse.
 */
export async function issueMemberCertificate (init: IssueMemberInit): Promise<Certificate> {
  const { redemption } = init
  const claims = redemption.token
  const peerId = peerIdFromPublicKey(init.key.publicKey).toString()
  if (peerId !== redemption.peerId) throw admissionInvalid('token-wrong-peer', `token redemption names ${redemption.peerId}, not this node ${peerId}`)
  const ttlMs = init.ttlMs ?? memberCertTtl(claims, init.now)
  if (!(ttlMs > 0 && ttlMs <= claims.maxCertTtlMs)) {
    throw admissionInvalid('cert-ttl-too-long', `certificate TTL ${ttlMs} ms is outside 1..${claims.maxCertTtlMs} ms allowed by the token`)
  }
  const until = memberUntilOf(claims)
  if (until !== null && init.now + ttlMs > until) throw membershipEnded(claims)
  const payload = parseSchema(certPayloadSchema, {
    v: 2,
    mesh: claims.mesh,
    peerId,
    wgPublicKey: init.wgPublicKey,
    prefix: init.prefix,
    issuedAt: Math.max(init.now, redemption.redeemedAt),
    expiresAt: Math.max(init.now, redemption.redeemedAt) + ttlMs,
    redemption: toBase64url(redemption.bytes)
  }, 'cert-malformed', 'membership certificate')
  const bytes = await sealJson(CERT_KIND, payload, init.key)
  return certificateOf(payload, claims, redemption.redeemedAt, bytes)
}

/**
 * verifyCertificate checks a certificate (v1 or v2) against our mesh's
 * authority, in this order: size and shape; the chain (v1: token sealed by
 * the authority for our mesh, certificate by that token's key, issued before
 * the token expired; v2: certificate sealed by the PeerId it names, its
 * redemption valid per redemption.ts and naming the same PeerId, issued no
 * earlier than the redemption); certificate mesh; bound peer; TTL within the
 * token's max; not past the token's memberUntil; issuedAt not ahead of now
 * (+ skew); not expired at now; not revoked.
 */
export async function verifyCertificate (bytes: Uint8Array, opts: VerifyCertificateOptions): Promise<Certificate> {
  const { signer, json } = await openJson(CERT_KIND, bytes)
  const cert = parseSchema(certPayloadSchema, json, 'cert-malformed', 'membership certificate')
  let claims: TokenClaims
  let redeemedAt: number
  if (cert.v === 1) {
    const envelope = fromBase64url(cert.token)
    if (envelope === null) throw admissionInvalid('cert-malformed', 'membership certificate: token is not base64url')
    const verified = await verifyTokenClaims(envelope, opts)
    claims = verified.claims
    if (!signer.equals(verified.tokenKey)) throw admissionInvalid('cert-bad-signature', 'membership certificate is not signed by its token key')
    if (claims.expiresAt <= cert.issuedAt) throw admissionInvalid('token-expired', 'membership certificate was issued after its join token expired')
    redeemedAt = cert.issuedAt
  } else {
    const envelope = fromBase64url(cert.redemption)
    if (envelope === null) throw admissionInvalid('cert-malformed', 'membership certificate: redemption is not base64url')
    const redemption = await verifyRedemption(envelope, opts)
    claims = redemption.token
    redeemedAt = redemption.redeemedAt
    if (!signedBy(signer, cert.peerId)) throw admissionInvalid('cert-bad-signature', 'membership certificate is not signed by the peer it names')
    if (redemption.peerId !== cert.peerId) throw admissionInvalid('token-wrong-peer', 'membership certificate carries another peer\'s token redemption')
    if (cert.issuedAt < redeemedAt) throw admissionInvalid('cert-malformed', 'membership certificate is dated before its token redemption')
  }
  if (cert.mesh !== opts.mesh) throw admissionInvalid('cert-wrong-mesh', `membership certificate is for mesh ${cert.mesh}, not ${opts.mesh}`)
  if (claims.peerId !== null && claims.peerId !== cert.peerId) {
    throw admissionInvalid('token-wrong-peer', 'membership certificate names another peer than its join token')
  }
  if (cert.expiresAt - cert.issuedAt > claims.maxCertTtlMs) {
    throw admissionInvalid('cert-ttl-too-long', 'membership certificate outlives the TTL its join token allows')
  }
  const until = memberUntilOf(claims)
  if (until !== null && cert.expiresAt > until) throw admissionInvalid('membership-ended', 'membership certificate runs past the membership end its join token sets')
  if (cert.issuedAt > opts.now + CLOCK_SKEW_MS) throw admissionInvalid('cert-not-yet-valid', 'membership certificate is issued in the future')
  if (cert.expiresAt <= opts.now) throw admissionInvalid('cert-expired', 'membership certificate expired')
  if (opts.revoked?.(cert.peerId, claims.tokenId) === true) {
    throw admissionInvalid('revoked', `peer ${cert.peerId} or its join token ${claims.tokenId} is revoked`)
  }
  return certificateOf(cert, claims, redeemedAt, bytes)
}

/** signedBy: the envelope signer is the key of this PeerId (Ed25519 PeerIds embed their key). */
function signedBy (signer: PublicKey, peerId: string): boolean {
  try {
    return peerIdFromPublicKey(signer).toString() === peerId
  } catch {
    return false
  }
}

/** needsRenewal: true once less than a third of the certificate's lifetime remains. */
export function needsRenewal (cert: Pick<Certificate, 'issuedAt' | 'expiresAt'>, now: number): boolean {
  return (cert.expiresAt - now) * 3 < cert.expiresAt - cert.issuedAt
}

/**
 * memberCertTtl is the TTL of a member's next (v2) certificate: the token's
 * maximum, never past the membership end the token sets. Throws
 * RECORD_INVALID membership-ended once that has passed.
 */
export function memberCertTtl (claims: TokenClaims, now: number): number {
  const until = memberUntilOf(claims)
  if (until === null) return claims.maxCertTtlMs
  const left = until - now
  if (left <= 0) throw membershipEnded(claims)
  return Math.min(claims.maxCertTtlMs, left)
}

/**
 * renewalTtl is the TTL of the next v1 (token-signed) certificate: the token's maximum, but
 * never past the token's own expiry. Throws RECORD_INVALID token-expired
 * (telling the farmer to get a new token) when the token has expired.
 */
export function renewalTtl (token: Pick<JoinToken, 'claims'>, now: number): number {
  const left = token.claims.expiresAt - now
  if (left <= 0) throw tokenExpired(token.claims)
  return Math.min(token.claims.maxCertTtlMs, left)
}

function certificateOf (cert: z.output<typeof certPayloadSchema>, claims: TokenClaims, redeemedAt: number, bytes: Uint8Array): Certificate {
  // The schema checked both shapes; this is the one place the brands are applied.
  return {
    mesh: cert.mesh,
    peerId: cert.peerId,
    wgPublicKey: cert.wgPublicKey as WgPublicKey,
    prefix: cert.prefix as Ipv6Prefix,
    issuedAt: cert.issuedAt,
    expiresAt: cert.expiresAt,
    redeemedAt,
    token: claims,
    bytes
  }
}
