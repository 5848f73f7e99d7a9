/**
 * The gossipsub surface gridmesh uses, wrapped once. A topic's handler runs as
 * gossipsub's topic validator: its verdict decides whether the message is
 * delivered and forwarded, so invalid messages stop at the first honest hop.
 * Gossipsub's StrictSign (default) has already checked that `from` signed it.
 */
import { createHash } from 'node:crypto'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from '../log.ts'
import type { TopicHandler, TopicVerdict } from './transport.ts'

export type { TopicHandler, TopicMessage, TopicVerdict } from './transport.ts'

const VERDICTS: Record<TopicVerdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject
}

/** The wrapper used by MeshNode. */
export interface PubsubWrapper {
  publish: (topic: string, data: Uint8Array) => Promise<void>
  subscribe: (topic: string, handler: TopicHandler) => () => void
  onSubscriberJoin: (topic: string, cb: (peerId: string) => void) => () => void
  close: () => void
}

/** createPubsubWrapper adapts a gossipsub service. */
export function createPubsubWrapper (ps: GossipSub, log: Logger): PubsubWrapper {
  const cleanups = new Set<() => void>()
  return {
    publish: async (topic, data) => { await ps.publish(topic, data) },
    subscribe: (topic, handler) => {
      ps.topicValidators.set(topic, async (_peer: PeerId, msg: Message) => {
        if (msg.type !== 'signed') return TopicValidatorResult.Reject
        try {
          return VERDICTS[await handler({ from: msg.from.toString(), data: msg.data })]
        } catch (err) {
          log.warn({ err: String(err) }, 'topic handler threw')
          return TopicValidatorResult.Ignore
        }
      })
      ps.subscribe(topic)
      const undo = (): void => { ps.topicValidators.delete(topic); ps.unsubscribe(topic); cleanups.delete(undo) }
      cleanups.add(undo)
      return undo
    },
    onSubscriberJoin: (topic, cb) => {
      const h = (evt: CustomEvent<SubscriptionChangeData>): void => {
        try {
          if (evt.detail.subscriptions.some(s => s.subscribe && s.topic === topic)) cb(evt.detail.peerId.toString())
        } catch (err) {
          log.warn({ err: String(err) }, 'subscription handler threw')
        }
      }
      ps.addEventListener('subscription-change', h)
      const undo = (): void => { ps.removeEventListener('subscription-change', h); cleanups.delete(undo) }
      cleanups.add(undo)
      return undo
    },
    close: () => { for (const undo of [...cleanups]) undo() }
  }
}

/** The parts of a received gossipsub RPC message the fast id reads. */
interface RawRpcMessage { from?: Uint8Array, seqno?: Uint8Array, data?: Uint8Array, topic: string }

/**
 * fastMessageId lets gossipsub drop a duplicate before it checks the
 * signature: with floodPublish and a mesh, every member receives each
 * announce ~4 times, and signature checks of duplicates were the largest
 * single CPU cost of an idle daemon (profile of a 10-node lab). Gossipsub
 * stores a fast id only after the first copy passed validation, so a forged
 * copy cannot mask the real one; hashing the data too means two different
 * messages that share (from, seqno) never look alike.
 */
export function fastMessageId (msg: RawRpcMessage): string {
  const h = createHash('sha256')
  for (const part of [msg.from, msg.seqno, msg.data]) {
    h.update(Uint8Array.of(part === undefined ? 0 : 1))
    if (part !== undefined) h.update(part)
  }
  h.update(msg.topic)
  return h.digest('base64')
}
