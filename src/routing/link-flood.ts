/**
 * Link state flooded on change only, as exceptions. In a full mesh every
 * direct link is assumed usable (RTT class 0) until its origin says
 * otherwise, so an origin's whole state is the small set of its links that
 * are down or have a non-default RTT class. It travels as per-origin,
 * sequence-numbered deltas ("my link to X: down / up with class c"); a
 * receiver that lost one asks for a snapshot (the whole exception set at a
 * seq, possibly in several parts). See link-flood-store.ts for the receiver.
 *
 * Wire form (JSON, unknown keys refused, at most MAX_LINK_FLOOD_BYTES):
 *   delta     {v:1, t:'d', o:origin, e:epoch, s:seq, c:[[to, down 0|1, class]…]}   c non-empty
 *   snapshot  {v:1, t:'s', o:origin, e:epoch, s:seq, p:part, n:parts, c:[…]}
 * `epoch` changes when the origin restarts without its seq (a new epoch
 * starts from the empty set at seq 0). What does not fit is an error
 * (RECORD_INVALID, reason 'oversized'), never a truncation: callers split
 * with `deltaMessages` / `snapshotMessages`, which always fit.
 */
import { z } from 'zod'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { MAX_RTT_CLASS } from './link-state.ts'
import { MAX_PEER_ID_LENGTH } from './link-report.ts'
import type { PeerIdString } from './types.ts'

/** Hard bound on one encoded flood message (fits a gossipsub frame with room to spare). */
export const MAX_LINK_FLOOD_BYTES = 4 * 1024
/** A snapshot never needs more parts than this (1,000+ exceptions of the longest PeerIds). */
export const MAX_SNAPSHOT_PARTS = 64

/** An origin's non-default view of one link; the default (absent) is "up, class 0". */
export interface LinkException { readonly down: boolean, readonly rttClass: number }

/** One change: the new state of origin→to. `down: false, rttClass: 0` means "back to default". */
export interface LinkChange extends LinkException { readonly to: PeerIdString }

/** The position of an origin's state: restarts bump epoch, every change bumps seq. */
export interface FloodVersion { readonly epoch: number, readonly seq: number }

export interface LinkDelta extends FloodVersion {
  readonly kind: 'delta'
  readonly origin: PeerIdString
  readonly changes: readonly LinkChange[]
}

/** Part `part` of `parts` of the origin's full exception set at (epoch, seq). */
export interface LinkSnapshotPart extends FloodVersion {
  readonly kind: 'snapshot'
  readonly origin: PeerIdString
  readonly part: number
  readonly parts: number
  readonly changes: readonly LinkChange[]
}

export type LinkFloodMessage = LinkDelta | LinkSnapshotPart

const peerId = z.string().min(1).max(MAX_PEER_ID_LENGTH).regex(/^[0-9A-Za-z]+$/, 'not a PeerId string')
const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const change = z.tuple([peerId, z.union([z.literal(0), z.literal(1)]), z.number().int().min(0).max(MAX_RTT_CLASS)])
const deltaSchema = z.strictObject({ v: z.literal(1), t: z.literal('d'), o: peerId, e: counter, s: counter.min(1), c: z.array(change).min(1) })
const snapshotSchema = z.strictObject({
  v: z.literal(1), t: z.literal('s'), o: peerId, e: counter, s: counter,
  p: z.number().int().min(0), n: z.number().int().min(1).max(MAX_SNAPSHOT_PARTS), c: z.array(change)
})
const messageSchema = z.discriminatedUnion('t', [deltaSchema, snapshotSchema])

/** compareVersions orders (epoch, seq) pairs: negative when a is older. */
export function compareVersions (a: FloodVersion, b: FloodVersion): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.seq - b.seq
}

/** isDefaultLink: the state nobody floods (usable, class 0). */
export function isDefaultLink (l: LinkException): boolean {
  return !l.down && l.rttClass === 0
}

