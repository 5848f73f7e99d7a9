/**
 * Membership: who is in the mesh now. Durable knowledge comes from the DHT
 * (our record is put at start, on change and every republishMs; unknown
 * connected peers are looked up); fast knowledge from the members topic
 * (announce = record + heartbeat, leave) and connection events. Decisions
 * live in MemberTable/liveness (pure); this module does the I/O and never
 * lets peer input crash it: every handler catches, refusals are counted.
 */
import { decodeRecord, RECORD_REJECT_REASONS } from './record.ts'
import { recordKey } from './record-dht.ts'
import { decodeMessage, encodeMessage, membersTopic, toBase64, fromBase64 } from './messages.ts'
import { MemberTable } from './member-table.ts'
import { fetchRoster, serveRoster } from './roster.ts'
import { livenessConfig } from './liveness.ts'
import type { LivenessConfig } from './liveness.ts'
import { errText } from './libp2p-node.ts'
import { isGridmeshError } from '../errors.ts'
import type { DialOutcome, MeshNode } from './libp2p-node.ts'
import type { TopicMessage, TopicVerdict } from './pubsub.ts'
import type { Clock, SeqHighWater } from './record-dht.ts'
import type { MemberSnapshot, RecordSource } from './member-table.ts'
import type { NodeRecord, RecordAdmission, RecordRejectReason } from './record.ts'
import type { Logger } from '../log.ts'

export type { MemberSnapshot, MemberView } from './member-table.ts'

/** Collaborators and options of createMembership. */
export interface MembershipInit {
  node: MeshNode
  /** Produces our current signed record (called at start and on every republish: fresh expiresAt). */
  ownRecord: () => Promise<Uint8Array>
  mesh: string
  logger: Logger
  /** Shared with the DHT validator so both refuse replays below what we accepted. */
  seqs: SeqHighWater
  clock?: Clock
  heartbeatMs?: number
  deadAfterMs?: number
  republishMs?: number
  /**
   * The part of a member's link report that matters (see MemberTable): a
   * heartbeat whose report moved only in what this key leaves out (RTT
   * figures, timestamps) refreshes the member without a reconcile pass.
   */
  linksKey?: (links: unknown) => string
  /** The opaque link report our announces carry: asked for at every announce, so it is never older than one heartbeat. */
  linkReport?: () => unknown
  /** Delay before a DHT lookup of a connected peer we have no record for (its announce usually comes first). */
  lookupDelayMs?: number
  /** Closed meshes: the certificate check every record must pass (ours included). */
  admit?: RecordAdmission
  /**
   * Closed meshes: a `revoke` message arrived (the `gmr1.` text). Verifies,
   * stores and applies it; the verdict decides whether gossipsub forwards it.
   * Open meshes leave it unset: revoke messages are then ignored.
   */
  onRevoke?: (revocation: string, from: string) => Promise<TopicVerdict>
  /** A record was refused with this reason (closed meshes: to remember revoked peers for the gater). */
  onRefused?: (peerId: string, reason: RecordRejectReason) => void
}

/** Refusal and failure counters (for metrics). */
export interface MembershipCounters {
  rejected: Record<RecordRejectReason, number>
  /** Exceptions that escaped our own handling: bugs, never peer input. */
  unhandled: number
}

/** The membership service. */
export interface Membership {
  start: () => Promise<void>
  stop: (opts: { leave: boolean }) => Promise<void>
  /** Our record changed: announce it now and put it in the DHT. */
  setOwnRecord: (bytes: Uint8Array) => Promise<void>
  /** Re-reads ownRecord() and publishes it (the timer does this every republishMs). */
  republish: () => Promise<void>
  /**
   * Announces now instead of with the next heartbeat (with a fresh link
   * report, see MembershipInit.linkReport): a link that just went down must
   * reach the other end of relayed paths fast.
   */
  announceLinks: () => void
  members: () => MemberSnapshot
  /** Drops a member at once and for good (revoked): its later records are refused as stale. */
  evict: (peerId: string) => void
  /** Publishes a `gmr1.` revocation on the members topic. */
  publishRevocation: (revocation: string) => Promise<void>
  on: (event: 'change', cb: (snapshot: MemberSnapshot) => void) => () => void
  readonly counters: MembershipCounters
}

