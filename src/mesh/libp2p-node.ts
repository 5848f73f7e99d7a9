/**
 * The libp2p node of a gridmesh daemon, built per the libp2p guide §3: TCP +
 * Noise + Yamux (+ optional PSK), identify, the `ping` service kad-dht needs
 * plus a private ping for the connection monitor (pitfall 8), a private
 * server-mode kad-dht that keeps private addresses, and gossipsub. The
 * `MeshNode` wrapper is the only place that touches the kad-dht event stream
 * and gossipsub API; the rest of gridmesh sees put/get/publish/subscribe.
 */
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { gossipsub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { startRedialLoop } from './redial.ts'
import { toDialAddr, listenAddr } from './addr.ts'
import { createPubsubWrapper, fastMessageId } from './pubsub.ts'
import type { ConnectionGater, Libp2p, PrivateKey, PeerId } from '@libp2p/interface'
import type { KadDHT, ValidateFn, SelectFn } from '@libp2p/kad-dht'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Ping } from '@libp2p/ping'
import type { Logger } from '../log.ts'
import { dialableAddrs, errText } from './transport.ts'
import { fetchRoster, serveRoster } from './roster.ts'
import type { MeshNode, PutResult } from './transport.ts'

export { dialableAddrs, errText } from './transport.ts'
export type { DialOutcome, MeshNode, PutResult } from './transport.ts'

/** The services every gridmesh libp2p node runs (a `type`, not an interface: ServiceMap needs an index signature). */
export type MeshServices = {
  identify: Identify
  ping: Ping
  meshPing: Ping
  dht: KadDHT
  pubsub: GossipSub
}

/** Options of createMeshNode. */
export interface MeshNodeInit {
  privateKey: PrivateKey
  mesh: string
  listen: { host: string, port: number }
  /** Multiaddrs to advertise instead of the listen addresses (e.g. behind 0.0.0.0). */
  announce?: string[]
  /** `host:port` (PeerId learned on connect) or a multiaddr, with or without /p2p/. */
  bootstrap: string[]
  validator: ValidateFn
  selector: SelectFn
  logger: Logger
  /** Everything on one IP (tests): lift gossipsub's IP-colocation penalty, allow 127/8. */
  loopbackLab?: boolean
  /** Underlay ranges exempt from the per-IP inbound rate limit, as `/ip4/…/ipcidr/N` multiaddrs. */
  allowCidrs?: string[]
  /** The 95-byte swarm-key file; when set only holders of it can connect. */
  psk?: Uint8Array
  /**
   * Closed meshes: true for a PeerId that must not connect (revoked). Consulted
   * by the connection gater before every dial, once a connection is encrypted
   * (the remote PeerId is then authenticated) and once it is upgraded; `stage`
   * says which side asked (for the log).
   */
  denyPeer?: (peerId: string, stage: GaterStage) => boolean
  /** Observer of every DHT put/get: duration and whether it failed (metrics). Must not throw. */
  onDhtOp?: (op: 'put' | 'get', ms: number, ok: boolean) => void
}

/** Where the connection gater asks about a peer: before we dial it, or on a connection it opened (inbound) or we opened (outbound). */
export type GaterStage = 'dial' | 'inbound' | 'outbound'

/** The libp2p adapter of the MeshNode port, with the libp2p instance for tests and the lab's attacker. */
export interface Libp2pMeshNode extends MeshNode {
  readonly libp2p: Libp2p<MeshServices>
}

/** Larger than any members-topic message (messages.ts caps them far below): IDONTWANT is never sent. */
const MAX_GOSSIP_IDONTWANT_OFF = 1 << 20

const DHT_TIMEOUT_MS = 10_000
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
  // Asked for every received announce and every redial tick: parsing the
  // PeerId each time (base58 + multihash) showed up in profiles.
  const parsedIds = new Map<string, PeerId>()
  const isConnected = (peerId: string): boolean => {
    let id = parsedIds.get(peerId)
    if (id === undefined) {
      try { id = peerIdFromString(peerId) } catch { return false }
      if (parsedIds.size >= PARSED_ID_CACHE) parsedIds.clear()
      parsedIds.set(peerId, id)
    }
    return libp2p.getConnections(id).length > 0
  }

  const own = new Set(ownAddrs())
  const seeds = init.bootstrap.filter(s => !own.has(toDialAddr(s).decapsulateCode(421).toString()))
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
    putRecord: async (key, value, o) => {
      const t0 = performance.now()
      let ok = false
      try {
        const r = await dhtPut(libp2p.services.dht, key, value, o?.timeoutMs ?? DHT_TIMEOUT_MS)
        ok = r.stored > 0 || r.failed === 0
        return r
      } finally { safe(log, 'onDhtOp', () => { init.onDhtOp?.('put', performance.now() - t0, ok) }) }
    },
    getRecord: async (key, o) => {
      const t0 = performance.now()
      let ok = true
      const value = await dhtGet(libp2p.services.dht, key, o?.timeoutMs ?? DHT_TIMEOUT_MS, log, () => { ok = false })
      safe(log, 'onDhtOp', () => { init.onDhtOp?.('get', performance.now() - t0, ok) })
      return value
    },
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
    addrs: ownAddrs,
    serveRoster: async provide => await serveRoster(libp2p, init.mesh, provide, log),
    fetchRoster: async peer => await fetchRoster(libp2p, init.mesh, peer),
    hangUp: async peerId => {
      try { await libp2p.hangUp(peerIdFromString(peerId)) } catch (err) { log.debug({ peer: peerId, err: errText(err) }, 'hang up failed') }
    },
    stop: async () => { redial.stop(); pubsub.close(); await libp2p.stop() }
  }
}

