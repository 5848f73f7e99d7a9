/**
 * Join tokens: a delegation from the offline mesh authority to a farmer.
 *
 *   gmt1.<base64url(claims envelope)>.<base64url(token private key protobuf)>
 *
 * The claims `{ v, mesh, tokenId, expiresAt, peerId|null, tokenPublicKey,
 * maxCertTtlMs, memberUntil|null }` are sealed by the authority key in a
 * libp2p envelope under the `gridmesh-token` domain. The token's own Ed25519
 * private key travels with them: whoever holds the token string can redeem
 * it (src/admission/redemption.ts) until it expires or is revoked, so the
 * string is a secret like a password. The authority key itself never has to
 * be online.
 *
 * `expiresAt` is the REDEEM-BY date: it bounds when a node may join with the
 * token, not how long it stays a member. Membership lasts until revocation,
 * or until `memberUntil` when the authority chose one at invite time
 * (`--member-for`). Version 1 claims (no memberUntil) still decode and mean
 * "member until revoked", so meshes joined with older tokens keep working.
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair, privateKeyToProtobuf, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { z } from 'zod'
import type { Ed25519PrivateKey, Ed25519PublicKey, PublicKey } from '@libp2p/interface'
import {
  MESH_NAME_RE, PEER_ID_RE, TOKEN_ID_RE, admissionInvalid, decodeEd25519PrivateKey, fromBase64url, openJson, parseSchema, sameBytes, sealJson,
  toBase64url, unixMs
} from './codec.ts'
import type { AdmissionInvalidMeta, EnvelopeKind } from './codec.ts'
import type { GridmeshError } from '../errors.ts'

/** Version prefix of a token string. */
export const TOKEN_PREFIX = 'gmt1'
/** Longest token string we try to parse (checked before decoding). */
export const MAX_TOKEN_CHARS = 2048
/** Longest claims envelope: small enough that a certificate embedding it stays under its own cap. */
export const MAX_TOKEN_CLAIMS_BYTES = 1024
/** Upper bound on a token's lifetime: a leaked token stays dangerous at most this long (plus one cert TTL). */
export const MAX_TOKEN_LIFETIME_MS = 366 * 86_400_000
/** Upper bound on maxCertTtlMs: certificates are short-lived and renewed, so revocation has a backstop. */
export const MAX_CERT_TTL_MS = 30 * 86_400_000

/** Domain and payload type the authority signs token claims under. */
export const TOKEN_KIND: EnvelopeKind = {
  domain: 'gridmesh-token',
  codec: new TextEncoder().encode('/gridmesh/token/1'),
  maxBytes: MAX_TOKEN_CLAIMS_BYTES,
  malformed: 'token-malformed',
  oversized: 'token-oversized',
  badSignature: 'token-bad-signature',
  noun: 'join token'
}

const claimsV1 = {
  mesh: z.string().regex(MESH_NAME_RE),
  tokenId: z.string().regex(TOKEN_ID_RE),
  /** Redeem-by (v1 tokens: also read as redeem-by; membership is not bounded by it). */
  expiresAt: unixMs,
  /** null: reusable for any PeerId (a farmer's token for all their nodes). */
  peerId: z.string().regex(PEER_ID_RE).nullable(),
  /** base64url of the token's Ed25519 public key protobuf. */
  tokenPublicKey: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  maxCertTtlMs: z.number().int().min(1).max(MAX_CERT_TTL_MS)
}

/** The authority-signed claims, v1 (before redeem-by semantics) or v2. Strict: unknown keys are refused, every field bounded. */
export const tokenClaimsSchema = z.discriminatedUnion('v', [
  z.strictObject({ v: z.literal(1), ...claimsV1 }),
  z.strictObject({
    v: z.literal(2),
    ...claimsV1,
    /** When every membership obtained with this token ends (unix ms), or null: until revoked. */
    memberUntil: unixMs.nullable()
  })
])

