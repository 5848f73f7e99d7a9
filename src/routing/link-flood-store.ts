/**
 * The receiving side of the link flood (link-flood.ts): every member's
 * exception set, kept at a known (epoch, seq) per origin.
 *
 *  - a delta for seq+1 applies at once, then any buffered successors;
 *  - a delta further ahead is buffered (at most MAX_PENDING_PER_ORIGIN) and
 *    the origin is marked "behind": `wants()` lists it so the caller asks the
 *    origin for a snapshot (anti-entropy repairs a lost delta this way);
 *  - duplicates and old seqs are ignored, as is anything of an older epoch;
 *    a newer epoch (the origin restarted) starts again from the empty set;
 *  - a snapshot's parts are collected and installed in one step, never half.
 *
 * Message order, duplication and loss (once repaired) do not change the
 * result: every receiver ends with the origin's own set. The caller must
 * check that `msg.origin` is the authenticated publisher before `receive`.
 */
import { applyChanges, compareVersions } from './link-flood.ts'
import type { FloodVersion, LinkChange, LinkDelta, LinkException, LinkFloodMessage, LinkSnapshotPart } from './link-flood.ts'
import type { PeerIdString } from './types.ts'

/** Deltas held per origin while one before them is missing; past this we wait for a snapshot instead. */
export const MAX_PENDING_PER_ORIGIN = 64

/** What `receive` did with a message (for counters and tests). */
export type FloodReceipt = 'applied' | 'buffered' | 'duplicate' | 'stale' | 'partial'

/** An origin we know a newer version of than we hold: ask it for a snapshot. */
export interface FloodWant { readonly origin: PeerIdString, readonly have: FloodVersion, readonly known: FloodVersion }

interface Assembly { readonly version: FloodVersion, readonly parts: number, readonly got: Map<number, readonly LinkChange[]> }

interface OriginState {
  version: FloodVersion
  exceptions: Map<PeerIdString, LinkException>
  /** Deltas of version.epoch beyond version.seq + 1, by seq. */
  pending: Map<number, LinkDelta>
  assembly: Assembly | null
  /** Highest version heard of (from a delta, a snapshot part or a peer's digest). */
  known: FloodVersion
}

const DEFAULT_LINK: LinkException = { down: false, rttClass: 0 }
const ORIGIN_OF_TIME: FloodVersion = { epoch: 0, seq: 0 }

export class LinkFloodStore {
  private readonly origins = new Map<PeerIdString, OriginState>()

  /** receive applies one validated message; never throws on peer input. */
  receive (msg: LinkFloodMessage): FloodReceipt {
    const st = this.stateOf(msg.origin)
    if (compareVersions(msg, st.known) > 0) st.known = { epoch: msg.epoch, seq: msg.seq }
    return msg.kind === 'delta' ? this.receiveDelta(st, msg) : this.receiveSnapshotPart(st, msg)
  }

  /** link: origin's view of its link to `to` (default: usable, class 0). */
  link (origin: PeerIdString, to: PeerIdString): LinkException {
    return this.origins.get(origin)?.exceptions.get(to) ?? DEFAULT_LINK
  }

  /** exceptionsOf: the non-default links of one origin. */
  exceptionsOf (origin: PeerIdString): ReadonlyMap<PeerIdString, LinkException> {
    return this.origins.get(origin)?.exceptions ?? new Map()
  }

  /** versionOf: the (epoch, seq) our copy of `origin` is at. */
  versionOf (origin: PeerIdString): FloodVersion {
    return this.origins.get(origin)?.version ?? ORIGIN_OF_TIME
  }

