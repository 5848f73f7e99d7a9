/**
 * What every record from the network passes on this node, and the DHT rules
 * built from it: the pure record check (another peer's record with our own
 * WireGuard key is refused; a closed mesh also wants a certificate that binds
 * the record), and the per-peer seq high-water marks that refuse replays
 * (T4), seeded from state.json and saved a moment after a mark rises.
 */
import { createRecordSelector, createRecordValidator, createSeqHighWater, type SeqHighWater } from '../mesh/record-dht.ts'
import { createDebouncedSave, HIGHEST_SEEN_SAVE_MS } from '../mesh/node-state.ts'
import { chainAdmission, createRecordAdmission, refuseOwnWgKey } from '../mesh/record-admission.ts'
import type { RecordAdmission, RecordRejectReason } from '../mesh/record.ts'
import type { ClosedMesh } from './admission.ts'
import type { TransportInit } from './mesh-ports.ts'
import type { Time } from '../time/clock.ts'
import type { UndoStack } from './undo-stack.ts'
import type { Logger } from '../log.ts'

export interface RecordChecks {
  /** Closed meshes: the certificate check alone (revocations.ts reuses it); undefined in an open mesh. */
  readonly certificateCheck: RecordAdmission | undefined
  /** Every record, open mesh or closed: our own WireGuard key refused, then the certificate check. */
  readonly recordCheck: RecordAdmission
}

export function recordChecks (self: { peerId: string, wgPublicKey: string }, closed: ClosedMesh | null): RecordChecks {
  const certificateCheck = closed === null ? undefined : createRecordAdmission({ anchor: closed.anchor, revoked: closed.revocations.isRevoked })
  return { certificateCheck, recordCheck: chainAdmission(refuseOwnWgKey(self), certificateCheck) }
}

/** highWaterMarks: replay protection that survives restarts; the last save runs when the undo stack unwinds. */
export function highWaterMarks (init: {
  initial: Readonly<Record<string, number>>
  persist: (marks: Readonly<Record<string, number>>) => Promise<void>
  time: Time, log: Logger, undo: UndoStack
}): SeqHighWater {
  const marksSave = createDebouncedSave(async () => { await init.persist(seqs.entries()) }, HIGHEST_SEEN_SAVE_MS,
    (err) => { init.log.warn({ err: String(err) }, 'saving the seq high-water marks failed') }, init.time)
  const seqs = createSeqHighWater({ initial: init.initial, onRaise: marksSave.request })
  init.undo.push('high-water save', async () => { await marksSave.flush() })
  return seqs
}

/** dhtRules: the DHT validator and selector for our namespace, refusals reported to `onReject`. */
export function dhtRules (init: {
  mesh: string, closed: ClosedMesh | null, recordCheck: RecordAdmission, clock: Time, seqs: SeqHighWater
  onReject: (reason: RecordRejectReason) => void
}): Pick<TransportInit, 'validator' | 'selector'> {
  const { mesh, closed, clock, seqs } = init
  const checks = closed === null ? { admit: init.recordCheck } : { admit: init.recordCheck, anchor: closed.anchor }
  return {
    validator: createRecordValidator({ mesh, clock, highWater: p => seqs.get(p), ...checks, onReject: init.onReject }),
    selector: createRecordSelector({ mesh, clock, ...checks })
  }
}
