/**
 * The libp2p node of a gridmesh daemon, built per the libp2p guide §3: TCP +
 * Noise + Yamux (+ optional PSK), identify, the `ping` service kad-dht needs
 * plus a private ping for the connection monitor (pitfall 8), a private
 * server-mode kad-dht that keeps private addresses, and gossipsub. The
 * `MeshNode` wrapper is the only place that touches the kad-dht event stream
 * and gossipsub API; the rest of gridmesh sees put/get/publish/subscribe.
 */
import { createLibp2p } from 'libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { startRedialLoop } from './redial.ts'
import { toDialAddr } from './addr.ts'
import { createPubsubWrapper } from './pubsub.ts'
import { libp2pOptions, type MeshNodeInit, type MeshServices } from './libp2p-options.ts'
import { dhtRecords } from './libp2p-dht.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Logger } from '../log.ts'
import { dialableAddrs, errText } from './transport.ts'
import { fetchRoster, serveRoster } from './roster.ts'
import type { MeshNode } from './transport.ts'

export { dialableAddrs, errText } from './transport.ts'
export { gaterOf, type MeshNodeInit, type MeshServices } from './libp2p-options.ts'
export type { DialOutcome, GaterStage, MeshNode, PutResult } from './transport.ts'

/** The libp2p adapter of the MeshNode port, with the libp2p instance for tests and the lab's attacker. */
export interface Libp2pMeshNode extends MeshNode {
  readonly libp2p: Libp2p<MeshServices>
}

/** Parsed PeerIds kept for isConnected; members are far fewer, so the cache is cleared only under abuse. */
const PARSED_ID_CACHE = 1024
const DIAL_TIMEOUT_MS = 5_000

/** createMeshNode builds and starts the node and its redial loop. */
export async function createMeshNode (init: MeshNodeInit): Promise<Libp2pMeshNode> {
  const log = init.logger
  const libp2p = await createLibp2p<MeshServices>(libp2pOptions(init))
  const self = libp2p.peerId.toString()
  const memberAddrs = new Map<string, readonly string[]>()
  const ownAddrs = (): string[] => libp2p.getMultiaddrs().map(a => a.decapsulateCode(421).toString())

  const dialAddrs = async (peerId: string, addrs: readonly string[], timeoutMs: number): Promise<string> => {
    const signal = AbortSignal.timeout(timeoutMs)
    const usable = dialableAddrs(addrs)
    const target = usable.length > 0
      ? usable.map(a => multiaddr(a).decapsulateCode(421).encapsulate(`/p2p/${peerId}`))
      : peerIdFromString(peerId)
    return (await libp2p.dial(target, { signal })).remotePeer.toString()
  }
  const dialTarget = async (id: string): Promise<string> => {
    if (id.startsWith('peer:')) {
      const peerId = id.slice(5)
      return await dialAddrs(peerId, memberAddrs.get(peerId) ?? [], DIAL_TIMEOUT_MS)
    }
    const conn = await libp2p.dial(toDialAddr(id), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    return conn.remotePeer.toString()
  }
  const isConnected = connectionCheck(libp2p)

  const own = new Set(ownAddrs())
  const seedsOf = (bootstrap: readonly string[]): string[] => bootstrap.filter(s => !own.has(toDialAddr(s).decapsulateCode(421).toString()))
  const seeds = seedsOf(init.bootstrap)
  const redial = startRedialLoop({
    dial: dialTarget,
    isConnected,
    now: Date.now,
    onError: (target, err) => { log.debug({ target, err: errText(err) }, 'redial failed') }
  }, seeds)
  redial.tick()
  const pubsub = createPubsubWrapper(libp2p.services.pubsub, log)
  const peerEvent = (name: 'peer:connect' | 'peer:disconnect') => (cb: (peerId: string) => void): () => void => {
    const h = (evt: CustomEvent<PeerId>): void => { safe(log, name, () => { cb(evt.detail.toString()) }) }
    libp2p.addEventListener(name, h)
    return () => { libp2p.removeEventListener(name, h) }
  }

  return {
    peerId: self,
    libp2p,
    ...dhtRecords(libp2p.services.dht, log, (op, ms, ok) => { safe(log, 'onDhtOp', () => { init.onDhtOp?.(op, ms, ok) }) }),
    publish: pubsub.publish,
    subscribe: pubsub.subscribe,
    onSubscriberJoin: pubsub.onSubscriberJoin,
    onPeerConnect: peerEvent('peer:connect'),
    onPeerDisconnect: peerEvent('peer:disconnect'),
    isConnected,
    dialPeer: async (peerId, addrs, o) => {
      try { await dialAddrs(peerId, addrs, o?.timeoutMs ?? DIAL_TIMEOUT_MS); return 'connected' } catch (err) {
        const outcome = isRefusal(err) ? 'refused' : 'failed'
        log.debug({ peer: peerId, outcome, err: errText(err) }, 'dial failed')
        return outcome
      }
    },
    setKnownPeers: peers => {
      memberAddrs.clear()
      for (const [id, addrs] of peers) if (id !== self) memberAddrs.set(id, addrs)
      redial.setMembers(memberAddrs)
    },
    setBootstrap: bootstrap => { redial.setSeeds(seedsOf(bootstrap)) },
    addrs: ownAddrs,
    serveRoster: async provide => await serveRoster(libp2p, init.mesh, provide, log),
    fetchRoster: async peer => await fetchRoster(libp2p, init.mesh, peer),
    hangUp: async peerId => {
      try { await libp2p.hangUp(peerIdFromString(peerId)) } catch (err) { log.debug({ peer: peerId, err: errText(err) }, 'hang up failed') }
    },
    stop: async () => { redial.stop(); pubsub.close(); await libp2p.stop() }
  }
}

/**
 * connectionCheck answers "are we connected to this PeerId?". Asked for every
 * received announce and every redial tick: parsing the PeerId each time
 * (base58 + multihash) showed up in profiles, so parsed ids are cached.
 */
function connectionCheck (libp2p: Libp2p): (peerId: string) => boolean {
  const parsedIds = new Map<string, PeerId>()
  return (peerId) => {
    let id = parsedIds.get(peerId)
    if (id === undefined) {
      try { id = peerIdFromString(peerId) } catch { return false }
      if (parsedIds.size >= PARSED_ID_CACHE) parsedIds.clear()
      parsedIds.set(peerId, id)
    }
    return libp2p.getConnections(id).length > 0
  }
}

/** isRefusal: every address answered "connection refused" (a multi-address dial fails with an AggregateError). */
export function isRefusal (err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.length > 0 && err.errors.every(isRefusal)
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ECONNREFUSED'
}

/** safe runs an event callback so that a throwing callback can't break libp2p's dispatch. */
export function safe (log: Logger, what: string, fn: () => void): void {
  try { fn() } catch (err) { log.warn({ err: errText(err), event: what }, 'event handler failed') }
}
