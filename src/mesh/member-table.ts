/**
 * The member table: who is in the mesh, with which record and liveness. No
 * I/O and no timers: membership.ts feeds it verified inputs with the clock's
 * time and acts on what it returns. It owns the rules about coming back:
 * a member that left returns only with a higher seq; a dead one with a higher
 * seq or a fresh heartbeat (a restarted node republishes with a higher seq).
 */
import { initialLiveness, stepLiveness } from './liveness.ts'
import type { DeadReason, Liveness, LivenessConfig, LivenessEvent, LivenessState } from './liveness.ts'
import { recordInvalid, type NodeRecord } from './record.ts'
import { CLAIM_RACE_WINDOW_MS } from './allocation.ts'

/** One member as the rest of gridmesh sees it. */
export interface MemberView {
  readonly record: NodeRecord
  readonly state: Exclude<LivenessState, 'dead'>
  readonly lastHeartbeat: number
  readonly links?: unknown
  /**
   * When this table first saw the member claim its current /64 (unix ms):
   * the incumbency input of the prefix rule (allocation.ts "Incumbency").
   */
  readonly prefixSince?: number
}

/** Snapshot of the mesh (ourselves excluded), keyed by PeerId. */
export type MemberSnapshot = ReadonlyMap<string, MemberView>

/** A member; `linksKey` is linksKey(links), kept so each announce computes it once. */
interface Entry { record: NodeRecord, recordB64: string, live: Liveness, prefixSince: number, links?: unknown, linksKey?: string }
/** A member that left, or died (`at`: when we decided, and why), remembered until its record expires. */
type Departed =
  | { kind: 'left', seq: number, until: number }
  | { kind: 'dead', seq: number, until: number, reason: DeadReason, at: number }

/** What happened to an input: the table changed, nothing changed, or it was refused as stale. */
export type TableOutcome = 'changed' | 'unchanged' | 'stale'

/** Where a record came from: with a heartbeat (gossip announce) or alone (DHT lookup). */
export type RecordSource = 'announce' | 'dht'

/** The member table. */
export class MemberTable {
  private readonly entries = new Map<string, Entry>()
  private readonly departed = new Map<string, Departed>()
  /** WireGuard public key → the member holding it (kept in step with `entries`). */
  private readonly keyHolders = new Map<string, { peerId: string, since: number }>()
  /** Members that died since the last drainDeaths(), for the caller's log. */
  private deaths: Array<{ peerId: string, reason: DeadReason }> = []

  private readonly cfg: LivenessConfig
  private readonly maxDeparted: number
  private readonly linksKey: (links: unknown) => string

  /**
   * `linksKey` says which part of a link report matters to the caller: a
   * report whose key is unchanged is stored but does not count as a change.
   * Default: all of it.
   */
  constructor (cfg: LivenessConfig, opts: { maxDeparted?: number, linksKey?: (links: unknown) => string } = {}) {
    this.cfg = cfg
    this.maxDeparted = opts.maxDeparted ?? 4096
    this.linksKey = opts.linksKey ?? (links => JSON.stringify(links))
  }

  /** has: is the peer a current member? */
  has (peerId: string): boolean { return this.entries.has(peerId) }

  /** recordOf returns the member's current record and its base64 form (for cheap re-announce checks). */
  recordOf (peerId: string): { record: NodeRecord, recordB64: string } | undefined {
    const e = this.entries.get(peerId)
    return e === undefined ? undefined : { record: e.record, recordB64: e.recordB64 }
  }

  /** known: a member, or departed recently (no DHT lookup needed for either). */
  known (peerId: string): boolean { return this.entries.has(peerId) || this.departed.has(peerId) }

  /**
   * offer admits or refreshes a verified record. An announce is also a
   * heartbeat; a DHT record is not (it proves the node existed, not that it lives).
   *
   * One WireGuard key, one member: a record whose key a current member other
   * than its signer holds is refused (throws RECORD_INVALID 'wg-key-taken';
   * membership counts it) and the holder keeps its entry. "First" is the
   * incumbent: the member that has held the key here for at least
   * CLAIM_RACE_WINDOW_MS. Every node that saw the holder before the claim
   * decides the same. Claims that arrive within one window of each other (a
   * race, or a fresh node learning both from one roster) are settled by the
   * lower PeerId, which every node computes alike; the other is dropped
   * (no tombstone: it returns once the key is free). An open mesh cannot do
   * better without a proof of possession of the key (README "Security").
   */
  offer (record: NodeRecord, recordB64: string, source: RecordSource, at: number, connected: boolean, links?: unknown): TableOutcome {
    const id = record.peerId
    const displaced = this.keyClash(record, at)
    const cur = this.entries.get(id)
    if (cur === undefined) {
      const gone = this.departed.get(id)
      if (gone !== undefined && !this.mayReturn(gone, record.seq, source, connected, at)) return 'stale'
      this.departed.delete(id)
      this.displace(displaced)
      this.entries.set(id, { record, recordB64, live: initialLiveness(at, connected), prefixSince: at, ...(links === undefined ? {} : { links, linksKey: this.linksKey(links) }) })
      this.keyHolders.set(record.wgPublicKey, { peerId: id, since: at })
      return 'changed'
    }
    if (record.seq < cur.record.seq) return 'stale'
    let changed = false
    if (recordB64 !== cur.recordB64 && (record.seq > cur.record.seq || record.expiresAt >= cur.record.expiresAt)) {
      if (cur.record.wgPublicKey !== record.wgPublicKey) {
        this.displace(displaced)
        this.keyHolders.delete(cur.record.wgPublicKey)
        this.keyHolders.set(record.wgPublicKey, { peerId: id, since: at })
      }
      if (cur.record.prefix !== record.prefix) cur.prefixSince = at
      cur.record = record; cur.recordB64 = recordB64; changed = true
    }
    if (source === 'announce') {
      changed = this.step(id, cur, { type: 'heartbeat', at }) || changed
      if (links !== undefined) {
        const key = this.linksKey(links)
        if (key !== cur.linksKey) changed = true
        cur.links = links
        cur.linksKey = key
      }
    }
    return changed ? 'changed' : 'unchanged'
  }

