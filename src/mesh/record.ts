/**
 * The node record: what a node tells the mesh about itself (WireGuard key,
 * UDP endpoints, libp2p addresses, claimed /64, seq, expiry), sealed in a
 * libp2p signed envelope by the node's PeerId key under a gridmesh-only
 * domain. `decodeRecord` is total: any input either yields a fully checked
 * record or throws GridmeshError RECORD_INVALID with a reason from a fixed set,
 * so callers (DHT validator, gossip validator, metrics) can count and branch.
 */
import { RecordEnvelope } from '@libp2p/peer-record'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { z } from 'zod'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { parseEndpoint } from './endpoint.ts'
import { ADMISSION_REJECT_REASONS } from '../admission/codec.ts'
import { parseIpv6Prefix, prefixLength, type Ipv6Prefix } from '../net/prefix.ts'
import type { PrivateKey, Record as Libp2pRecord } from '@libp2p/interface'
import type { WgPublicKey } from '../keys/types.ts'

/** Domain-separation string: a signature over a record can't be replayed as another libp2p envelope. */
export const RECORD_DOMAIN = 'gridmesh-node-record'
/** Envelope payload type (codec) of a node record. */
export const RECORD_CODEC = new TextEncoder().encode('/gridmesh/node-record/1')
/**
 * Largest envelope we even try to parse; checked before any decoding. 4 KiB
 * because a closed mesh embeds the membership certificate (itself up to
 * MAX_CERT_BYTES = 2 KiB, base64url-inflated by 4/3) next to the ~1 KiB of
 * endpoints and addrs an open-mesh record already needed.
 */
export const MAX_RECORD_BYTES = 4096
/** How far in the future expiresAt may be: bounds how long a leaked record stays usable. */
export const MAX_RECORD_TTL_MS = 24 * 60 * 60 * 1000

/** Why a record (or a message carrying one) was refused. Fixed set: these label metrics. */
export const RECORD_REJECT_REASONS = [
  'oversized', 'malformed', 'bad-signature', 'wrong-type', 'wrong-peer',
  'wrong-mesh', 'expired', 'too-far-future', 'stale-seq', 'bad-key',
  // Closed meshes: no certificate, or one that names another key/prefix/peer than its record.
  'cert-missing', 'cert-mismatch',
  // A WireGuard key another member (or this node) already holds: one key, one member (issue 19, attack 1).
  'wg-key-taken',
  ...ADMISSION_REJECT_REASONS
] as const
/** One of RECORD_REJECT_REASONS. */
export type RecordRejectReason = typeof RECORD_REJECT_REASONS[number]

/** The metadata every RECORD_INVALID error carries. */
export interface RecordInvalidMeta { reason: RecordRejectReason, [key: string]: unknown }

/** recordInvalid builds the one error type every check here throws. */
export function recordInvalid (reason: RecordRejectReason, message: string, cause?: unknown): GridmeshError<RecordInvalidMeta> {
  return new GridmeshError<RecordInvalidMeta>(ErrorCodes.RECORD_INVALID, `invalid node record: ${message}`,
    { reason }, cause === undefined ? undefined : { cause })
}

const WG_KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/ // 44 chars ⇔ exactly 32 bytes
const MESH_RE = /^[A-Za-z0-9._-]{1,64}$/ // no '/': the mesh is a DHT key segment
const MULTIADDR_RE = /^\/[A-Za-z0-9./:_-]{1,254}$/

/**
 * Canonical only (RFC 5952, host bits zero), as in certificates: owners, the
 * collision rule and allowed-ips compare prefixes as strings, so another
 * spelling of a member's /64 (`…:12:0::/64`) must not count as another /64.
 */
const prefixSchema = z.string().max(43).refine(s => {
  try { return parseIpv6Prefix(s, ErrorCodes.RECORD_INVALID) === s && prefixLength(s as Ipv6Prefix) === 64 } catch { return false }
}, 'prefix must be a canonical IPv6 /64')

/** The signed payload schema. Strict: unknown keys are refused, every string and array is bounded. */
export const recordPayloadSchema = z.strictObject({
  v: z.literal(1),
  mesh: z.string().regex(MESH_RE),
  peerId: z.string().min(1).max(128),
  wgPublicKey: z.string().regex(WG_KEY_RE),
  endpoints: z.array(z.string().refine(s => parseEndpoint(s) !== null, 'endpoint must be unicast ip:port')).min(1).max(8),
  addrs: z.array(z.string().regex(MULTIADDR_RE)).max(8),
  prefix: prefixSchema,
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  expiresAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Closed meshes: base64url of the membership certificate (open meshes ignore it). */
  cert: z.string().min(1).max(2800).regex(/^[A-Za-z0-9_-]+$/).optional()
})

/** What a node signs about itself (plain JSON types, as written). */
export type NodeRecordPayload = z.input<typeof recordPayloadSchema>

/** A record that passed every check; domain types are branded. */
export interface NodeRecord extends Readonly<Omit<NodeRecordPayload, 'wgPublicKey' | 'prefix' | 'endpoints' | 'addrs'>> {
  readonly wgPublicKey: WgPublicKey
  readonly prefix: Ipv6Prefix
  readonly endpoints: readonly string[]
  readonly addrs: readonly string[]
}

