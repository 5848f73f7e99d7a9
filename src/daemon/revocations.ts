/**
 * What a member does with revocations in a closed mesh: verify and keep
 * them (persisted), spread them (DHT + members topic), and drop a revoked
 * node everywhere at once — member table, WireGuard (by the next reconcile),
 * libp2p connections, and the connection gater afterwards. Node and
 * membership are bound late: the gater needs this before the node exists.
 */
import { encodeRevocation, revocationKey, verifyRevocation } from '../admission/revocation.ts'
import { ErrorCodes, GridmeshError, isGridmeshError } from '../errors.ts'
import type { ClosedMesh } from './admission.ts'
import type { Logger } from '../log.ts'
import type { MeshNode } from '../mesh/libp2p-node.ts'
import type { Membership } from '../mesh/membership.ts'
import type { TopicVerdict } from '../mesh/pubsub.ts'
import type { RecordAdmission } from '../mesh/record.ts'

export interface RevocationsInit {
  readonly closed: ClosedMesh | null
  readonly admit: RecordAdmission | undefined
  readonly self: string
  readonly mesh: string
  readonly log: Logger
  readonly node: () => Pick<MeshNode, 'putRecord' | 'hangUp'>
  readonly membership: () => Pick<Membership, 'evict' | 'members' | 'publishRevocation'>
}

export interface Revocations {
  /** The connection gater's question: is this peer revoked? */
  isDenied (peer: string): boolean
  /** A peer refused as revoked by the record checks (token revocations name no PeerId). */
  dropPeer (peer: string): void
  /** Verifies and keeps one revocation; 'added' the first time. Throws RECORD_INVALID revocation-*. */
  apply (text: string): Promise<{ id: string, result: 'added' | 'known' | 'full', text: string }>
  /** The members-topic handler: known revocations are not re-flooded. */
  onRevoke (text: string): Promise<TopicVerdict>
  /** Re-publishes every known revocation (at start and when someone joins) so late joiners learn them. */
  publishAll (): Promise<void>
}

export function createRevocations (init: RevocationsInit): Revocations {
  const { closed, admit, self, log } = init
  const revokedPeers = new Set<string>()

  const dropPeer = (peer: string): void => {
    if (peer === self) {
      log.error({ peer }, 'this node has been revoked by the mesh authority: no member will accept it; stop it and ask the mesh admin')
      return
    }
    if (revokedPeers.has(peer)) return
    revokedPeers.add(peer)
    init.membership().evict(peer)
    void init.node().hangUp(peer)
  }

  /** Re-checks every member against the revocation set (token revocations name no peer). */
  const evictRevoked = async (): Promise<void> => {
    if (admit === undefined) return
    for (const [id, m] of init.membership().members()) {
      try { await admit(m.record, Date.now()) } catch (err) {
        if (isGridmeshError(err) && err.meta?.reason === 'revoked') dropPeer(id)
      }
    }
  }

  const apply: Revocations['apply'] = async (text) => {
    if (closed === null) throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'this mesh is open (no --authority): it has no revocations')
    const rev = await verifyRevocation(text, closed.anchor)
    const result = closed.revocations.add(rev)
    if (result === 'full') log.error({ id: rev.id }, 'revocation NOT recorded: the revocation list is full; rotate the mesh authority')
    if (result === 'added') {
      log.warn({ id: rev.id, peer: rev.peerId, tokenId: rev.tokenId, reason: rev.reason }, 'revocation received')
      await closed.saveRevocations()
      if (rev.peerId !== null) dropPeer(rev.peerId)
      await evictRevoked()
      void init.node().putRecord(revocationKey(init.mesh, rev.id), rev.bytes).catch((err: unknown) => { log.debug({ err: String(err) }, 'revocation put failed') })
    }
    return { id: rev.id, result, text: encodeRevocation(rev) }
  }

  return {
    isDenied: peer => revokedPeers.has(peer) || (closed?.revocations.has(`peer-${peer}`) ?? false),
    dropPeer,
    apply,
    onRevoke: async (text) => (await apply(text)).result === 'added' ? 'accept' : 'ignore',
    publishAll: async () => {
      for (const rev of closed?.revocations.list() ?? []) {
        await init.membership().publishRevocation(encodeRevocation(rev))
        await init.node().putRecord(revocationKey(init.mesh, rev.id), rev.bytes)
      }
    }
  }
}