/** encodeLinkFlood serialises one message; throws RECORD_INVALID ('oversized' | 'malformed'), never truncates. */
export function encodeLinkFlood (msg: LinkFloodMessage): Uint8Array {
  checkChanges(msg.origin, msg.changes)
  const bytes = new TextEncoder().encode(JSON.stringify(wireOf(msg)))
  if (bytes.length > MAX_LINK_FLOOD_BYTES) {
    throw floodInvalid('oversized', `link flood message is ${bytes.length} bytes > ${MAX_LINK_FLOOD_BYTES}; split it (deltaMessages/snapshotMessages)`)
  }
  return bytes
}

/** decodeLinkFlood is total: a checked message, or RECORD_INVALID with reason 'oversized' | 'malformed'. */
export function decodeLinkFlood (bytes: Uint8Array): LinkFloodMessage {
  if (bytes.length > MAX_LINK_FLOOD_BYTES) throw floodInvalid('oversized', `link flood message is ${bytes.length} bytes`)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw floodInvalid('malformed', 'link flood message is not JSON', err)
  }
  const r = messageSchema.safeParse(json)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw floodInvalid('malformed', `link flood message${issue === undefined ? '' : ` at ${issue.path.join('.') || '(root)'}: ${issue.message}`}`)
  }
  const w = r.data
  const changes = w.c.map(([to, down, rttClass]) => ({ to, down: down === 1, rttClass }))
  checkChanges(w.o, changes)
  if (w.t === 'd') return { kind: 'delta', origin: w.o, epoch: w.e, seq: w.s, changes }
  if (w.p >= w.n) throw floodInvalid('malformed', `snapshot part ${w.p} of ${w.n}`)
  return { kind: 'snapshot', origin: w.o, epoch: w.e, seq: w.s, part: w.p, parts: w.n, changes }
}

/**
 * deltaMessages splits `changes` into as many deltas as needed to fit,
 * numbered firstSeq, firstSeq+1, … (each applies on top of the previous).
 */
export function deltaMessages (origin: PeerIdString, epoch: number, firstSeq: number, changes: readonly LinkChange[]): LinkDelta[] {
  // Sized with the largest seq any chunk can get, so every chunk fits whatever its number.
  const widest: LinkDelta = { kind: 'delta', origin, epoch, seq: firstSeq + changes.length, changes: [] }
  return chunkChanges(changes, encodedLength(wireOf(widest)))
    .map((changes, i) => ({ kind: 'delta', origin, epoch, seq: firstSeq + i, changes }))
}

/** snapshotMessages renders a full exception set at (epoch, seq) as parts that each fit. */
export function snapshotMessages (origin: PeerIdString, version: FloodVersion, exceptions: ReadonlyMap<PeerIdString, LinkException>): LinkSnapshotPart[] {
  const all = [...exceptions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([to, l]) => ({ to, down: l.down, rttClass: l.down ? 0 : l.rttClass }))
  const widest: LinkSnapshotPart = { kind: 'snapshot', origin, ...version, part: MAX_SNAPSHOT_PARTS - 1, parts: MAX_SNAPSHOT_PARTS, changes: [] }
  const chunks = all.length === 0 ? [[]] : chunkChanges(all, encodedLength(wireOf(widest)))
  if (chunks.length > MAX_SNAPSHOT_PARTS) throw floodInvalid('oversized', `snapshot needs ${chunks.length} parts > ${MAX_SNAPSHOT_PARTS}`)
  return chunks.map((changes, part) => ({ kind: 'snapshot', origin, ...version, part, parts: chunks.length, changes }))
}

/**
 * chunkChanges packs changes greedily, in order, into groups whose message
 * fits: a message is its empty frame (`frameBytes`, with `"c":[]`) plus each
 * entry's JSON and a comma between entries.
 */
