/**
 * The membership service's surface: what it is given (MembershipInit) and
 * what it offers (Membership). Implemented by membership.ts.
 */
import type { MeshNode, TopicVerdict } from './transport.ts'
import type { SeqHighWater } from './record-dht.ts'
import type { MemberSnapshot } from './member-table.ts'
import type { RecordAdmission, RecordRejectReason } from './record.ts'
import type { Time } from '../time/clock.ts'
import type { Logger } from '../log.ts'

/** Collaborators and options of createMembership. */
export interface MembershipInit {
  node: MeshNode
  /** Produces our current signed record (called at start and on every republish: fresh expiresAt). */
  ownRecord: () => Promise<Uint8Array>
  mesh: string
  logger: Logger
  /** Shared with the DHT validator so both refuse replays below what we accepted. */
  seqs: SeqHighWater
  /** Clock and timers; every timing decision of membership reads them. */
  time: Time
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
  /**
   * The check every record must pass when decoded (ours included), pure, no
   * I/O: another peer's record with our own WireGuard key is refused, and in
   * a closed mesh the record must carry a certificate that binds it.
   */
  recordCheck?: RecordAdmission
  /**
   * Closed meshes: run on every record right after it decoded, before it is
   * offered to the member table: the bounded wait for a first-seen member's
   * revocation lookups in the DHT. A refusal throws RECORD_INVALID 'revoked'.
   */
  revocationCheck?: RecordAdmission
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
