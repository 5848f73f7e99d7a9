/**
 * The libp2p configuration of a gridmesh node, per the libp2p guide §3: TCP +
 * Noise + Yamux (+ optional PSK), identify, the `ping` service kad-dht needs
 * plus a private ping (pitfall 8), a private server-mode kad-dht that keeps
 * private addresses, and gossipsub tuned for a small full mesh.
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
import { listenAddr } from './addr.ts'
import { fastMessageId } from './pubsub.ts'
import type { ConnectionGater, PeerId, PrivateKey } from '@libp2p/interface'
import type { KadDHT, SelectFn, ValidateFn } from '@libp2p/kad-dht'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Ping } from '@libp2p/ping'
import type { GaterStage } from './transport.ts'
import type { Logger } from '../log.ts'

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


/** Larger than any members-topic message (messages.ts caps them far below): IDONTWANT is never sent. */
const MAX_GOSSIP_IDONTWANT_OFF = 1 << 20

export /** libp2pOptions is the guide §3 configuration, parameterised by our init. */
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