const CHANGE_DEBOUNCE_MS = 20
const ANNOUNCE_DEBOUNCE_MS = 50
const LEAVE_FLUSH_MS = 150
/** A roster is fetched at most this often: one from any member is the whole mesh. */
const ROSTER_INTERVAL_MS = 5_000
const REDIAL_TIMEOUT_MS = 2_000
/** A redial that failed faster than this (a reset, not a timeout) is retried, REDIAL_ATTEMPTS in all, REDIAL_RETRY_MS apart. */
const REDIAL_FAST_FAILURE_MS = 500
const REDIAL_ATTEMPTS = 3
const REDIAL_RETRY_MS = 100

/** createMembership wires a MemberTable to a MeshNode. Call start(). */
export function createMembership (init: MembershipInit): Membership {
  return new MembershipService(init)
}

class MembershipService implements Membership {
  readonly counters: MembershipCounters = { rejected: zeroCounts(), unhandled: 0 }
  private readonly node: MeshNode
  private readonly log: Logger
  private readonly clock: Clock
  private readonly cfg: LivenessConfig
  private readonly topic: string
  private readonly table: MemberTable
  private readonly listeners = new Set<(s: MemberSnapshot) => void>()
  private readonly timers: Array<ReturnType<typeof setInterval>> = []
  private readonly undo: Array<() => void> = []
  private readonly lookups = new Set<string>()
  private readonly changed = debounce(CHANGE_DEBOUNCE_MS, () => { this.emitChange() })
  private readonly announceSoon = debounce(ANNOUNCE_DEBOUNCE_MS, () => { this.guard('announce', async () => { await this.announceNow() }) })
  private own: { bytes: Uint8Array, record: NodeRecord } | null = null
  private lastRoster = 0
  /** Peers a roster request is out to, and when each unknown peer was last asked (see fetchRosterFrom). */
  private readonly rosterInFlight = new Set<string>()
  private readonly rosterAskedUnknown = new Map<string, number>()
  private storedRemotely = false
  private stopped = false

  private readonly init: MembershipInit

  constructor (init: MembershipInit) {
    this.init = init
    this.node = init.node
    this.log = init.logger
    this.clock = init.clock ?? { now: Date.now }
    this.cfg = livenessConfig(init.heartbeatMs, init.deadAfterMs)
    this.topic = membersTopic(init.mesh)
    this.table = new MemberTable(this.cfg, init.linksKey === undefined ? {} : { linksKey: init.linksKey })
  }

  async start (): Promise<void> {
    const { node } = this
    this.undo.push(node.subscribe(this.topic, async msg => await this.onMessage(msg)))
    this.undo.push(node.onSubscriberJoin(this.topic, () => { this.announceSoon() }))
    this.undo.push(node.onPeerConnect(peer => { this.onConnect(peer) }))
    const unserve = await serveRoster(node.libp2p, this.init.mesh, () => this.rosterRecords(), this.log)
    this.undo.push(() => { void unserve().catch(() => {}) })
    this.undo.push(node.onPeerDisconnect(peer => { this.onDisconnect(peer) }))
    await this.setOwnRecord(await this.init.ownRecord())
    this.every(this.cfg.heartbeatMs, () => { this.guard('heartbeat', async () => { await this.announceNow() }) })
    this.every(Math.max(20, Math.min(100, this.cfg.heartbeatMs / 10)), () => { if (this.table.tick(this.clock.now())) this.changed() })
    this.every(this.init.republishMs ?? 600_000, () => { this.guard('republish', async () => { await this.republish() }) })
  }

  async stop ({ leave }: { leave: boolean }): Promise<void> {
    if (this.stopped) return
    for (const t of this.timers) clearInterval(t)
    this.announceSoon.cancel(); this.changed.cancel()
    if (leave && this.own !== null) {
      try {
        await this.node.publish(this.topic, encodeMessage({ v: 1, type: 'leave', seq: this.own.record.seq }))
        await new Promise(resolve => setTimeout(resolve, LEAVE_FLUSH_MS)) // let the streams flush
      } catch (err) { this.log.warn({ err: errText(err) }, 'leave not published') }
    }
    this.stopped = true
    for (const u of this.undo) u()
  }