  /**
   * mayReturn: a departed member comes back with a higher seq (a restart
   * republishes), or, if it died, with an announce. After silence any
   * announce will do. After a crash verdict (refused redial) gossip still
   * carries the daemon's last heartbeats for a few seconds (gossipsub replays
   * its ~5 s message history to peers that missed them), so hearsay counts
   * only once it outlasts deadAfterMs; a connection counts at once. The one
   * live member that gets a crash verdict, one behind a firewall that rejects
   * us, is thus relayed again after deadAfterMs.
   */
  private mayReturn (gone: Departed, seq: number, source: RecordSource, connected: boolean, at: number): boolean {
    if (seq > gone.seq) return true
    if (gone.kind !== 'dead' || source !== 'announce' || seq < gone.seq) return false
    return gone.reason !== 'unreachable' || connected || at - gone.at >= this.cfg.deadAfterMs
  }

  /** leave removes a member at once when the leave covers its record (seq ≥ record seq). */
  leave (peerId: string, seq: number, at: number): TableOutcome {
    const cur = this.entries.get(peerId)
    if (cur !== undefined && seq < cur.record.seq) return 'stale'
    const until = cur?.record.expiresAt ?? at + 24 * 3_600_000
    this.remember(peerId, { kind: 'left', seq: Math.max(seq, this.departed.get(peerId)?.seq ?? 0), until })
    if (cur === undefined) return 'unchanged'
    this.drop(peerId, cur)
    return 'changed'
  }

  /** event feeds a connection signal (or a tick) to one member; true when its state changed. */
  event (peerId: string, ev: LivenessEvent): boolean {
    const cur = this.entries.get(peerId)
    return cur === undefined ? false : this.step(peerId, cur, ev)
  }

  /** tick re-evaluates every member at `at`, drops the dead, forgets expired tombstones. */
  tick (at: number): boolean {
    let changed = false
    for (const [id, e] of this.entries) changed = this.step(id, e, { type: 'tick', at }) || changed
    for (const [id, d] of this.departed) if (d.until <= at) this.departed.delete(id)
    return changed
  }

  /** drainDeaths returns (and forgets) who died since the last call, and why. */
  drainDeaths (): Array<{ peerId: string, reason: DeadReason }> {
    const out = this.deaths
    this.deaths = []
    return out
  }

  /** snapshot copies the current members (dead ones are never in the table). */
  snapshot (): MemberSnapshot {
    const out = new Map<string, MemberView>()
    for (const [id, e] of this.entries) {
      const state = e.live.state === 'dead' ? 'suspect' : e.live.state
      out.set(id, { record: e.record, state, lastHeartbeat: e.live.lastHeartbeat, prefixSince: e.prefixSince, ...(e.links === undefined ? {} : { links: e.links }) })
    }
    return out
  }

  private step (id: string, e: Entry, ev: LivenessEvent): boolean {
    const next = stepLiveness(e.live, ev, this.cfg)
    const changed = next.state !== e.live.state
    e.live = next
    if (next.state === 'dead') {
      this.drop(id, e)
      const reason = next.deadReason ?? 'silent'
      this.remember(id, { kind: 'dead', seq: e.record.seq, until: e.record.expiresAt, reason, at: ev.at })
      this.deaths.push({ peerId: id, reason })
      return true
    }
    return changed
  }

  private drop (id: string, e: Entry): void {
    this.entries.delete(id)
    if (this.keyHolders.get(e.record.wgPublicKey)?.peerId === id) this.keyHolders.delete(e.record.wgPublicKey)
  }

  /**
   * keyClash applies the one-key-one-member rule (see offer): null when the
   * key is free or already the signer's, the holder to drop when the signer
   * wins a race, else throws 'wg-key-taken'.
   */
  private keyClash (record: NodeRecord, at: number): string | null {
    const holder = this.keyHolders.get(record.wgPublicKey)
    if (holder === undefined || holder.peerId === record.peerId || !this.entries.has(holder.peerId)) return null
    if (at - holder.since < CLAIM_RACE_WINDOW_MS && record.peerId < holder.peerId) return holder.peerId
    throw recordInvalid('wg-key-taken', 'another member holds this WireGuard key')
  }

  /** displace drops the loser of a key race; no tombstone, so it is back once the key is free. */
  private displace (peerId: string | null): void {
    if (peerId === null) return
    const e = this.entries.get(peerId)
    if (e !== undefined) this.drop(peerId, e)
  }

  private remember (id: string, d: Departed): void {
    if (!this.departed.has(id) && this.departed.size >= this.maxDeparted) {
      const oldest = this.departed.keys().next().value
      if (oldest !== undefined) this.departed.delete(oldest)
    }
    this.departed.set(id, d)
  }
}