/** libp2pOptions is the guide §3 configuration, parameterised by our init. */
function libp2pOptions (init: MeshNodeInit): Parameters<typeof createLibp2p<MeshServices>>[0] {
  const allow = [...(init.allowCidrs ?? []), ...(init.loopbackLab === true ? ['/ip4/127.0.0.0/ipcidr/8'] : [])]
  return {
    privateKey: init.privateKey,
    addresses: { listen: [listenAddr(init.listen.host, init.listen.port)], ...(init.announce !== undefined ? { announce: init.announce } : {}) },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(init.psk !== undefined ? { connectionProtector: preSharedKey({ psk: init.psk }) } : {}),
    connectionManager: { allow },
    ...(init.denyPeer !== undefined ? { connectionGater: gaterOf(init.denyPeer) } : {}),
    // No connection monitor. Allowed to abort, it turned CPU stalls into
    // false deaths: on a saturated machine a live peer's ping can take
    // seconds, and each abort cost a reconnect, a member marked dead and its
    // WireGuard peer removed and re-added (measured: ~40 false deaths while 10
    // daemons start on 2 cores). Kept but not aborting, it only spent a ping
    // stream per connection every 5 s on an RTT nothing reads. A crashed
    // daemon still drops at once (its host answers RST); a hung or cut-off
    // one goes quiet and membership's heartbeat timeout decides (guide §0.10).
    // The private ping protocol stays served for peers that do run a monitor.
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      ping: ping(),
      meshPing: ping({ protocolPrefix: 'gridmesh' }),
      dht: kadDHT({
        protocol: `/gridmesh/${init.mesh}/kad/1.0.0`,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        validators: { gridmesh: init.validator },
        selectors: { gridmesh: init.selector },
        allowQueryWithZeroPeers: true,
        initialQuerySelfInterval: 500,
        querySelfInterval: 60_000
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Members keep a direct connection to every other member and publish
        // with floodPublish, so mesh forwarding mostly sends duplicates. A
        // small mesh degree keeps a second path for members we cannot reach
        // directly (relayed segments) at a fraction of the writes of D=6.
        D: 3,
        Dlo: 2,
        Dhi: 5,
        Dout: 1,
        // IDONTWANT (gossipsub 1.2) saves duplicates of big messages on slow
        // links; ours are ~1–2 KiB on a LAN-fast mesh, where the IDONTWANT
        // arrives after the duplicate it asks to skip. Measured at N=10: the
        // control RPCs it sends for every message cost more CPU than they saved.
        idontwantMinDataSize: MAX_GOSSIP_IDONTWANT_OFF,
        fastMsgIdFn: fastMessageId,
        ...(init.loopbackLab === true ? { scoreParams: { IPColocationFactorWeight: 0 } } : {})
      })
    }
  }
}

/**
 * gaterOf turns a PeerId predicate into a libp2p connection gater. Inbound,
 * the PeerId is only known (authenticated) once the connection is encrypted;
 * the upgraded-connection checks catch a peer revoked during the handshake.
 * Connections that already exist are not the gater's: MeshNode#hangUp closes them.
 */
export function gaterOf (deny: (peerId: string, stage: GaterStage) => boolean): ConnectionGater {
  const at = (stage: GaterStage) => (peerId: PeerId): boolean => deny(peerId.toString(), stage)
  return {
    denyDialPeer: at('dial'),
    denyOutboundConnection: at('outbound'),
    denyInboundEncryptedConnection: at('inbound'),
    denyOutboundEncryptedConnection: at('outbound'),
    denyInboundUpgradedConnection: at('inbound'),
    denyOutboundUpgradedConnection: at('outbound')
  }
}

/** dhtPut drains the put event stream and counts per-peer outcomes (put itself never fails on rejections). */
async function dhtPut (dht: KadDHT, key: string, value: Uint8Array, timeoutMs: number): Promise<PutResult> {
  const result: PutResult = { stored: 0, failed: 0 }
  const responders = new Set<string>()
  for await (const ev of dht.put(new TextEncoder().encode(key), value, { signal: AbortSignal.timeout(timeoutMs) })) {
    if (ev.name === 'PEER_RESPONSE' && ev.messageName === 'PUT_VALUE') {
      result.stored++
      responders.add(ev.from.toString())
    } else if (ev.name === 'QUERY_ERROR') {
      // An error after a PUT_VALUE response means the peer answered but did not store our value.
      if (responders.delete(ev.from.toString())) result.stored--
      result.failed++
    }
  }
  return result
}

/** dhtGet returns the value kad-dht selected (the last VALUE event), or null. */
async function dhtGet (dht: KadDHT, key: string, timeoutMs: number, log: Logger, onError?: () => void): Promise<Uint8Array | null> {
  let value: Uint8Array | null = null
  try {
    for await (const ev of dht.get(new TextEncoder().encode(key), { signal: AbortSignal.timeout(timeoutMs) })) {
      if (ev.name === 'VALUE') value = ev.value
    }
  } catch (err) {
    log.debug({ err: errText(err) }, 'dht get failed')
    onError?.()
  }
  return value
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
