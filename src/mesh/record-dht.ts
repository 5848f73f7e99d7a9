/**
 * Node records in the DHT: the key layout, the kad-dht validator (with replay
 * protection against the highest seq we accepted) and the selector (highest
 * valid seq). kad-dht picks both by the key's first path segment, `gridmesh`.
 */
import { decodeRecord, recordInvalid } from './record.ts'
import { parseRevocationKey, verifyRevocation } from '../admission/revocation.ts'
import type { NodeRecord, RecordAdmission } from './record.ts'
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
 */
export function createRecordValidator (init: RecordValidatorInit): (key: Uint8Array, value: Uint8Array) => Promise<void> {
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
}

/** createSeqHighWater keeps the marks in memory, bounded so hostile input can't grow it forever. */
export function createSeqHighWater (maxPeers = 4096): SeqHighWater {
  const marks = new Map<string, number>()
  return {
    get: peerId => marks.get(peerId) ?? 0,
    observe: (peerId, seq) => {
      if ((marks.get(peerId) ?? -1) >= seq) return
      if (!marks.has(peerId) && marks.size >= maxPeers) {
        const oldest = marks.keys().next().value
        if (oldest !== undefined) marks.delete(oldest)
      }
      marks.set(peerId, seq)
    }
  }
}
