/**
 * What a member does with revocations in a closed mesh: verify and keep
 * them (persisted), spread them (DHT + members topic), and drop a revoked
 * node everywhere at once — member table, WireGuard (by the next reconcile),
 * libp2p connections, and the connection gater afterwards.
 *
 * Gossip only reaches nodes that are up. A node that was down (or cut off)
 * when a revocation went out reads it back from the DHT instead: before it
 * first admits a member it looks up the two keys that member could be revoked
 * under (its PeerId and its certificate's join token; revocation-lookup.ts),
 * waiting a bounded time for the answer, and re-checks members on a schedule.
 * Every revocation it knows it re-puts at start and on a timer, because DHT
 * holders drop values 48 h after they were put.
 *
 * Node and membership are bound late: the gater needs this before the node exists.
 */
import { verifyCertificate } from '../admission/certificate.ts'
import { admissionInvalid, fromBase64url } from '../admission/codec.ts'
import { encodeRevocation, revocationKey, verifyRevocation } from '../admission/revocation.ts'
import { DEFAULT_LOOKUP_TIMING, RevocationLookups, revocationIdsOf } from '../admission/revocation-lookup.ts'
import { ErrorCodes, GridmeshError, isGridmeshError } from '../errors.ts'
import type { Revocation } from '../admission/revocation.ts'
import type { LookupOutcome, LookupTiming } from '../admission/revocation-lookup.ts'
import type { ClosedMesh } from './admission.ts'
import type { Logger } from '../log.ts'
import type { GaterStage, MeshNode } from '../mesh/libp2p-node.ts'
import type { Membership } from '../mesh/membership.ts'
import type { TopicVerdict } from '../mesh/pubsub.ts'
import type { RecordAdmission } from '../mesh/record.ts'

/** How a revocation reached us (logged; 'dht' ones are not put back). */
export type RevocationSource = 'admin' | 'gossip' | 'dht'

/** Timers of the DHT read-back; tests shorten them. */
export interface RevocationTiming {
  readonly lookup: LookupTiming
  /**
   * How long admitting a member we have never checked waits for its first
   * lookups. Then it goes ahead (fail open: "no answer" from a slow or
   * eclipsed DHT must not keep honest members out), and a revocation found
   * later still drops it.
   */
  readonly firstLookupWaitMs: number
  /** Timeout of one DHT get. */
  readonly lookupTimeoutMs: number
  /** How often members are re-checked (only ids that are due are looked up). */
  readonly tickMs: number
  /** Re-put period of every known revocation (DHT holders drop values after 48 h). */
  readonly reputMs: number
  /** Delay of the first re-put after start (the DHT has peers by then). */
  readonly firstPutMs: number
}

export const DEFAULT_REVOCATION_TIMING: RevocationTiming = {
  lookup: DEFAULT_LOOKUP_TIMING,
  firstLookupWaitMs: 3_000,
  lookupTimeoutMs: 5_000,
  tickMs: 5_000,
  reputMs: 6 * 3_600_000,
  firstPutMs: 2_000
}

/** A gater refusal of the same peer at the same stage is logged at most this often. */
const REFUSAL_LOG_MS = 60_000

export interface RevocationsInit {
  readonly closed: ClosedMesh | null
  /** The plain certificate check (record-admission.ts): no I/O. */
  readonly admit: RecordAdmission | undefined
  readonly self: string
  readonly mesh: string
  readonly log: Logger
  readonly node: () => Pick<MeshNode, 'putRecord' | 'getRecord' | 'hangUp' | 'onPeerConnect'>
  readonly membership: () => Pick<Membership, 'evict' | 'members' | 'publishRevocation'>
  readonly now?: () => number
  readonly timing?: Partial<RevocationTiming>
}

export interface Revocations {
  /** The connection gater's question: is this peer revoked? With `stage`, a refusal is logged (rate-limited). */
  isDenied (peer: string, stage?: GaterStage): boolean
  /** A peer refused as revoked by the record checks (token revocations name no PeerId). */
  dropPeer (peer: string): void
  /**
   * Verifies and keeps one revocation; 'added' the first time, and then the
   * revoked node is dropped at once. Throws RECORD_INVALID revocation-* (and
   * changes nothing) for input that does not verify.
   */
  apply (input: string | Uint8Array, source: RevocationSource): Promise<{ id: string, result: 'added' | 'known' | 'full', text: string }>
  /** The members-topic handler: known revocations are not re-flooded. */
  onRevoke (text: string): Promise<TopicVerdict>
  /**
   * Membership's record check: the plain certificate check, then — the first
   * time a member is seen — a bounded wait for its revocation lookups in the DHT.
   */
  admitMember: RecordAdmission
  /** admitMember's DHT half alone, for a record whose certificate its decoding checked. */
  awaitLookups: RecordAdmission
  /** Puts every known revocation into the DHT. */
  putAll (): Promise<void>
  /** Starts the re-put and re-check timers and the hang-up of denied peers; returns the stop function. */
  start (): () => void
}

