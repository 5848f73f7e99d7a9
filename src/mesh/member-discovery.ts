/**
 * How membership learns about peers beyond the members topic: on a
 * connection, ask the peer for its roster (or look its record up in the DHT);
 * on a disconnect, suspect the member and redial it at once (a refused redial
 * is the kill -9 signal). Every record learned here is verified like a DHT
 * answer. Works through the MeshNode port on injected time.
 */
import { fromBase64, toBase64 } from './messages.ts'
import { isGridmeshError } from '../errors.ts'
import { RECORD_REJECT_REASONS } from './record.ts'
import { sleep } from '../time/clock.ts'
import type { MemberTable, RecordSource } from './member-table.ts'
import type { DialOutcome, MeshNode, TopicVerdict } from './transport.ts'
import type { NodeRecord, RecordRejectReason } from './record.ts'
import type { Time } from '../time/clock.ts'
import type { Logger } from '../log.ts'

/** A roster is fetched at most this often: one from any member is the whole mesh. */
const ROSTER_INTERVAL_MS = 5_000
const REDIAL_TIMEOUT_MS = 2_000
/** A redial that failed faster than this (a reset, not a timeout) is retried, REDIAL_ATTEMPTS in all, REDIAL_RETRY_MS apart. */
const REDIAL_FAST_FAILURE_MS = 500
const REDIAL_ATTEMPTS = 3
const REDIAL_RETRY_MS = 100

/** What discovery needs from the membership service. */
export interface DiscoveryContext {
  readonly node: MeshNode
  readonly table: MemberTable
  readonly time: Time
  readonly log: Logger
  readonly lookupDelayMs: number
  stopped: () => boolean
  changed: () => void
  guard: (what: string, fn: () => Promise<unknown>) => void
  putOwn: () => Promise<void>
  ownRecordB64: () => string | null
  decode: (bytes: Uint8Array, expectedPeerId: string | undefined) => Promise<NodeRecord>
  offer: (record: NodeRecord, b64: string, source: RecordSource) => TopicVerdict
  refuse: (reason: RecordRejectReason, peer: string) => TopicVerdict
  countRejected: (reason: RecordRejectReason) => void
  recordKey: (peer: string) => string
}

export class MemberDiscovery {
  /** Whether some peer stored our record (the first node of a mesh had nobody to store it). */
  storedRemotely = false
  private readonly cx: DiscoveryContext
  private readonly lookups = new Set<string>()
  private lastRoster = 0
  /** Peers a roster request is out to, and when each unknown peer was last asked (see fetchRosterFrom). */
  private readonly rosterInFlight = new Set<string>()
  private readonly rosterAskedUnknown = new Map<string, number>()

  constructor (cx: DiscoveryContext) { this.cx = cx }

  onConnect (peer: string): void {
    const { table, time } = this.cx
    if (table.event(peer, { type: 'connect', at: time.now() })) this.cx.changed()
    // The first node of a mesh put its record with nobody to store it: redo once a peer appears.
    if (!this.storedRemotely) this.cx.guard('put', this.cx.putOwn)
    this.fetchRosterFrom(peer)
  }

  /** onDisconnect: suspect at once, and redial right away — a refused redial is the kill -9 signal. */
  onDisconnect (peer: string): void {
    const { table, time } = this.cx
    if (!table.has(peer)) return
    if (table.event(peer, { type: 'disconnect', at: time.now() })) this.cx.changed()
    const addrs = table.recordOf(peer)?.record.addrs ?? []
    this.cx.guard('redial', async () => {
      const outcome = await this.redialAfterDisconnect(peer, addrs)
      // Only a refusal is crash evidence; a slow dial leaves the verdict to heartbeat silence.
      if (outcome === 'failed' || this.cx.stopped()) return
      const type = outcome === 'connected' ? 'connect' as const : 'redial-failed' as const
      if (table.event(peer, { type, at: time.now() })) this.cx.changed()
    })
  }

  /** rosterRecords is what we answer a roster request with: our record and every live member's, as signed by their owners. */
  rosterRecords (): string[] {
    const own = this.cx.ownRecordB64()
    const out = own === null ? [] : [own]
    for (const id of this.cx.table.snapshot().keys()) {
      const r = this.cx.table.recordOf(id)
      if (r !== undefined) out.push(r.recordB64)
    }
    return out
  }

