/**
 * Node records in the DHT: the key layout, the kad-dht validator (with replay
 * protection against the highest seq we accepted) and the selector (highest
 * valid seq). kad-dht picks both by the key's first path segment, `gridmesh`.
 */
import { decodeRecord, recordInvalid, RECORD_REJECT_REASONS } from './record.ts'
import { parseRevocationKey, verifyRevocation } from '../admission/revocation.ts'
import { isGridmeshError } from '../errors.ts'
import type { NodeRecord, RecordAdmission, RecordRejectReason } from './record.ts'
import type { TrustAnchor } from '../admission/token.ts'

/** The key namespace kad-dht dispatches on (`/gridmesh/...`). */
export const DHT_NAMESPACE = 'gridmesh'

/** An injectable clock: anything that decides on time reads it here. */
export interface Clock { now: () => number }

/** recordKey is the DHT key of a node's record: `/gridmesh/<mesh>/node/<peerId>`. */
export function recordKey (mesh: string, peerId: string): string {
  return `/${DHT_NAMESPACE}/${mesh}/node/${peerId}`
}

/** parseRecordKey returns the key's mesh and PeerId; throws RECORD_INVALID 'bad-key' otherwise. */
export function parseRecordKey (key: Uint8Array | string): { mesh: string, peerId: string } {
  let text: string
  try {
    text = typeof key === 'string' ? key : new TextDecoder('utf-8', { fatal: true }).decode(key)
  } catch (err) {
    throw recordInvalid('bad-key', 'key is not UTF-8', err)
  }
  const parts = text.split('/')
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== DHT_NAMESPACE || parts[3] !== 'node' ||
      parts[2] === '' || parts[4] === '' || text.length > 256) {
    throw recordInvalid('bad-key', 'not a /gridmesh/<mesh>/node/<peerId> key')
  }
  return { mesh: parts[2] ?? '', peerId: parts[4] ?? '' }
}

/** Everything the validator needs; `highWater` is the highest seq accepted per peer (0 if none). */
export interface RecordValidatorInit {
  mesh: string
  clock: Clock
  highWater: (peerId: string) => number
  /** Closed meshes: the certificate check (see record-admission.ts). */
  admit?: RecordAdmission
  /** Closed meshes: the authority that signs revocations; without it revocation keys are refused. */
  anchor?: TrustAnchor
  /**
   * Told the reason of every value refused (a PUT from a peer, a GET answer,
   * our own datastore): kad-dht swallows the error, so without this a forged,
   * replayed or oversized PUT would leave no trace in the counters. Must not throw.
   */
  onReject?: (reason: RecordRejectReason) => void
}

/** isRevocationKey: does the key live under `/gridmesh/<mesh>/revocation/`? */
export function isRevocationKey (key: Uint8Array | string): boolean {
  const text = typeof key === 'string' ? key : new TextDecoder().decode(key)
  return text.split('/')[3] === 'revocation'
}

/** validateRevocationValue: a revocation key holds a revocation the authority signed, for that key's mesh and id. */
async function validateRevocationValue (key: Uint8Array, value: Uint8Array, mesh: string, anchor: TrustAnchor | undefined): Promise<void> {
  if (anchor === undefined) throw recordInvalid('bad-key', 'open mesh: no revocations')
  const k = parseRevocationKey(key)
  if (k.mesh !== mesh) throw recordInvalid('wrong-mesh', 'key is for another mesh')
  const rev = await verifyRevocation(value, anchor)
  if (rev.id !== k.id) throw recordInvalid('bad-key', 'revocation stored under another id')
}

/**
 * createRecordValidator returns the kad-dht validator. It runs on every PUT we
 * receive and every value a GET returns, so a replayed older record (seq below
 * what we already accepted for that peer) is refused in both directions.
 * Every refusal's reason goes to `onReject` (the daemon's rejection counters).
 */
export function createRecordValidator (init: RecordValidatorInit): (key: Uint8Array, value: Uint8Array) => Promise<void> {
  const validate = validatorOf(init)
  if (init.onReject === undefined) return validate
  const onReject = init.onReject
  return async (key, value) => {
    try {
      await validate(key, value)
    } catch (err) {
      const reason = isGridmeshError(err) ? err.meta?.reason : undefined
      if (isRejectReason(reason)) {
        try { onReject(reason) } catch { /* a counter must never turn a refusal into another error */ }
      }
      throw err
    }
  }
}

function isRejectReason (r: unknown): r is RecordRejectReason {
  return typeof r === 'string' && (RECORD_REJECT_REASONS as readonly string[]).includes(r)
}