  async setOwnRecord (bytes: Uint8Array): Promise<void> {
    const record = await decodeRecord(bytes, { mesh: this.init.mesh, now: this.clock.now(), expectedPeerId: this.node.peerId, ...this.admitOpt() })
    this.own = { bytes, record }
    this.init.seqs.observe(this.node.peerId, record.seq)
    this.announceSoon()
    // Not awaited: a DHT put can take its whole timeout (the first node has
    // nobody to store it), and start() must not hold up the prober and the
    // admin socket meanwhile; members learn the record from the announce.
    this.guard('put', async () => { await this.putOwn() })
  }

  async republish (): Promise<void> { await this.setOwnRecord(await this.init.ownRecord()) }
  announceLinks (): void {
    if (!this.stopped) this.guard('announce', async () => { await this.announceNow() })
  }
  members (): MemberSnapshot { return this.table.snapshot() }
  evict (peerId: string): void {
    // A leave covering every seq: the tombstone also refuses its later records until they would expire anyway.
    if (this.table.leave(peerId, Number.MAX_SAFE_INTEGER, this.clock.now()) === 'changed') {
      this.log.warn({ peer: peerId }, 'member revoked: dropped')
      this.changed()
    }
  }

  async publishRevocation (revocation: string): Promise<void> {
    await this.node.publish(this.topic, encodeMessage({ v: 1, type: 'revoke', revocation }))
  }
  on (_event: 'change', cb: (snapshot: MemberSnapshot) => void): () => void {
    this.listeners.add(cb)
    return () => { this.listeners.delete(cb) }
  }

  private every (ms: number, fn: () => void): void {
    const t = setInterval(fn, ms); t.unref(); this.timers.push(t)
  }

  /** guard runs an async step and turns any escape into a counted, logged event. */
  private guard (what: string, fn: () => Promise<unknown>): void {
    fn().catch(err => { this.counters.unhandled++; this.log.warn({ err: errText(err), op: what }, 'membership step failed') })
  }

  private refuse (reason: RecordRejectReason, peer: string): TopicVerdict {
    this.counters.rejected[reason]++
    try { this.init.onRefused?.(peer, reason) } catch (err) { this.counters.unhandled++; this.log.warn({ err: errText(err) }, 'onRefused threw') }
    this.log.debug({ peer, reason }, 'membership input refused')
    return reason === 'stale-seq' || reason === 'expired' ? 'ignore' : 'reject'
  }

  private emitChange (): void {
    for (const d of this.table.drainDeaths()) this.log.info({ peer: d.peerId, reason: d.reason }, 'member dead')
    const snap = this.table.snapshot()
    this.node.setKnownPeers(new Map([...snap].map(([id, m]) => [id, m.record.addrs])))
    for (const cb of this.listeners) {
      try { cb(snap) } catch (err) { this.counters.unhandled++; this.log.warn({ err: errText(err) }, 'change listener threw') }
    }
  }

  private async announceNow (): Promise<void> {
    if (this.own === null || this.stopped) return
    const base = { v: 1 as const, type: 'announce' as const, record: toBase64(this.own.bytes) }
    let data: Uint8Array
    const links = this.init.linkReport?.()
    try { data = encodeMessage(links === undefined ? base : { ...base, links }) } catch {
      this.log.warn({}, 'link report too large for an announce; sending without it')
      data = encodeMessage(base)
    }
    await this.node.publish(this.topic, data)
  }

  /** putOwn stores our record in the DHT; a failed put (a timeout on a busy mesh) is retried on the next connect or republish. */
  private async putOwn (): Promise<void> {
    if (this.own === null) return
    try {
      const r = await this.node.putRecord(recordKey(this.init.mesh, this.node.peerId), this.own.bytes)
      this.storedRemotely ||= r.stored > 0
      this.log.debug({ stored: r.stored, failed: r.failed }, 'own record put')
    } catch (err) {
      this.log.debug({ err: errText(err) }, 'own record put failed')
    }
  }

  /** verifyRecord decodes a record for `peer`, reusing the member's last verified copy when identical. */
  private async verifyRecord (peer: string, b64: string): Promise<NodeRecord> {
    const cur = this.table.recordOf(peer)
    if (cur !== undefined && cur.recordB64 === b64 && cur.record.expiresAt > this.clock.now()) return cur.record
    return await decodeRecord(fromBase64(b64), { mesh: this.init.mesh, now: this.clock.now(), expectedPeerId: peer, ...this.admitOpt() })
  }