  /**
   * redialAfterDisconnect dials once more, retrying a dial that failed fast:
   * right after a kill -9 the kernel may still complete our TCP handshake on
   * the dying listener and then reset it (ECONNRESET in the handshake), and
   * only the next attempt gets the refusal. A timeout is not retried.
   */
  private async redialAfterDisconnect (peer: string, addrs: readonly string[]): Promise<DialOutcome> {
    const { node, time, log } = this.cx
    for (let attempt = 1; ; attempt++) {
      const started = time.now()
      const outcome = await node.dialPeer(peer, addrs, { timeoutMs: REDIAL_TIMEOUT_MS })
      log.debug({ peer, outcome, attempt }, 'redial after disconnect')
      const fast = time.now() - started < REDIAL_FAST_FAILURE_MS
      if (outcome !== 'failed' || !fast || attempt >= REDIAL_ATTEMPTS || this.cx.stopped()) return outcome
      await sleep(time, REDIAL_RETRY_MS)
    }
  }

  /** lookup fetches a connected peer's record from the DHT when no announce brought it. */
  private lookup (peer: string): void {
    if (this.lookups.has(peer) || this.cx.table.known(peer)) return
    this.lookups.add(peer)
    this.cx.time.setTimeout(() => {
      this.cx.guard('lookup', async () => {
        try { await this.lookupNow(peer) } finally { this.lookups.delete(peer) }
      })
    }, this.cx.lookupDelayMs)
  }

  private async lookupNow (peer: string): Promise<void> {
    const { table } = this.cx
    if (this.cx.stopped() || table.known(peer)) return
    const bytes = await this.cx.node.getRecord(this.cx.recordKey(peer))
    if (bytes === null || this.cx.stopped() || table.known(peer)) return // a failed lookup keeps what we had
    try {
      this.cx.offer(await this.cx.decode(bytes, peer), toBase64(bytes), 'dht')
    } catch (err) {
      if (isGridmeshError(err) && isReason(err.meta?.reason)) this.cx.refuse(err.meta.reason, peer)
      else throw err
    }
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
    const now = this.cx.time.now()
    if (this.rosterInFlight.has(peer)) return
    if (this.cx.table.known(peer)) {
      if (now - this.lastRoster < ROSTER_INTERVAL_MS) return
    } else {
      for (const [p, at] of this.rosterAskedUnknown) if (now - at >= ROSTER_INTERVAL_MS) this.rosterAskedUnknown.delete(p)
      if (this.rosterAskedUnknown.has(peer)) { this.lookup(peer); return }
      this.rosterAskedUnknown.set(peer, now)
    }
    this.lastRoster = now
    this.rosterInFlight.add(peer)
    this.cx.guard('roster', async () => {
      try {
        const records = await this.cx.node.fetchRoster(peer)
        if (this.cx.stopped()) return
        if (records === null) { this.lookup(peer); return }
        // Records we already hold byte for byte (what we would answer ourselves) need no second signature check.
        const held = new Set(this.rosterRecords())
        for (const b64 of records) if (!held.has(b64)) await this.offerFromRoster(b64)
        if (!this.cx.table.known(peer)) this.lookup(peer)
      } finally { this.rosterInFlight.delete(peer) }
    })
  }

  private async offerFromRoster (b64: string): Promise<void> {
    try {
      const record = await this.cx.decode(fromBase64(b64), undefined)
      if (record.peerId === this.cx.node.peerId) return
      this.cx.offer(record, b64, 'dht')
    } catch (err) {
      // Counted, but not blamed on the responder: it only relays records their owners signed.
      if (isGridmeshError(err) && isReason(err.meta?.reason)) this.cx.countRejected(err.meta.reason)
      else throw err
    }
  }
}

/** isReason: is this a record refusal reason (RECORD_INVALID meta)? */
export function isReason (r: unknown): r is RecordRejectReason {
  return typeof r === 'string' && (RECORD_REJECT_REASONS as readonly string[]).includes(r)
}