function chunkChanges (changes: readonly LinkChange[], frameBytes: number): LinkChange[][] {
  const chunks: LinkChange[][] = []
  let current: LinkChange[] = []
  let bytes = frameBytes
  for (const ch of changes) {
    const entry = encodedLength([ch.to, ch.down ? 1 : 0, ch.rttClass])
    if (frameBytes + entry > MAX_LINK_FLOOD_BYTES) throw floodInvalid('oversized', 'one link change does not fit a message')
    const added = current.length === 0 ? entry : entry + 1
    if (bytes + added > MAX_LINK_FLOOD_BYTES) { chunks.push(current); current = []; bytes = frameBytes + entry } else bytes += added
    current.push(ch)
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

function encodedLength (value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length
}

function wireOf (msg: LinkFloodMessage): Record<string, unknown> {
  const c = msg.changes.map(ch => [ch.to, ch.down ? 1 : 0, ch.rttClass])
  return msg.kind === 'delta'
    ? { v: 1, t: 'd', o: msg.origin, e: msg.epoch, s: msg.seq, c }
    : { v: 1, t: 's', o: msg.origin, e: msg.epoch, s: msg.seq, p: msg.part, n: msg.parts, c }
}

/** checkChanges: no self-link, one change per target, down links carry class 0 (one spelling per state). */
function checkChanges (origin: PeerIdString, changes: readonly LinkChange[]): void {
  const seen = new Set<string>()
  for (const ch of changes) {
    if (ch.to === origin) throw floodInvalid('malformed', 'a link change may not name its own origin')
    if (seen.has(ch.to)) throw floodInvalid('malformed', `two changes for the link to ${ch.to}`)
    if (ch.down && ch.rttClass !== 0) throw floodInvalid('malformed', 'a down link carries rtt class 0')
    seen.add(ch.to)
  }
}

/** floodInvalid: the error every refusal here throws (same code and reasons as records, so one metric counts them). */
export function floodInvalid (reason: 'oversized' | 'malformed', message: string, cause?: unknown): GridmeshError<{ reason: string }> {
  return new GridmeshError(ErrorCodes.RECORD_INVALID, `invalid link flood: ${message}`, { reason }, cause === undefined ? undefined : { cause })
}

/**
 * LinkFloodOrigin is the sending side: it holds the exception set this node
 * has published and turns each new view of its links into the deltas that
 * move every receiver from the old set to the new one. Nothing is produced
 * when nothing that routes changed.
 */
export class LinkFloodOrigin {
  private readonly published = new Map<PeerIdString, LinkException>()
  private seq = 0
  readonly origin: PeerIdString
  readonly epoch: number

  constructor (origin: PeerIdString, epoch: number) {
    this.origin = origin
    this.epoch = epoch
  }

  get version (): FloodVersion { return { epoch: this.epoch, seq: this.seq } }

  /** exceptions: what receivers hold for us once they are up to date. */
  exceptions (): ReadonlyMap<PeerIdString, LinkException> { return this.published }

  /** update takes our full current view (links absent from it are default) and returns the deltas to flood. */
  update (view: ReadonlyMap<PeerIdString, LinkException>): LinkDelta[] {
    const changes: LinkChange[] = []
    for (const [to, raw] of view) {
      if (to === this.origin) continue
      const next = raw.down ? { down: true, rttClass: 0 } : { down: false, rttClass: raw.rttClass }
      const prev = this.published.get(to) ?? { down: false, rttClass: 0 }
      if (prev.down !== next.down || prev.rttClass !== next.rttClass) changes.push({ to, ...next })
    }
    for (const to of this.published.keys()) if (!view.has(to)) changes.push({ to, down: false, rttClass: 0 })
    if (changes.length === 0) return []
    changes.sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0))
    const deltas = deltaMessages(this.origin, this.epoch, this.seq + 1, changes)
    for (const d of deltas) applyChanges(this.published, d.changes)
    this.seq += deltas.length
    return deltas
  }

  /** snapshot: our whole exception set at our current version, for a receiver that fell behind. */
  snapshot (): LinkSnapshotPart[] {
    return snapshotMessages(this.origin, this.version, this.published)
  }
}

/** applyChanges folds changes into an exception set (a change back to default removes the entry). */
export function applyChanges (into: Map<PeerIdString, LinkException>, changes: readonly LinkChange[]): void {
  for (const ch of changes) {
    if (isDefaultLink(ch)) into.delete(ch.to)
    else into.set(ch.to, { down: ch.down, rttClass: ch.rttClass })
  }
}