  private admitOpt (): { admit?: RecordAdmission } {
    return this.init.admit === undefined ? {} : { admit: this.init.admit }
  }

  private admit (record: NodeRecord, b64: string, source: RecordSource, linkReport?: unknown): TopicVerdict {
    const peer = record.peerId
    if (record.seq < this.init.seqs.get(peer)) return this.refuse('stale-seq', peer)
    const known = this.table.has(peer)
    const outcome = this.table.offer(record, b64, source, this.clock.now(), this.node.isConnected(peer), linkReport)
    if (outcome === 'stale') return this.refuse('stale-seq', peer)
    if (outcome === 'changed' && !known) this.log.info({ peer, prefix: record.prefix, source }, 'member joined')
    this.init.seqs.observe(peer, record.seq)
    if (outcome === 'changed') this.changed()
    return 'accept'
  }

  /** onMessage is the topic validator: its verdict decides whether gossipsub forwards the message. */
  private async onMessage (msg: TopicMessage): Promise<TopicVerdict> {
    if (this.stopped || msg.from === this.node.peerId) return 'ignore'
    try {
      const m = decodeMessage(msg.data)
      if (m.type === 'announce') return this.admit(await this.verifyRecord(msg.from, m.record), m.record, 'announce', m.links)
      if (m.type === 'revoke') return this.init.onRevoke === undefined ? 'ignore' : await this.init.onRevoke(m.revocation, msg.from)
      const outcome = this.table.leave(msg.from, m.seq, this.clock.now())
      if (outcome === 'stale') return this.refuse('stale-seq', msg.from)
      if (outcome === 'changed') { this.log.info({ peer: msg.from }, 'member left'); this.changed() }
      return 'accept'
    } catch (err) {
      if (isGridmeshError(err) && isReason(err.meta?.reason)) return this.refuse(err.meta.reason, msg.from)
      this.counters.unhandled++
      this.log.warn({ err: errText(err), peer: msg.from }, 'membership message handling failed')
      return 'ignore'
    }
  }

  /** lookup fetches a connected peer's record from the DHT when no announce brought it. */
  private lookup (peer: string): void {
    if (this.lookups.has(peer) || this.table.known(peer)) return
    this.lookups.add(peer)
    const t = setTimeout(() => {
      this.guard('lookup', async () => {
        try { await this.lookupNow(peer) } finally { this.lookups.delete(peer) }
      })
    }, this.init.lookupDelayMs ?? 300)
    t.unref()
  }

  private async lookupNow (peer: string): Promise<void> {
    if (this.stopped || this.table.known(peer)) return
    const bytes = await this.node.getRecord(recordKey(this.init.mesh, peer))
    if (bytes === null || this.stopped || this.table.known(peer)) return // a failed lookup keeps what we had
    try {
      const record = await decodeRecord(bytes, { mesh: this.init.mesh, now: this.clock.now(), expectedPeerId: peer, ...this.admitOpt() })
      this.admit(record, toBase64(bytes), 'dht')
    } catch (err) {
      if (isGridmeshError(err) && isReason(err.meta?.reason)) this.refuse(err.meta.reason, peer)
      else throw err
    }
  }

  /** onDisconnect: suspect at once, and redial right away — a refused redial is the kill -9 signal. */
  private onDisconnect (peer: string): void {
    if (!this.table.has(peer)) return
    if (this.table.event(peer, { type: 'disconnect', at: this.clock.now() })) this.changed()
    const addrs = this.table.recordOf(peer)?.record.addrs ?? []
    this.guard('redial', async () => {
      const outcome = await this.redialAfterDisconnect(peer, addrs)
      // Only a refusal is crash evidence; a slow dial leaves the verdict to heartbeat silence.
      if (outcome === 'failed' || this.stopped) return
      const type = outcome === 'connected' ? 'connect' as const : 'redial-failed' as const
      if (this.table.event(peer, { type, at: this.clock.now() })) this.changed()
    })
  }

