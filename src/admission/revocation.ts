/**
 * Revocations: the authority's signed statement that a peer, or every
 * certificate issued with one join token, is no longer a member.
 *
 *   gmr1.<base64url(envelope)>   envelope sealed by the authority key under
 *   the `gridmesh-revocation` domain, payload
 *   { v, mesh, peerId|null, tokenId|null, revokedAt, reason? }
 *
 * Exactly one of peerId / tokenId is set, so every revocation has one stable
 * id (`peer-<peerId>` or `token-<tokenId>`) and one DHT key. A revocation is
 * permanent: there is no un-revoke (a farmer whose node was revoked by
 * mistake starts it with a new identity).
 */
import { z } from 'zod'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import {
  MESH_NAME_RE, PEER_ID_RE, TOKEN_ID_RE, admissionInvalid, fromBase64url, openJson, parseSchema, sealJson, toBase64url, unixMs
} from './codec.ts'
import type { EnvelopeKind } from './codec.ts'
import type { TrustAnchor } from './token.ts'

/** Version prefix of a revocation string. */
export const REVOCATION_PREFIX = 'gmr1'
/** Largest revocation envelope we even try to parse. */
export const MAX_REVOCATION_BYTES = 1024
const MAX_REVOCATION_CHARS = REVOCATION_PREFIX.length + 1 + Math.ceil(MAX_REVOCATION_BYTES * 4 / 3) + 2
/** Longest free-text reason, in characters. */
export const MAX_REASON_CHARS = 200

/** Domain and payload type the authority signs revocations under. */
export const REVOCATION_KIND: EnvelopeKind = {
  domain: 'gridmesh-revocation',
  codec: new TextEncoder().encode('/gridmesh/revocation/1'),
  maxBytes: MAX_REVOCATION_BYTES,
  malformed: 'revocation-malformed',
  oversized: 'revocation-oversized',
  badSignature: 'revocation-bad-signature',
  noun: 'revocation'
}

/** The signed payload. Strict, bounded; exactly one target. */
export const revocationPayloadSchema = z.strictObject({
  v: z.literal(1),
  mesh: z.string().regex(MESH_NAME_RE),
  peerId: z.string().regex(PEER_ID_RE).nullable(),
  tokenId: z.string().regex(TOKEN_ID_RE).nullable(),
  revokedAt: unixMs,
  reason: z.string().max(MAX_REASON_CHARS).optional()
}).refine(r => (r.peerId === null) !== (r.tokenId === null), 'exactly one of peerId and tokenId must be set')

/** A verified revocation. */
export interface Revocation {
  readonly mesh: string
  readonly peerId: string | null
  readonly tokenId: string | null
  readonly revokedAt: number
  readonly reason: string | null
  /** `peer-<peerId>` or `token-<tokenId>`: one per target, the DHT key's last segment. */
  readonly id: string
  /** The exact signed envelope. */
  readonly bytes: Uint8Array
}

/** What to revoke: one peer, or every certificate a token issued. */
export type RevocationTarget = { peerId: string } | { tokenId: string }

/** createRevocation has the authority sign a revocation of `target`. */
export async function createRevocation (init: { authority: Ed25519PrivateKey, mesh: string, target: RevocationTarget, now: number, reason?: string }): Promise<Revocation> {
  const payload = parseSchema(revocationPayloadSchema, {
    v: 1,
    mesh: init.mesh,
    peerId: 'peerId' in init.target ? init.target.peerId : null,
    tokenId: 'tokenId' in init.target ? init.target.tokenId : null,
    revokedAt: init.now,
    ...(init.reason === undefined ? {} : { reason: init.reason })
  }, 'revocation-malformed', 'revocation')
  const bytes = await sealJson(REVOCATION_KIND, payload, init.authority)
  return revocationOf(payload, bytes)
}

/** encodeRevocation renders the `gmr1.…` string (public: safe to share and publish). */
export function encodeRevocation (rev: Pick<Revocation, 'bytes'>): string {
  return `${REVOCATION_PREFIX}.${toBase64url(rev.bytes)}`
}

/**
 * verifyRevocation accepts the envelope bytes or the `gmr1.` string and checks
 * it was sealed by `authority` for our mesh. Total: throws only RECORD_INVALID revocation-*.
 */
export async function verifyRevocation (input: Uint8Array | string, anchor: TrustAnchor): Promise<Revocation> {
  const bytes = typeof input === 'string' ? revocationBytes(input) : input
  const { signer, json } = await openJson(REVOCATION_KIND, bytes)
  if (!signer.equals(anchor.authority)) throw admissionInvalid('revocation-bad-signature', 'revocation is not signed by this mesh authority')
  const payload = parseSchema(revocationPayloadSchema, json, 'revocation-malformed', 'revocation')
  if (payload.mesh !== anchor.mesh) throw admissionInvalid('revocation-wrong-mesh', `revocation is for mesh ${payload.mesh}, not ${anchor.mesh}`)
  return revocationOf(payload, bytes)
}

/** revocationKey is the DHT key of a revocation: `/gridmesh/<mesh>/revocation/<id>`. */
export function revocationKey (mesh: string, id: string): string {
  return `/gridmesh/${mesh}/revocation/${id}`
}

/** parseRevocationKey returns the key's mesh and id; throws RECORD_INVALID revocation-malformed otherwise. */
export function parseRevocationKey (key: Uint8Array | string): { mesh: string, id: string } {
  let text = ''
  try {
    text = typeof key === 'string' ? key : new TextDecoder('utf-8', { fatal: true }).decode(key)
  } catch {}
  const m = /^\/gridmesh\/([a-z0-9][a-z0-9._-]{0,62})\/revocation\/((?:peer-[1-9A-HJ-NP-Za-km-z]{1,128})|(?:token-[0-9a-f]{32}))$/.exec(text)
  if (m === null || m[1] === undefined || m[2] === undefined) {
    throw admissionInvalid('revocation-malformed', 'not a /gridmesh/<mesh>/revocation/<peer-ID|token-ID> key')
  }
  return { mesh: m[1], id: m[2] }
}

/** The DHT / gossip / state-file form `<id>` of a revocation target. */
export function revocationIdOf (target: { peerId: string | null, tokenId: string | null }): string {
  return target.peerId !== null ? `peer-${target.peerId}` : `token-${target.tokenId ?? ''}`
}

function revocationBytes (text: string): Uint8Array {
  if (text.length > MAX_REVOCATION_CHARS) throw admissionInvalid('revocation-oversized', `revocation is ${text.length} chars`)
  const [prefix, body, extra] = text.trim().split('.')
  const bytes = prefix === REVOCATION_PREFIX && extra === undefined && body !== undefined ? fromBase64url(body) : null
  if (bytes === null) throw admissionInvalid('revocation-malformed', 'not a gmr1.<base64url> revocation')
  return bytes
}

function revocationOf (p: z.output<typeof revocationPayloadSchema>, bytes: Uint8Array): Revocation {
  return { mesh: p.mesh, peerId: p.peerId, tokenId: p.tokenId, revokedAt: p.revokedAt, reason: p.reason ?? null, id: revocationIdOf(p), bytes }
}