/** Options of decodeRecord: what the record must agree with. */
export interface DecodeOptions {
  /** Our mesh: a record for another mesh is refused. */
  mesh: string
  /** Current unix ms (injected clock). */
  now: number
  /** When known (DHT key, gossip sender), the PeerId the record must belong to. */
  expectedPeerId?: string
  /**
   * Extra admission check run on a record that passed every check above
   * (closed meshes: the certificate). Throws RECORD_INVALID with a reason.
   */
  admit?: RecordAdmission
}

/** A closed-mesh check on an otherwise valid record; see src/mesh/record-admission.ts. */
export type RecordAdmission = (record: NodeRecord, now: number) => Promise<void>

/** The libp2p `Record` adapter RecordEnvelope.seal needs. */
class PayloadRecord implements Libp2pRecord {
  readonly domain = RECORD_DOMAIN
  readonly codec = RECORD_CODEC
  private readonly bytes: Uint8Array
  constructor (bytes: Uint8Array) { this.bytes = bytes }
  marshal (): Uint8Array { return this.bytes }
  equals (other: Libp2pRecord): boolean {
    const o = other.marshal()
    return o.length === this.bytes.length && o.every((b, i) => b === this.bytes[i])
  }
}

/**
 * encodeRecord checks and seals a payload with the node's key. It refuses to
 * produce what every peer would refuse (schema, size), so a bad config fails
 * here, loudly, instead of silently vanishing from the mesh.
 */
export async function encodeRecord (payload: NodeRecordPayload, privateKey: PrivateKey): Promise<Uint8Array> {
  const parsed = recordPayloadSchema.safeParse(payload)
  if (!parsed.success) throw recordInvalid('malformed', `payload: ${parsed.error.issues[0]?.message ?? 'schema'}`)
  const json = new TextEncoder().encode(JSON.stringify(parsed.data))
  const envelope = await RecordEnvelope.seal(new PayloadRecord(json), privateKey)
  const bytes = envelope.marshal()
  if (bytes.length > MAX_RECORD_BYTES) throw recordInvalid('oversized', `${bytes.length} bytes > ${MAX_RECORD_BYTES}`)
  return bytes
}

/** decodeRecord opens, verifies and checks a record; throws RECORD_INVALID (meta.reason) on any failure. */
export async function decodeRecord (bytes: Uint8Array, opts: DecodeOptions): Promise<NodeRecord> {
  if (!(bytes instanceof Uint8Array)) throw recordInvalid('malformed', 'not bytes')
  if (bytes.length > MAX_RECORD_BYTES) throw recordInvalid('oversized', `${bytes.length} bytes > ${MAX_RECORD_BYTES}`)
  const envelope = await openEnvelope(bytes)
  if (!sameBytes(envelope.payloadType, RECORD_CODEC)) throw recordInvalid('wrong-type', 'unexpected payload type')
  const payload = parsePayload(envelope.payload)
  const signer = signerOf(envelope)
  if (payload.peerId !== signer) throw recordInvalid('wrong-peer', 'signer is not the record peerId')
  if (opts.expectedPeerId !== undefined && payload.peerId !== opts.expectedPeerId) {
    throw recordInvalid('wrong-peer', 'record belongs to another peer')
  }
  if (payload.mesh !== opts.mesh) throw recordInvalid('wrong-mesh', 'record is for another mesh')
  if (payload.expiresAt <= opts.now) throw recordInvalid('expired', 'record expired')
  if (payload.expiresAt > opts.now + MAX_RECORD_TTL_MS) throw recordInvalid('too-far-future', 'expiresAt too far ahead')
  // The schema checked both shapes; this is the one place the brands are applied.
  const record: NodeRecord = { ...payload, wgPublicKey: payload.wgPublicKey as WgPublicKey, prefix: payload.prefix as Ipv6Prefix }
  if (opts.admit !== undefined) await opts.admit(record, opts.now)
  return record
}

/** openEnvelope maps every protobuf/key/signature failure to a reason. */
async function openEnvelope (bytes: Uint8Array): Promise<RecordEnvelope> {
  let envelope: RecordEnvelope
  try {
    envelope = RecordEnvelope.createFromProtobuf(bytes)
  } catch (err) {
    throw recordInvalid('malformed', 'not a signed envelope', err)
  }
  let valid = false
  try {
    valid = await envelope.validate(RECORD_DOMAIN)
  } catch (err) {
    throw recordInvalid('bad-signature', 'signature check failed', err)
  }
  if (!valid) throw recordInvalid('bad-signature', 'signature does not verify for the gridmesh domain')
  return envelope
}

function signerOf (envelope: RecordEnvelope): string {
  try {
    return peerIdFromPublicKey(envelope.publicKey).toString()
  } catch (err) {
    throw recordInvalid('bad-signature', 'unusable signer key', err)
  }
}

function parsePayload (bytes: Uint8Array): NodeRecordPayload {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw recordInvalid('malformed', 'payload is not JSON', err)
  }
  const parsed = recordPayloadSchema.safeParse(json)
  if (!parsed.success) throw recordInvalid('malformed', `payload: ${parsed.error.issues[0]?.message ?? 'schema'}`)
  return parsed.data
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