/** What the authority vouches for. */
export type TokenClaims = Readonly<z.output<typeof tokenClaimsSchema>>

/** Claims that passed the authority check, with the token key decoded. */
export interface VerifiedTokenClaims {
  readonly claims: TokenClaims
  /** The key certificates must be signed by. */
  readonly tokenKey: Ed25519PublicKey
  /** The exact signed envelope (what certificates embed). */
  readonly envelope: Uint8Array
}

/** A decoded join token: the signed claims plus the delegated private key. Never logged. */
export interface JoinToken extends VerifiedTokenClaims {
  readonly privateKey: Ed25519PrivateKey
}

/** Options of createToken. */
export interface CreateTokenInit {
  authority: Ed25519PrivateKey
  mesh: string
  now: number
  /** How long the token can be redeemed (its expiresAt is now + lifetimeMs). */
  lifetimeMs: number
  /** Bind the token to one node, or null for a reusable token. */
  peerId: string | null
  maxCertTtlMs: number
  /** How long memberships obtained with it last, from now (`--member-for`); absent or null: until revoked. */
  memberForMs?: number | null
}

/** memberUntilOf: when memberships from this token end, or null (until revoked; every v1 token). */
export function memberUntilOf (claims: TokenClaims): number | null {
  return claims.v === 1 ? null : claims.memberUntil
}

/** createToken makes a fresh token key and has the authority sign its claims. */
export async function createToken (init: CreateTokenInit): Promise<JoinToken> {
  if (!(init.lifetimeMs > 0 && init.lifetimeMs <= MAX_TOKEN_LIFETIME_MS)) {
    throw admissionInvalid('token-malformed', `token lifetime must be 1 ms..${MAX_TOKEN_LIFETIME_MS} ms`)
  }
  const memberForMs = init.memberForMs ?? null
  if (memberForMs !== null && !(memberForMs >= init.lifetimeMs && Number.isSafeInteger(init.now + memberForMs))) {
    throw admissionInvalid('token-malformed', 'membership duration must be at least the token lifetime')
  }
  const privateKey = await generateKeyPair('Ed25519')
  const claims = parseSchema(tokenClaimsSchema, {
    v: 2,
    mesh: init.mesh,
    tokenId: randomBytes(16).toString('hex'),
    expiresAt: init.now + init.lifetimeMs,
    peerId: init.peerId,
    tokenPublicKey: toBase64url(publicKeyToProtobuf(privateKey.publicKey)),
    maxCertTtlMs: init.maxCertTtlMs,
    memberUntil: memberForMs === null ? null : init.now + memberForMs
  }, 'token-malformed', 'join token')
  const envelope = await sealJson(TOKEN_KIND, claims, init.authority)
  return { claims, tokenKey: privateKey.publicKey, envelope, privateKey }
}

/** encodeToken renders the secret `gmt1.…` string. */
export function encodeToken (token: JoinToken): string {
  return `${TOKEN_PREFIX}.${toBase64url(token.envelope)}.${toBase64url(privateKeyToProtobuf(token.privateKey))}`
}

/**
 * decodeToken parses a token string (surrounding whitespace allowed) and
 * checks it is self-consistent: a validly sealed claims envelope and a
 * private key matching tokenPublicKey. It does NOT check who signed it or
 * expiry; verifyToken does. Total: throws only RECORD_INVALID token-*.
 */