export function createRevocations (init: RevocationsInit): Revocations {
  const { closed, admit, self, log } = init
  const now = init.now ?? Date.now
  const timing: RevocationTiming = { ...DEFAULT_REVOCATION_TIMING, ...init.timing }
  const revokedPeers = new Set<string>()
  const refusalLogged = new Map<string, number>()
  const lookups = new RevocationLookups(timing.lookup)
  const pending = new Map<string, Promise<void>>()
  /** The lookup ids of each member's current certificate (saves re-verifying it on every re-check). */
  const idsByPeer = new Map<string, { cert: string, ids: readonly string[] }>()
  let saving: Promise<void> = Promise.resolve()
  /** Set by start()'s stop: a lookup that answers after it changes nothing (the node is going away). */
  let stopped = false

  const dropPeer = (peer: string): void => {
    if (peer === self) {
      log.error({ peer }, 'this node has been revoked by the mesh authority: no member will accept it; stop it and ask the mesh admin')
      return
    }
    if (revokedPeers.has(peer)) return
    revokedPeers.add(peer)
    try { init.membership().evict(peer) } catch {} // not started yet: nothing to evict
    try { void init.node().hangUp(peer) } catch {}
  }

  const isDenied = (peer: string, stage?: GaterStage): boolean => {
    const denied = revokedPeers.has(peer) || (closed?.revocations.has(`peer-${peer}`) ?? false)
    if (denied && stage !== undefined) {
      const t = now()
      const key = `${stage} ${peer}`
      if (t - (refusalLogged.get(key) ?? Number.NEGATIVE_INFINITY) >= REFUSAL_LOG_MS) {
        if (refusalLogged.size >= 1024) refusalLogged.clear()
        refusalLogged.set(key, t)
        log.info({ peer, stage }, 'connection refused: revoked peer')
      }
    }
    return denied
  }

  /** Re-checks every member against the revocation set (token revocations name no peer). */
  const evictRevoked = async (): Promise<void> => {
    if (admit === undefined) return
    let members
    try { members = init.membership().members() } catch { return }
    for (const [id, m] of members) {
      try { await admit(m.record, now()) } catch (err) {
        if (isGridmeshError(err) && err.meta?.reason === 'revoked') dropPeer(id)
      }
    }
  }

  /** Writes are serialized: two at once would race on the same temporary file. */
  const persist = async (): Promise<void> => {
    if (closed === null) return
    const next = saving.then(async () => { await closed.saveRevocations() })
    saving = next.catch(() => {})
    try { await next } catch (err) {
      log.error({ err: String(err) }, 'revocations not saved: they are enforced now, but a restart would have to read them back from the mesh')
    }
  }

  /** accept: a verified revocation. Enforced before it is persisted, so a disk error can't leave it half-applied. */
  const accept = async (rev: Revocation, source: RevocationSource): Promise<'added' | 'known' | 'full'> => {
    if (closed === null) return 'known'
    const result = closed.revocations.add(rev)
    if (result === 'full') log.error({ id: rev.id }, 'revocation NOT recorded: the revocation list is full; rotate the mesh authority')
    if (result !== 'added') return result
    log.warn({ id: rev.id, peer: rev.peerId, tokenId: rev.tokenId, reason: rev.reason, source }, 'revocation received')
    if (rev.peerId !== null) dropPeer(rev.peerId)
    await evictRevoked()
    await persist()
    if (source !== 'dht') {
      try {
        void init.node().putRecord(revocationKey(init.mesh, rev.id), rev.bytes).catch((err: unknown) => { log.debug({ err: String(err) }, 'revocation put failed') })
      } catch {}
    }
    return result
  }

  const apply: Revocations['apply'] = async (input, source) => {
    if (closed === null) throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'this mesh is open (no --authority): it has no revocations')
    const rev = await verifyRevocation(input, closed.anchor)
    const result = await accept(rev, source)
    return { id: rev.id, result, text: encodeRevocation(rev) }
  }

  /** fromDht: what a DHT get returned for `id`; true when it is a revocation we now hold. Bad answers change nothing. */
  const fromDht = async (id: string, bytes: Uint8Array): Promise<boolean> => {
    if (closed === null) return false
    let rev: Revocation
    try {
      rev = await verifyRevocation(bytes, closed.anchor)
    } catch (err) {
      log.warn({ id, reason: isGridmeshError(err) ? err.meta?.reason : String(err) }, 'DHT returned a revocation that does not verify: ignored')
      return false
    }
    if (rev.id !== id) {
      log.warn({ id, got: rev.id }, 'DHT returned another revocation than the one asked for: ignored')
      return false
    }
    await accept(rev, 'dht')
    return true
  }

  const lookupOne = async (id: string): Promise<void> => {
    let outcome: LookupOutcome = 'clear'
    try {
      const bytes = await init.node().getRecord(revocationKey(init.mesh, id), { timeoutMs: timing.lookupTimeoutMs })
      if (bytes !== null && !stopped && await fromDht(id, bytes)) outcome = 'found'
    } catch (err) {
      log.debug({ id, err: String(err) }, 'revocation lookup failed')
    } finally {
      lookups.done(id, outcome, now())
      pending.delete(id)
    }
  }

  /** lookUp starts the lookups of `ids` that are due (ids we already hold are never looked up). */
  const lookUp = (ids: readonly string[]): void => {
    if (closed === null) return
    for (const id of lookups.take(ids.filter(i => !closed.revocations.has(i)), now())) {
      pending.set(id, lookupOne(id))
    }
  }

  /** idsOf: the lookup ids of a record whose certificate the plain check just accepted. */
  const idsOf = async (peer: string, cert: string, at: number): Promise<readonly string[]> => {
    const known = idsByPeer.get(peer)
    if (known?.cert === cert) return known.ids
    if (closed === null) return []
    const bytes = fromBase64url(cert)
    if (bytes === null) throw admissionInvalid('cert-malformed', 'certificate is not base64url')
    const c = await verifyCertificate(bytes, { ...closed.anchor, now: at })
    const ids = revocationIdsOf({ peerId: c.peerId, tokenId: c.token.tokenId })
    if (idsByPeer.size >= timing.lookup.maxEntries) idsByPeer.clear()
    idsByPeer.set(peer, { cert, ids })
    return ids
  }

  const admitMember: RecordAdmission = async (record, at) => {
    if (admit === undefined || closed === null) return
    await admit(record, at) // garbage and strangers stop here, before they cost a DHT lookup
    await awaitLookups(record, at)
  }

  const awaitLookups: RecordAdmission = async (record, at) => {
    if (closed === null || record.peerId === self || record.cert === undefined) return
    const ids = await idsOf(record.peerId, record.cert, at)
    lookUp(ids)
    const first = ids.filter(id => !lookups.answered(id)).flatMap(id => { const p = pending.get(id); return p === undefined ? [] : [p] })
    if (first.length > 0) await within(Promise.all(first), timing.firstLookupWaitMs)
    if (ids.some(id => closed.revocations.has(id))) {
      throw admissionInvalid('revoked', `peer ${record.peerId} or its join token is revoked (read back from the DHT)`)
    }
  }

  const putAll = async (): Promise<void> => {
    for (const rev of closed?.revocations.list() ?? []) {
      try { await init.node().putRecord(revocationKey(init.mesh, rev.id), rev.bytes) } catch (err) {
        log.debug({ id: rev.id, err: String(err) }, 'revocation put failed')
      }
    }
  }

  /** recheck: due lookups of every member; forgets the ids of peers that are no longer members. */
  const recheck = (): void => {
    let members
    try { members = init.membership().members() } catch { return }
    for (const peer of idsByPeer.keys()) if (!members.has(peer)) idsByPeer.delete(peer)
    for (const peer of members.keys()) {
      const ids = idsByPeer.get(peer)?.ids
      if (ids !== undefined) lookUp(ids)
    }
  }

  return {
    isDenied,
    dropPeer,
    apply,
    onRevoke: async (text) => (await apply(text, 'gossip')).result === 'added' ? 'accept' : 'ignore',
    admitMember,
    awaitLookups,
    putAll,
    start: () => {
      if (closed === null) return () => {}
      const node = init.node()
      // A connection that was mid-handshake when its peer got revoked passed the gater: close it now.
      const offConnect = node.onPeerConnect(peer => { if (isDenied(peer)) void node.hangUp(peer) })
      const timers = [
        setInterval(recheck, timing.tickMs),
        setTimeout(() => { void putAll() }, timing.firstPutMs),
        // Jittered so members don't all re-put at the same moment.
        setInterval(() => { void putAll() }, Math.round(timing.reputMs * (0.9 + Math.random() * 0.2)))
      ]
      for (const t of timers) t.unref()
      return () => { stopped = true; offConnect(); for (const t of timers) clearTimeout(t) }
    }
  }
}

/** within waits for `p` at most `ms` (p keeps running; its errors are the caller's to handle elsewhere). */
async function within (p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([p.then(() => {}, () => {}), new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })])
  } finally {
    clearTimeout(timer)
  }
}
