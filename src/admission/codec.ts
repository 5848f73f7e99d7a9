/**
 * Shared encoding for admission objects (join tokens, membership
 * certificates, revocations): strict base64url, the rejection vocabulary,
 * and libp2p signed envelopes with one domain string per object type.
 *
 * Why envelopes: the signature covers the domain string, the payload type and
 * the payload (RFC 0002), so a token signature can never be replayed as a
 * certificate, a revocation or a node record, even though the same Ed25519
 * key type signs all of them. Every decoder here is total: it returns checked
 * data or throws GridmeshError RECORD_INVALID with `meta.reason` from
 * ADMISSION_REJECT_REASONS, never anything else.
 */
import { RecordEnvelope } from '@libp2p/peer-record'
import { z } from 'zod'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import type { Ed25519PrivateKey, PrivateKey, PublicKey, Record as Libp2pRecord } from '@libp2p/interface'

/** Why an admission object was refused. Fixed set: these label metrics and tests. */
export const ADMISSION_REJECT_REASONS = [
  'cert-malformed', 'cert-oversized', 'cert-bad-signature', 'cert-wrong-mesh', 'cert-expired',
  'cert-not-yet-valid', 'cert-ttl-too-long',
  'token-malformed', 'token-oversized', 'token-bad-signature', 'token-wrong-mesh', 'token-expired',
  'token-wrong-peer',
  'redemption-malformed', 'redemption-oversized', 'redemption-bad-signature', 'membership-ended',
  'revoked',
  'revocation-malformed', 'revocation-oversized', 'revocation-bad-signature', 'revocation-wrong-mesh'
] as const
/** One of ADMISSION_REJECT_REASONS. */
export type AdmissionRejectReason = typeof ADMISSION_REJECT_REASONS[number]

/** The metadata every admission RECORD_INVALID error carries. */
export interface AdmissionInvalidMeta { reason: AdmissionRejectReason, [key: string]: unknown }

/** admissionInvalid builds the one error type every admission check throws. */
export function admissionInvalid (reason: AdmissionRejectReason, message: string, cause?: unknown): GridmeshError<AdmissionInvalidMeta> {
  return new GridmeshError<AdmissionInvalidMeta>(ErrorCodes.RECORD_INVALID, message, { reason },
    cause === undefined ? undefined : { cause })
}

/** Mesh names as the config accepts them (src/config/schema.ts); no ':' or '/', so they embed in ids and DHT keys. */
export const MESH_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/
/** A base58btc PeerId string, bounded. Ownership is proven by the node record's signature, not here. */
export const PEER_ID_RE = /^[1-9A-HJ-NP-Za-km-z]{1,128}$/
/** A token id: 16 random bytes, lowercase hex. */
export const TOKEN_ID_RE = /^[0-9a-f]{32}$/
/** A unix-ms timestamp or duration field. */
export const unixMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

const BASE64URL_RE = /^[A-Za-z0-9_-]*$/

/** toBase64url encodes bytes without padding. */
export function toBase64url (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/**
 * fromBase64url decodes strict, canonical, unpadded base64url, or returns
 * null. Node's decoder skips junk characters; the re-encode check makes one
 * value have exactly one spelling.
 */
export function fromBase64url (s: string): Uint8Array | null {
  if (!BASE64URL_RE.test(s) || s.length % 4 === 1) return null
  const bytes = Buffer.from(s, 'base64url')
  if (bytes.toString('base64url') !== s) return null
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** What one admission object type signs under: its domain string and payload type. */
export interface EnvelopeKind {
  readonly domain: string
  readonly codec: Uint8Array
  readonly maxBytes: number
  readonly malformed: AdmissionRejectReason
  readonly oversized: AdmissionRejectReason
  readonly badSignature: AdmissionRejectReason
  /** Names the object in messages: "membership certificate". */
  readonly noun: string
}

/** The libp2p `Record` adapter RecordEnvelope.seal needs. */
class PayloadRecord implements Libp2pRecord {
  readonly domain: string
  readonly codec: Uint8Array
  readonly #bytes: Uint8Array
  constructor (domain: string, codec: Uint8Array, bytes: Uint8Array) {
    this.domain = domain
    this.codec = codec
    this.#bytes = bytes
  }

  marshal (): Uint8Array { return this.#bytes }
  equals (other: Libp2pRecord): boolean { return sameBytes(other.marshal(), this.#bytes) }
}

/** sealJson signs `payload` (JSON) under `kind` and returns the envelope bytes; refuses to exceed the cap. */
export async function sealJson (kind: EnvelopeKind, payload: object, key: PrivateKey): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify(payload))
  const bytes = (await RecordEnvelope.seal(new PayloadRecord(kind.domain, kind.codec, json), key)).marshal()
  if (bytes.length > kind.maxBytes) throw admissionInvalid(kind.oversized, `${kind.noun} is ${bytes.length} bytes > ${kind.maxBytes}`)
  return bytes
}

/** An opened envelope: who signed it and the JSON it carries (not yet schema-checked). */
export interface OpenedEnvelope { readonly signer: PublicKey, readonly json: unknown }

/**
 * openJson checks size (before any decoding), canonical protobuf (so trailing
 * garbage or re-encodings are refused), payload type, an Ed25519 signer and
 * the signature under `kind.domain`, then parses the payload as JSON.
 * Who the signer must be is the caller's business.
 */
export async function openJson (kind: EnvelopeKind, bytes: unknown): Promise<OpenedEnvelope> {
  if (!(bytes instanceof Uint8Array)) throw admissionInvalid(kind.malformed, `${kind.noun} is not bytes`)
  if (bytes.length > kind.maxBytes) throw admissionInvalid(kind.oversized, `${kind.noun} is ${bytes.length} bytes > ${kind.maxBytes}`)
  let envelope: RecordEnvelope
  try {
    envelope = RecordEnvelope.createFromProtobuf(bytes)
    if (!sameBytes(envelope.marshal(), bytes)) throw new Error('non-canonical encoding or trailing bytes')
  } catch (err) {
    throw admissionInvalid(kind.malformed, `${kind.noun} is not a canonical signed envelope`, err)
  }
  if (!sameBytes(envelope.payloadType, kind.codec)) throw admissionInvalid(kind.malformed, `${kind.noun} has an unexpected payload type`)
  if (envelope.publicKey.type !== 'Ed25519') throw admissionInvalid(kind.badSignature, `${kind.noun} is not signed by an Ed25519 key`)
  let valid = false
  try {
    valid = await envelope.validate(kind.domain)
  } catch (err) {
    throw admissionInvalid(kind.badSignature, `${kind.noun} signature check failed`, err)
  }
  if (!valid) throw admissionInvalid(kind.badSignature, `${kind.noun} signature does not verify`)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(envelope.payload))
  } catch (err) {
    throw admissionInvalid(kind.malformed, `${kind.noun} payload is not JSON`, err)
  }
  return { signer: envelope.publicKey, json }
}

/** parseSchema applies a strict zod schema, mapping failure to `reason`. */
export function parseSchema<T> (schema: z.ZodType<T>, json: unknown, reason: AdmissionRejectReason, noun: string): T {
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `
    throw admissionInvalid(reason, `${noun}: ${where}${issue?.message ?? 'schema'}`)
  }
  return parsed.data
}

/** sameBytes compares two byte arrays. */
export function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export { decodeEd25519PrivateKey } from '../keys/ed25519-key.ts'
