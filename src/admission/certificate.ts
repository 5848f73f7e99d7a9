/**
 * Membership certificates: "this PeerId, with this WireGuard key and this
 * /64, is a member of the mesh until expiresAt". A node issues its own
 * certificate with the join token it holds; the certificate embeds the
 * authority-signed token claims, so anyone who knows the authority id can
 * check the chain authority → token key → certificate without the authority
 * being online.
 *
 * Payload `{ v, mesh, peerId, wgPublicKey, prefix, issuedAt, expiresAt,
 * token: base64url(token claims envelope) }`, sealed by the token key under
 * the `gridmesh-cert` domain. `verifyCertificate` is total: every failure is
 * RECORD_INVALID with `meta.reason`.
 *
 * What this does NOT prove: that the presenter owns `peerId`. The node
 * record carrying the certificate is signed by the PeerId key, and the
 * record's signer, WireGuard key and prefix must equal the certificate's.
 */
import { z } from 'zod'
import type { PublicKey } from '@libp2p/interface'
import { parseWgPublicKey } from '../keys/wg-key.ts'
import { parseIpv6Prefix, prefixLength } from '../net/prefix.ts'
import type { WgPublicKey } from '../keys/types.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import { MESH_NAME_RE, PEER_ID_RE, admissionInvalid, fromBase64url, openJson, parseSchema, sealJson, toBase64url, unixMs } from './codec.ts'
import type { EnvelopeKind } from './codec.ts'
import { tokenExpired, verifyTokenClaims } from './token.ts'
import type { JoinToken, TokenClaims } from './token.ts'

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

/** The signed payload. Strict; `token` is the embedded claims envelope. */
export const certPayloadSchema = z.strictObject({
  v: z.literal(1),
  mesh: z.string().regex(MESH_NAME_RE),
  peerId: z.string().regex(PEER_ID_RE),
  wgPublicKey: z.string().max(44).refine(isWgKey, 'not a WireGuard public key'),
  prefix: z.string().max(43).refine(isCanonical64, 'prefix must be a canonical IPv6 /64'),
  issuedAt: unixMs,
  expiresAt: unixMs,
  token: z.string().max(1400).regex(/^[A-Za-z0-9_-]+$/)
}).refine(c => c.expiresAt > c.issuedAt, 'expiresAt must be after issuedAt')

/** A certificate that passed every check. */
export interface Certificate {
  readonly mesh: string
  readonly peerId: string
  readonly wgPublicKey: WgPublicKey
  readonly prefix: Ipv6Prefix
  readonly issuedAt: number
  readonly expiresAt: number
  /** The authority-vouched claims of the token that issued it. */
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
  return certificateOf(payload, claims, bytes)
}

/**
 * verifyCertificate checks a certificate against our mesh's authority, in
 * this order: size and shape; token sealed by the authority, for our mesh;
 * certificate sealed by that token's key; certificate mesh; bound peer; TTL
 * within the token's max; token unexpired at issuedAt; issuedAt not ahead of
 * now (+ skew); not expired at now; not revoked.
 */
export async function verifyCertificate (bytes: Uint8Array, opts: VerifyCertificateOptions): Promise<Certificate> {
  const { signer, json } = await openJson(CERT_KIND, bytes)
  const cert = parseSchema(certPayloadSchema, json, 'cert-malformed', 'membership certificate')
  const envelope = fromBase64url(cert.token)
  if (envelope === null) throw admissionInvalid('cert-malformed', 'membership certificate: token is not base64url')
  const { claims, tokenKey } = await verifyTokenClaims(envelope, opts)
  if (!signer.equals(tokenKey)) throw admissionInvalid('cert-bad-signature', 'membership certificate is not signed by its token key')
  if (cert.mesh !== opts.mesh) throw admissionInvalid('cert-wrong-mesh', `membership certificate is for mesh ${cert.mesh}, not ${opts.mesh}`)
  if (claims.peerId !== null && claims.peerId !== cert.peerId) {
    throw admissionInvalid('token-wrong-peer', 'membership certificate names another peer than its join token')
  }
  if (cert.expiresAt - cert.issuedAt > claims.maxCertTtlMs) {
    throw admissionInvalid('cert-ttl-too-long', 'membership certificate outlives the TTL its join token allows')
  }
  if (claims.expiresAt <= cert.issuedAt) throw admissionInvalid('token-expired', 'membership certificate was issued after its join token expired')
  if (cert.issuedAt > opts.now + CLOCK_SKEW_MS) throw admissionInvalid('cert-not-yet-valid', 'membership certificate is issued in the future')
  if (cert.expiresAt <= opts.now) throw admissionInvalid('cert-expired', 'membership certificate expired')
  if (opts.revoked?.(cert.peerId, claims.tokenId) === true) {
    throw admissionInvalid('revoked', `peer ${cert.peerId} or its join token ${claims.tokenId} is revoked`)
  }
  return certificateOf(cert, claims, bytes)
}

/** needsRenewal: true once less than a third of the certificate's lifetime remains. */
export function needsRenewal (cert: Pick<Certificate, 'issuedAt' | 'expiresAt'>, now: number): boolean {
  return (cert.expiresAt - now) * 3 < cert.expiresAt - cert.issuedAt
}

/**
 * renewalTtl is the TTL of the next certificate: the token's maximum, but
 * never past the token's own expiry. Throws RECORD_INVALID token-expired
 * (telling the farmer to get a new token) when the token has expired.
 */
export function renewalTtl (token: Pick<JoinToken, 'claims'>, now: number): number {
  const left = token.claims.expiresAt - now
  if (left <= 0) throw tokenExpired(token.claims)
  return Math.min(token.claims.maxCertTtlMs, left)
}

function certificateOf (cert: z.output<typeof certPayloadSchema>, claims: TokenClaims, bytes: Uint8Array): Certificate {
  // The schema checked both shapes; this is the one place the brands are applied.
  return {
    mesh: cert.mesh,
    peerId: cert.peerId,
    wgPublicKey: cert.wgPublicKey as WgPublicKey,
    prefix: cert.prefix as Ipv6Prefix,
    issuedAt: cert.issuedAt,
    expiresAt: cert.expiresAt,
    token: claims,
    bytes
  }
}