  /** heads: "origin → version I hold", the anti-entropy digest (sorted by origin). */
  heads (): Array<{ origin: PeerIdString, version: FloodVersion }> {
    return [...this.origins].map(([origin, st]) => ({ origin, version: st.version }))
      .sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0))
  }

  /**
   * noteRemoteHeads records what a peer holds; origins it is ahead on show up
   * in `wants()`. Returns them. Only origins `isMember` accepts are noted, so
   * a digest cannot fill the store with strangers; a version a peer invents
   * is corrected by the origin's own snapshot (see receiveSnapshotPart).
   */
  noteRemoteHeads (heads: ReadonlyArray<{ origin: PeerIdString, version: FloodVersion }>, isMember: (origin: PeerIdString) => boolean = () => true): PeerIdString[] {
    const ahead: PeerIdString[] = []
    for (const h of heads) {
      if (!isMember(h.origin)) continue
      const st = this.stateOf(h.origin)
      if (compareVersions(h.version, st.known) > 0) st.known = h.version
      if (compareVersions(h.version, st.version) > 0) ahead.push(h.origin)
    }
    return ahead
  }

  /** wants: origins whose known version is ahead of ours (a lost delta, a buffer overflow, a peer's digest). */
  wants (): FloodWant[] {
    const out: FloodWant[] = []
    for (const [origin, st] of this.origins) {
      if (compareVersions(st.known, st.version) > 0) out.push({ origin, have: st.version, known: st.known })
    }
    return out
  }

  /** forget drops an origin that left the mesh (its links stop mattering). */
  forget (origin: PeerIdString): void { this.origins.delete(origin) }

  /** size: origins held (for the memory figures of the simulator). */
  get size (): number { return this.origins.size }

  private stateOf (origin: PeerIdString): OriginState {
    let st = this.origins.get(origin)
    if (st === undefined) {
      st = { version: ORIGIN_OF_TIME, exceptions: new Map(), pending: new Map(), assembly: null, known: ORIGIN_OF_TIME }
      this.origins.set(origin, st)
    }
    return st
  }

  private receiveDelta (st: OriginState, d: LinkDelta): FloodReceipt {
    if (d.epoch < st.version.epoch) return 'stale'
    // A new epoch starts from the empty set at seq 0: the origin restarted.
    if (d.epoch > st.version.epoch) resetTo(st, { epoch: d.epoch, seq: 0 }, new Map())
    if (d.seq <= st.version.seq) return 'duplicate'
    if (d.seq > st.version.seq + 1) {
      if (st.pending.has(d.seq)) return 'duplicate'
      if (st.pending.size >= MAX_PENDING_PER_ORIGIN) return 'stale' // `known` moved: wants() asks for a snapshot
      st.pending.set(d.seq, d)
      return 'buffered'
    }
    applyChanges(st.exceptions, d.changes)
    st.version = { epoch: d.epoch, seq: d.seq }
    drainPending(st)
    return 'applied'
  }

  private receiveSnapshotPart (st: OriginState, p: LinkSnapshotPart): FloodReceipt {
    const age = compareVersions(p, st.version)
    if (age < 0) return 'duplicate'
    if (age === 0) { settleKnown(st); return 'duplicate' } // the origin says it is where we are
    const a = st.assembly
    if (a !== null && compareVersions(p, a.version) < 0) return 'stale'
    if (a === null || compareVersions(p, a.version) > 0) {
      st.assembly = { version: { epoch: p.epoch, seq: p.seq }, parts: p.parts, got: new Map() }
    }
    const asm = st.assembly as Assembly
    if (p.parts !== asm.parts) return 'stale' // one snapshot has one part count; a mismatch is not ours to guess
    if (asm.got.has(p.part)) return 'duplicate'
    asm.got.set(p.part, p.changes)
    if (asm.got.size < asm.parts) return 'partial'
    const exceptions = new Map<PeerIdString, LinkException>()
    for (const changes of asm.got.values()) applyChanges(exceptions, changes)
    resetTo(st, asm.version, exceptions)
    drainPending(st)
    settleKnown(st)
    return 'applied'
  }
}

/**
 * settleKnown: snapshots come from their origin, the authority on how far it
 * is. A higher `known` (from a peer's digest) that no buffered delta backs
 * is dropped, so an invented version cannot make us ask forever.
 */
function settleKnown (st: OriginState): void {
  st.known = { epoch: st.version.epoch, seq: Math.max(st.version.seq, ...st.pending.keys()) }
}

/** resetTo installs a whole state at `version`, keeping only what can still follow it. */
function resetTo (st: OriginState, version: FloodVersion, exceptions: Map<PeerIdString, LinkException>): void {
  if (version.epoch !== st.version.epoch) st.pending.clear()
  for (const seq of st.pending.keys()) if (seq <= version.seq) st.pending.delete(seq)
  if (st.assembly !== null && compareVersions(st.assembly.version, version) <= 0) st.assembly = null
  st.version = version
  st.exceptions = exceptions
}

function drainPending (st: OriginState): void {
  for (let next = st.pending.get(st.version.seq + 1); next !== undefined; next = st.pending.get(st.version.seq + 1)) {
    st.pending.delete(next.seq)
    applyChanges(st.exceptions, next.changes)
    st.version = { epoch: next.epoch, seq: next.seq }
  }
}