export async function decodeToken (text: unknown): Promise<JoinToken> {
  if (typeof text !== 'string') throw admissionInvalid('token-malformed', 'join token is not a string')
  if (text.length > MAX_TOKEN_CHARS) throw admissionInvalid('token-oversized', `join token is ${text.length} chars > ${MAX_TOKEN_CHARS}`)
  const [prefix, claimsPart, keyPart, extra] = text.trim().split('.')
  if (prefix !== TOKEN_PREFIX || claimsPart === undefined || keyPart === undefined || extra !== undefined) {
    throw admissionInvalid('token-malformed', 'not a gmt1.<claims>.<key> join token')
  }
  const envelope = fromBase64url(claimsPart)
  const keyBytes = fromBase64url(keyPart)
  if (envelope === null || keyBytes === null) throw admissionInvalid('token-malformed', 'join token is not base64url')
  const { verified } = await openClaims(envelope)
  const privateKey = await decodeEd25519PrivateKey(keyBytes)
  if (typeof privateKey === 'string') throw admissionInvalid('token-malformed', `join token private key: ${privateKey}`)
  if (!privateKey.publicKey.equals(verified.tokenKey)) throw admissionInvalid('token-malformed', 'join token private key does not match its claims')
  return { ...verified, privateKey }
}

/** What a token or certificate must agree with: our mesh and its authority key. */
export interface TrustAnchor {
  mesh: string
  authority: PublicKey
}

/**
 * verifyTokenClaims checks a claims envelope (as embedded in certificates):
 * sealed by `authority` under the token domain, strict schema, our mesh.
 * Expiry is the caller's business (it is judged at a cert's issuedAt).
 */
export async function verifyTokenClaims (envelope: Uint8Array, anchor: TrustAnchor): Promise<VerifiedTokenClaims> {
  const { signer, verified } = await openClaims(envelope)
  if (!signer.equals(anchor.authority)) throw admissionInvalid('token-bad-signature', 'join token is not signed by this mesh authority')
  if (verified.claims.mesh !== anchor.mesh) throw admissionInvalid('token-wrong-mesh', `join token is for mesh ${verified.claims.mesh}, not ${anchor.mesh}`)
  return verified
}

/**
 * verifyToken is what a node runs on the token it was given: the authority
 * signed it, for our mesh, and it can still be redeemed at `now`.
 */
export async function verifyToken (token: JoinToken, opts: TrustAnchor & { now: number }): Promise<TokenClaims> {
  const { claims } = await verifyTokenClaims(token.envelope, opts)
  if (claims.expiresAt <= opts.now) throw tokenExpired(claims)
  return claims
}

/** tokenExpired is the one error for "this token can no longer be used"; it tells the farmer what to do. */
export function tokenExpired (claims: TokenClaims): GridmeshError<AdmissionInvalidMeta> {
  return admissionInvalid('token-expired',
    `join token ${claims.tokenId} expired at ${new Date(claims.expiresAt).toISOString()} (its redeem-by date: it can no longer join a node); ask the mesh admin for a new one (\`gridmesh invite\`)`)
}

/** membershipEnded is the one error for "the authority's --member-for bound has passed". */
export function membershipEnded (claims: TokenClaims): GridmeshError<AdmissionInvalidMeta> {
  const until = memberUntilOf(claims) ?? 0
  return admissionInvalid('membership-ended',
    `membership from join token ${claims.tokenId} ended at ${new Date(until).toISOString()} (the --member-for chosen at invite); ask the mesh admin for a new token`)
}

async function openClaims (envelope: Uint8Array): Promise<{ signer: PublicKey, verified: VerifiedTokenClaims }> {
  const { signer, json } = await openJson(TOKEN_KIND, envelope)
  const claims = parseSchema(tokenClaimsSchema, json, 'token-malformed', 'join token claims')
  const keyBytes = fromBase64url(claims.tokenPublicKey)
  let tokenKey: PublicKey
  try {
    if (keyBytes === null) throw new Error('not base64url')
    tokenKey = publicKeyFromProtobuf(keyBytes)
    if (!sameBytes(publicKeyToProtobuf(tokenKey), keyBytes)) throw new Error('non-canonical key')
  } catch (err) {
    throw admissionInvalid('token-malformed', 'join token public key does not decode', err)
  }
  if (tokenKey.type !== 'Ed25519') throw admissionInvalid('token-malformed', 'join token key is not Ed25519')
  return { signer, verified: { claims, tokenKey, envelope } }
}
