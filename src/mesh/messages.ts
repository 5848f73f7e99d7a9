/**
 * Membership gossip messages on `/gridmesh/<mesh>/members/1`. Versioned JSON,
 * at most 8 KiB, schema-checked with unknown keys refused. The sender is
 * authenticated by gossipsub (StrictSign), the record inside by its own
 * envelope; this module only fixes the shape.
 *   announce: our signed record (base64) + an opaque link report, every heartbeat
 *   leave:    "I am leaving; my record seq is N", on graceful stop
 *   revoke:   a `gmr1.` revocation signed by the mesh authority (closed meshes),
 *             re-published at every start so late joiners learn it
 */
import { z } from 'zod'
import { MAX_RECORD_BYTES, recordInvalid } from './record.ts'

/** Hard cap on an encoded message; checked before parsing. */
export const MAX_MESSAGE_BYTES = 12 * 1024

/** topicFor names the membership topic of a mesh. */
export function membersTopic (mesh: string): string {
  return `/gridmesh/${mesh}/members/1`
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/

const announceSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('announce'),
  record: z.string().min(4).max(Math.ceil(MAX_RECORD_BYTES / 3) * 4).regex(B64_RE),
  links: z.unknown().optional()
})

const leaveSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('leave'),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
})

const revokeSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('revoke'),
  revocation: z.string().min(6).max(1500).regex(/^gmr1\.[A-Za-z0-9_-]+$/)
})

const messageSchema = z.discriminatedUnion('type', [announceSchema, leaveSchema, revokeSchema])

/** A parsed membership message. */
export type MemberMessage = z.infer<typeof messageSchema>

/** encodeMessage serialises a message; throws RECORD_INVALID 'oversized' past the cap. */
export function encodeMessage (msg: MemberMessage): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(msg))
  if (bytes.length > MAX_MESSAGE_BYTES) throw recordInvalid('oversized', `message is ${bytes.length} bytes > ${MAX_MESSAGE_BYTES}`)
  return bytes
}

/** decodeMessage is total: a message, or RECORD_INVALID with reason 'oversized' | 'malformed'. */
export function decodeMessage (bytes: Uint8Array): MemberMessage {
  if (bytes.length > MAX_MESSAGE_BYTES) throw recordInvalid('oversized', `message is ${bytes.length} bytes`)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw recordInvalid('malformed', 'message is not JSON', err)
  }
  const parsed = messageSchema.safeParse(json)
  if (!parsed.success) throw recordInvalid('malformed', `message: ${parsed.error.issues[0]?.message ?? 'schema'}`)
  return parsed.data
}

/** base64 helpers kept here so the record travels the same way everywhere. */
export function toBase64 (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/** fromBase64 decodes text already checked by the schema regex. */
export function fromBase64 (text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'))
}
