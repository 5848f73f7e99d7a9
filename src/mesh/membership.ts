/**
 * Membership: who is in the mesh now. Durable knowledge comes from the DHT
 * (our record is put at start, on change and every republishMs; unknown
 * connected peers are looked up); fast knowledge from the members topic
 * (announce = record + heartbeat, leave) and connection events
 * (member-discovery.ts). Decisions live in MemberTable/liveness (pure); this
 * module drives them through the MeshNode port (transport.ts) on an injected
 * clock and timers, and never lets peer input crash it: every handler
 * catches, refusals are counted.
 */
import { decodeRecord, RECORD_REJECT_REASONS } from './record.ts'
import { recordKey } from './record-dht.ts'
import { decodeMessage, encodeMessage, membersTopic, toBase64, fromBase64 } from './messages.ts'
import { MemberTable } from './member-table.ts'
import { isReason, MemberDiscovery } from './member-discovery.ts'
import { livenessConfig } from './liveness.ts'
import { errText } from './transport.ts'
import { debounce, sleep } from '../time/clock.ts'
import { isGridmeshError } from '../errors.ts'
import type { LivenessConfig } from './liveness.ts'
import type { Membership, MembershipCounters, MembershipInit } from './membership-api.ts'
import type { MeshNode, TopicMessage, TopicVerdict } from './transport.ts'
import type { MemberSnapshot, RecordSource } from './member-table.ts'
import type { NodeRecord, RecordRejectReason } from './record.ts'
import type { Cancel, Time } from '../time/clock.ts'
import type { Logger } from '../log.ts'

export type { MemberSnapshot, MemberView } from './member-table.ts'

export type { Membership, MembershipCounters, MembershipInit } from './membership-api.ts'

const CHANGE_DEBOUNCE_MS = 20
const ANNOUNCE_DEBOUNCE_MS = 50
const LEAVE_FLUSH_MS = 150

/** createMembership wires a MemberTable to a MeshNode. Call start(). */
export function createMembership (init: MembershipInit): Membership {
  return new MembershipService(init)
}

class MembershipService implements Membership {
  readonly counters: MembershipCounters = { rejected: zeroCounts(), unhandled: 0 }
  private readonly node: MeshNode
  private readonly log: Logger
  private readonly time: Time
  private readonly cfg: LivenessConfig
  private readonly topic: string
  private readonly table: MemberTable
  private readonly discovery: MemberDiscovery
  private readonly listeners = new Set<(s: MemberSnapshot) => void>()
  private readonly timers: Cancel[] = []
  private readonly undo: Array<() => void> = []
  private readonly changed: (() => void) & { cancel: () => void }
  private readonly announceSoon: (() => void) & { cancel: () => void }
  private own: { bytes: Uint8Array, record: NodeRecord } | null = null
  private stopped = false
  private readonly init: MembershipInit

  constructor (init: MembershipInit) {
    this.init = init
    this.node = init.node
    this.log = init.logger
    this.time = init.time
    this.cfg = livenessConfig(init.heartbeatMs, init.deadAfterMs)
    this.topic = membersTopic(init.mesh)
    this.table = new MemberTable(this.cfg, init.linksKey === undefined ? {} : { linksKey: init.linksKey })
    this.changed = debounce(this.time, CHANGE_DEBOUNCE_MS, () => { this.emitChange() })
    this.announceSoon = debounce(this.time, ANNOUNCE_DEBOUNCE_MS, () => { this.guard('announce', async () => { await this.announceNow() }) })
    this.discovery = new MemberDiscovery({
      node: this.node, table: this.table, time: this.time, log: this.log, lookupDelayMs: init.lookupDelayMs ?? 300,
      stopped: () => this.stopped,
      changed: () => { this.changed() },
      guard: (what, fn) => { this.guard(what, fn) },
      putOwn: async () => { await this.putOwn() },
      ownRecordB64: () => this.own === null ? null : toBase64(this.own.bytes),
      decode: async (bytes, expectedPeerId) => await this.decode(bytes, expectedPeerId),
      offer: (record, b64, source) => this.offer(record, b64, source),
      refuse: (reason, peer) => this.refuse(reason, peer),
      countRejected: reason => { this.counters.rejected[reason]++ },
      recordKey: peer => recordKey(init.mesh, peer)
    })
  }