  /**
   * redialAfterDisconnect dials once more, retrying a dial that failed fast:
   * right after a kill -9 the kernel may still complete our TCP handshake on
   * the dying listener and then reset it (ECONNRESET in the handshake), and
   * only the next attempt gets the refusal. A timeout is not retried.
   */
  private async redialAfterDisconnect (peer: string, addrs: readonly string[]): Promise<DialOutcome> {
    for (let attempt = 1; ; attempt++) {
      const started = this.clock.now()
      const outcome = await this.node.dialPeer(peer, addrs, { timeoutMs: REDIAL_TIMEOUT_MS })
      this.log.debug({ peer, outcome, attempt }, 'redial after disconnect')
      const fast = this.clock.now() - started < REDIAL_FAST_FAILURE_MS
      if (outcome !== 'failed' || !fast || attempt >= REDIAL_ATTEMPTS || this.stopped) return outcome
      await new Promise(resolve => setTimeout(resolve, REDIAL_RETRY_MS))
    }
  }

  private onConnect (peer: string): void {
    if (this.table.event(peer, { type: 'connect', at: this.clock.now() })) this.changed()
    // The first node of a mesh put its record with nobody to store it: redo once a peer appears.
    if (!this.storedRemotely) this.guard('put', async () => { await this.putOwn() })
    this.fetchRosterFrom(peer)
  }

  /** rosterRecords is what we answer a roster request with: our record and every live member's, as signed by their owners. */
  private rosterRecords (): string[] {
    const out = this.own === null ? [] : [toBase64(this.own.bytes)]
    for (const id of this.table.snapshot().keys()) {
      const r = this.table.recordOf(id)
      if (r !== undefined) out.push(r.recordB64)
    }
    return out
  }

  /**
   * fetchRosterFrom learns the whole mesh from one member; every record is
   * verified like a DHT answer. A peer we have no record for is always asked
   * (at most once per ROSTER_INTERVAL_MS each): its answer carries its own
   * record one round trip after the connection, where a DHT lookup took a
   * multi-hop query, and a starting mesh's first member hears of every
   * newcomer this way. Known peers are asked at most once per interval in all.
   * A failed request falls back to a DHT lookup of the peer.
   */
  private fetchRosterFrom (peer: string): void {
    const now = this.clock.now()
    if (this.rosterInFlight.has(peer)) return
    if (this.table.known(peer)) {
      if (now - this.lastRoster < ROSTER_INTERVAL_MS) return
    } else {
      for (const [p, at] of this.rosterAskedUnknown) if (now - at >= ROSTER_INTERVAL_MS) this.rosterAskedUnknown.delete(p)
      if (this.rosterAskedUnknown.has(peer)) { this.lookup(peer); return }
      this.rosterAskedUnknown.set(peer, now)
    }
    this.lastRoster = now
    this.rosterInFlight.add(peer)
    this.guard('roster', async () => {
      try {
        const records = await fetchRoster(this.node.libp2p, this.init.mesh, peer)
        if (this.stopped) return
        if (records === null) { this.lookup(peer); return }
        // Records we already hold byte for byte (what we would answer ourselves) need no second signature check.
        const held = new Set(this.rosterRecords())
        for (const b64 of records) if (!held.has(b64)) await this.admitFromRoster(b64)
        if (!this.table.known(peer)) this.lookup(peer)
      } finally { this.rosterInFlight.delete(peer) }
    })
  }

  private async admitFromRoster (b64: string): Promise<void> {
    try {
      const record = await decodeRecord(fromBase64(b64), { mesh: this.init.mesh, now: this.clock.now(), ...this.admitOpt() })
      if (record.peerId === this.node.peerId) return
      this.admit(record, b64, 'dht')
    } catch (err) {
      // Counted, but not blamed on the responder: it only relays records their owners signed.
      if (isGridmeshError(err) && isReason(err.meta?.reason)) this.counters.rejected[err.meta.reason]++
      else throw err
    }
  }
}

function zeroCounts (): Record<RecordRejectReason, number> {
  return Object.fromEntries(RECORD_REJECT_REASONS.map(r => [r, 0])) as Record<RecordRejectReason, number>
}

function isReason (r: unknown): r is RecordRejectReason {
  return typeof r === 'string' && (RECORD_REJECT_REASONS as readonly string[]).includes(r)
}

/** debounce coalesces bursts into one call `ms` after the first. */
function debounce (ms: number, fn: () => void): (() => void) & { cancel: () => void } {
  let t: ReturnType<typeof setTimeout> | null = null
  const run = (): void => {
    if (t !== null) return
    t = setTimeout(() => { t = null; fn() }, ms)
  }
  return Object.assign(run, { cancel: () => { if (t !== null) clearTimeout(t); t = null } })
}