function validatorOf (init: RecordValidatorInit): (key: Uint8Array, value: Uint8Array) => Promise<void> {
  return async (key, value) => {
    if (isRevocationKey(key)) { await validateRevocationValue(key, value, init.mesh, init.anchor); return }
    const { mesh, peerId } = parseRecordKey(key)
    if (mesh !== init.mesh) throw recordInvalid('wrong-mesh', 'key is for another mesh')
    const record = await decodeRecord(value, {
      mesh: init.mesh, now: init.clock.now(), expectedPeerId: peerId, ...(init.admit === undefined ? {} : { admit: init.admit })
    })
    if (record.seq < init.highWater(peerId)) throw recordInvalid('stale-seq', 'seq below the highest accepted')
  }
}

/**
 * createRecordSelector returns the kad-dht selector: index of the valid record
 * with the highest seq. Revocation keys: any valid one (they are equivalent).
 */
export function createRecordSelector (init: { mesh: string, clock: Clock, admit?: RecordAdmission, anchor?: TrustAnchor }): (key: Uint8Array, records: Uint8Array[]) => Promise<number> {
  return async (key, records) => {
    if (isRevocationKey(key)) {
      for (const [i, value] of records.entries()) {
        try { await validateRevocationValue(key, value, init.mesh, init.anchor); return i } catch {}
      }
      return 0
    }
    let expectedPeerId: string | undefined
    try { expectedPeerId = parseRecordKey(key).peerId } catch { expectedPeerId = undefined }
    const now = init.clock.now()
    const decoded = await Promise.all(records.map(async bytes => {
      try {
        return await decodeRecord(bytes, {
          mesh: init.mesh, now, ...(expectedPeerId === undefined ? {} : { expectedPeerId }), ...(init.admit === undefined ? {} : { admit: init.admit })
        })
      } catch {
        return null // invalid ones lose
      }
    }))
    return bestIndex(decoded)
  }
}

/** bestIndex: highest seq, then the later expiry (a re-seal of the same seq), then the first. */
export function bestIndex (records: ReadonlyArray<NodeRecord | null>): number {
  let best = 0
  let bestRec: NodeRecord | null = null
  records.forEach((r, i) => {
    if (r === null) return
    if (bestRec === null || r.seq > bestRec.seq || (r.seq === bestRec.seq && r.expiresAt > bestRec.expiresAt)) {
      best = i
      bestRec = r
    }
  })
  return best
}

/** A per-peer high-water mark of accepted seqs, shared by the DHT validator and membership. */
export interface SeqHighWater {
  get: (peerId: string) => number
  /** Raises the mark (never lowers it). */
  observe: (peerId: string, seq: number) => void
  /** Every mark, least recently raised first: what the daemon persists (NodeState.highestSeen). */
  entries: () => Record<string, number>
}

/** Options of createSeqHighWater. */
export interface SeqHighWaterInit {
  /** Most peers remembered; past it the least recently raised mark is forgotten. */
  maxPeers?: number
  /**
   * Marks persisted by an earlier run, least recently raised first: a
   * restarted node keeps refusing records older than ones it already saw (T4).
   */
  initial?: Readonly<Record<string, number>>
  /** Called after a mark rose (not while seeding): the daemon schedules a save. Must not throw. */
  onRaise?: () => void
}

/** Default bound on remembered peers (entries in state.json). */
export const MAX_HIGH_WATER_PEERS = 4096

/**
 * createSeqHighWater keeps the marks in memory, bounded so hostile input
 * can't grow it forever. Eviction takes the mark raised longest ago, not the
 * first ever seen: live members republish (a higher seq) every few minutes,
 * so a flood of new PeerIds pushes out stale entries before theirs.
 */
export function createSeqHighWater (init: SeqHighWaterInit = {}): SeqHighWater {
  const maxPeers = Math.max(1, init.maxPeers ?? MAX_HIGH_WATER_PEERS)
  const marks = new Map<string, number>()
  const raise = (peerId: string, seq: number): boolean => {
    if (!Number.isSafeInteger(seq) || seq < 0 || (marks.get(peerId) ?? -1) >= seq) return false
    marks.delete(peerId) // re-inserted last: Map order is least recently raised first
    if (marks.size >= maxPeers) {
      const oldest = marks.keys().next().value
      if (oldest !== undefined) marks.delete(oldest)
    }
    marks.set(peerId, seq)
    return true
  }
  for (const [peerId, seq] of Object.entries(init.initial ?? {})) raise(peerId, seq)
  return {
    get: peerId => marks.get(peerId) ?? 0,
    observe: (peerId, seq) => { if (raise(peerId, seq)) init.onRaise?.() },
    entries: () => Object.fromEntries(marks)
  }
}