  async start (): Promise<void> {
    const { node } = this
    this.undo.push(node.subscribe(this.topic, async msg => await this.onMessage(msg)))
    this.undo.push(node.onSubscriberJoin(this.topic, () => { this.announceSoon() }))
    this.undo.push(node.onPeerConnect(peer => { this.discovery.onConnect(peer) }))
    const unserve = await node.serveRoster(() => this.discovery.rosterRecords())
    this.undo.push(() => { void unserve().catch(() => {}) })
    this.undo.push(node.onPeerDisconnect(peer => { this.discovery.onDisconnect(peer) }))
    await this.setOwnRecord(await this.init.ownRecord())
    this.every(this.cfg.heartbeatMs, () => { this.guard('heartbeat', async () => { await this.announceNow() }) })
    this.every(Math.max(20, Math.min(100, this.cfg.heartbeatMs / 10)), () => { if (this.table.tick(this.time.now())) this.changed() })
    this.every(this.init.republishMs ?? 600_000, () => { this.guard('republish', async () => { await this.republish() }) })
  }

  async stop ({ leave }: { leave: boolean }): Promise<void> {
    if (this.stopped) return
    for (const cancel of this.timers) cancel()
    this.announceSoon.cancel(); this.changed.cancel()
    if (leave && this.own !== null) {
      try {
        await this.node.publish(this.topic, encodeMessage({ v: 1, type: 'leave', seq: this.own.record.seq }))
        await sleep(this.time, LEAVE_FLUSH_MS) // let the streams flush
      } catch (err) { this.log.warn({ err: errText(err) }, 'leave not published') }
    }
    this.stopped = true
    for (const u of this.undo) u()
  }

  async setOwnRecord (bytes: Uint8Array): Promise<void> {
    const record = await this.decode(bytes, this.node.peerId)
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
    if (this.table.leave(peerId, Number.MAX_SAFE_INTEGER, this.time.now()) === 'changed') {
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

  private every (ms: number, fn: () => void): void { this.timers.push(this.time.setInterval(fn, ms)) }

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
      if (r.stored > 0) this.discovery.storedRemotely = true
      this.log.debug({ stored: r.stored, failed: r.failed }, 'own record put')
    } catch (err) {
      this.log.debug({ err: errText(err) }, 'own record put failed')
    }
  }

  /**
   * decode checks a record (signature, fields, expiry, and the pure certificate
   * check in a closed mesh) for `expectedPeerId` (any signer when undefined);
   * then, outside validation, the revocation lookups of a closed mesh.
   */
  private async decode (bytes: Uint8Array, expectedPeerId: string | undefined): Promise<NodeRecord> {
    const check = this.init.recordCheck
    const now = this.time.now()
    const record = await decodeRecord(bytes, {
      mesh: this.init.mesh, now,
      ...(expectedPeerId === undefined ? {} : { expectedPeerId }),
      ...(check === undefined ? {} : { admit: check })
    })
    await this.init.revocationCheck?.(record, now)
    return record
  }

  /** verifyRecord decodes a record for `peer`, reusing the member's last verified copy when identical. */
  private async verifyRecord (peer: string, b64: string): Promise<NodeRecord> {
    const cur = this.table.recordOf(peer)
    if (cur !== undefined && cur.recordB64 === b64 && cur.record.expiresAt > this.time.now()) return cur.record
    return await this.decode(fromBase64(b64), peer)
  }

  /** offer hands a verified record to the member table; the verdict decides gossip forwarding. */
  private offer (record: NodeRecord, b64: string, source: RecordSource, linkReport?: unknown): TopicVerdict {
    const peer = record.peerId
    if (record.seq < this.init.seqs.get(peer)) return this.refuse('stale-seq', peer)
    const known = this.table.has(peer)
    const outcome = this.table.offer(record, b64, source, this.time.now(), this.node.isConnected(peer), linkReport)
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
      if (m.type === 'announce') return this.offer(await this.verifyRecord(msg.from, m.record), m.record, 'announce', m.links)
      if (m.type === 'revoke') return this.init.onRevoke === undefined ? 'ignore' : await this.init.onRevoke(m.revocation, msg.from)
      const outcome = this.table.leave(msg.from, m.seq, this.time.now())
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
}

function zeroCounts (): Record<RecordRejectReason, number> {
  return Object.fromEntries(RECORD_REJECT_REASONS.map(r => [r, 0])) as Record<RecordRejectReason, number>
}
