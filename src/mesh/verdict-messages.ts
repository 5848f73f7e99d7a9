/**
 * Wire form of liveness verdicts (verdict.ts), flooded on the members topic.
 * Strict JSON, unknown keys refused, at most MAX_VERDICT_BYTES. Who sent it
 * comes from gossipsub's authenticated `from`, never from the message: an
 * accusation names only its target, and `alive` / `leave` name nobody (their
 * target is the sender).
 *
 *   {v:1, t:'suspect' | 'confirm', target, inc}   by a watcher of `target`
 *   {v:1, t:'alive' | 'leave', inc}               by the member itself
 */
import { z } from 'zod'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import type { VerdictEvent } from './verdict.ts'
import type { PeerIdString } from '../keys/types.ts'

/** Hard cap on an encoded verdict; checked before parsing. */
export const MAX_VERDICT_BYTES = 256

const inc = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const peerId = z.string().min(1).max(128).regex(/^[0-9A-Za-z]+$/, 'not a PeerId string')
const accusation = z.strictObject({ v: z.literal(1), t: z.enum(['suspect', 'confirm']), target: peerId, inc })
const own = z.strictObject({ v: z.literal(1), t: z.enum(['alive', 'leave']), inc })
const schema = z.union([accusation, own])

/** A verdict message as sent. */
export type VerdictMessage = z.infer<typeof schema>

/** A received verdict: which member it is about, and the reducer event. */
export interface ReceivedVerdict { readonly target: PeerIdString, readonly event: VerdictEvent }

/** encodeVerdict serialises a message (always far below the cap; checked anyway). */
export function encodeVerdict (msg: VerdictMessage): Uint8Array {
  const parsed = schema.safeParse(msg)
  if (!parsed.success) throw verdictInvalid('malformed', 'verdict message does not match its schema')
  const bytes = new TextEncoder().encode(JSON.stringify(parsed.data))
  if (bytes.length > MAX_VERDICT_BYTES) throw verdictInvalid('oversized', `verdict is ${bytes.length} bytes > ${MAX_VERDICT_BYTES}`)
  return bytes
}

/**
 * decodeVerdict is total: the event for the verdict reducer, or
 * RECORD_INVALID ('oversized' | 'malformed'). `from` is the authenticated
 * publisher; `at` the receiver's clock.
 */
export function decodeVerdict (bytes: Uint8Array, from: PeerIdString, at: number): ReceivedVerdict {
  if (bytes.length > MAX_VERDICT_BYTES) throw verdictInvalid('oversized', `verdict is ${bytes.length} bytes`)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw verdictInvalid('malformed', 'verdict is not JSON', err)
  }
  const r = schema.safeParse(json)
  if (!r.success) throw verdictInvalid('malformed', 'verdict does not match its schema')
  const m = r.data
  if (!('target' in m)) return { target: from, event: { type: m.t, incarnation: m.inc, at } }
  if (m.target === from) throw verdictInvalid('malformed', 'a member cannot accuse itself')
  return { target: m.target, event: { type: m.t, incarnation: m.inc, by: from, at } }
}

function verdictInvalid (reason: 'oversized' | 'malformed', message: string, cause?: unknown): GridmeshError<{ reason: string }> {
  return new GridmeshError(ErrorCodes.RECORD_INVALID, `invalid verdict: ${message}`, { reason }, cause === undefined ? undefined : { cause })
}
