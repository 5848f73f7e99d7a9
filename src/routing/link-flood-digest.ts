/**
 * Anti-entropy for the link flood: two members compare "origin → version I
 * hold" (LinkFloodStore#heads). First a summary (one short hash of the whole
 * digest); only when the summaries differ, the digest itself, split into
 * parts that each fit MAX_LINK_FLOOD_BYTES. The side that is behind on an
 * origin then asks that origin for a snapshot (the origin's own signature
 * travels with it; a third party cannot forge it).
 *
 * Wire form: {v:1, t:'h', p:part, n:parts, h:[[origin, epoch, seq]…]}.
 */
import { z } from 'zod'
import { MAX_LINK_FLOOD_BYTES, floodInvalid } from './link-flood.ts'
import { MAX_PEER_ID_LENGTH } from './link-report.ts'
import type { FloodVersion } from './link-flood.ts'
import type { PeerIdString } from './types.ts'

/** One digest entry. */
export interface FloodHead { readonly origin: PeerIdString, readonly version: FloodVersion }

/** One part of a digest. */
export interface HeadsPart { readonly part: number, readonly parts: number, readonly heads: readonly FloodHead[] }

/** A digest never needs more parts than this (≈ 50 origins per KiB → 10,000+ members). */
export const MAX_HEADS_PARTS = 256

const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const headsSchema = z.strictObject({
  v: z.literal(1),
  t: z.literal('h'),
  p: z.number().int().min(0),
  n: z.number().int().min(1).max(MAX_HEADS_PARTS),
  h: z.array(z.tuple([z.string().min(1).max(MAX_PEER_ID_LENGTH).regex(/^[0-9A-Za-z]+$/), counter, counter]))
})

/**
 * headsSummary: a 64-bit FNV-1a hash (hex) of the sorted digest. Equal
 * summaries mean equal digests but for a 2^-64 accident; it only decides
 * whether to send the digest itself, so an accident costs one round's delay.
 */
export function headsSummary (heads: readonly FloodHead[]): string {
  let hi = 0xcbf29ce4 >>> 0
  let lo = 0x84222325 >>> 0
  const text = heads.map(h => `${h.origin}:${h.version.epoch}:${h.version.seq}`).join(',')
  for (let i = 0; i < text.length; i++) {
    lo ^= text.charCodeAt(i)
    // x * 0x100000001b3 over (hi, lo), keeping 64 bits.
    const loMul = lo * 0x1b3
    const carry = Math.floor(loMul / 0x100000000)
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) >>> 0
    lo = loMul >>> 0
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

/** headsMessages splits a digest into encoded parts that each fit the bound. */
export function headsMessages (heads: readonly FloodHead[]): Uint8Array[] {
  const frame = length({ v: 1, t: 'h', p: MAX_HEADS_PARTS - 1, n: MAX_HEADS_PARTS, h: [] })
  const chunks: FloodHead[][] = [[]]
  let bytes = frame
  for (const h of heads) {
    const entry = length([h.origin, h.version.epoch, h.version.seq])
    const current = chunks[chunks.length - 1] as FloodHead[]
    const added = current.length === 0 ? entry : entry + 1
    if (bytes + added > MAX_LINK_FLOOD_BYTES) { chunks.push([h]); bytes = frame + entry } else { current.push(h); bytes += added }
  }
  if (chunks.length > MAX_HEADS_PARTS) throw floodInvalid('oversized', `digest needs ${chunks.length} parts > ${MAX_HEADS_PARTS}`)
  return chunks.map((c, p) => new TextEncoder().encode(JSON.stringify({
    v: 1, t: 'h', p, n: chunks.length, h: c.map(h => [h.origin, h.version.epoch, h.version.seq])
  })))
}

/** decodeHeads is total: one checked digest part, or RECORD_INVALID ('oversized' | 'malformed'). */
export function decodeHeads (bytes: Uint8Array): HeadsPart {
  if (bytes.length > MAX_LINK_FLOOD_BYTES) throw floodInvalid('oversized', `digest part is ${bytes.length} bytes`)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw floodInvalid('malformed', 'digest part is not JSON', err)
  }
  const r = headsSchema.safeParse(json)
  if (!r.success || r.data.p >= r.data.n) throw floodInvalid('malformed', 'digest part does not match its schema')
  const seen = new Set<string>()
  for (const [origin] of r.data.h) {
    if (seen.has(origin)) throw floodInvalid('malformed', `digest lists ${origin} twice`)
    seen.add(origin)
  }
  return { part: r.data.p, parts: r.data.n, heads: r.data.h.map(([origin, epoch, seq]) => ({ origin, version: { epoch, seq } })) }
}

function length (value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length
}
