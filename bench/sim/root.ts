/**
 * The simulator's composition root: one gridmesh node's mesh services
 * (src/daemon/mesh-services.ts: the real membership, liveness, link-state,
 * routing and reconcile code) wired to a simulated network, the fake
 * WireGuard and ip drivers, in-memory state and one shared virtual time.
 * It follows test/unit/component/fake-root.ts (the component tests' root)
 * with two differences: it takes any network offering `node` and
 * `probeSockets` (the simulator's or the component tests' MemoryNetwork),
 * and it keeps an index of the WireGuard peers after every apply, so the
 * simulator can ask "has this node acted on that event" in O(1).
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { Registry } from 'prom-client'
import { configSchema, DEFAULTS } from '../../src/config/schema.ts'
import { choosePrefix, meshPrefixFromName } from '../../src/mesh/allocation.ts'
import { nextSeq, type NodeState } from '../../src/mesh/node-state.ts'
import { createFakeNetDriver } from '../../src/net/fake.ts'
import { createFakeWireGuardDriver } from '../../src/wireguard/fake.ts'
import { wgPublicKeyFromPrivate } from '../../src/keys/wg-key.ts'
import { createMetrics } from '../../src/metrics/registry.ts'
import { startMeshServices, type MeshServicesHandle } from '../../src/daemon/mesh-services.ts'
import { createLinkProber } from '../../src/routing/prober.ts'
import { testLogger } from '../../src/log.ts'
import type { MeshNode } from '../../src/mesh/transport.ts'
import type { MemoryNodeInit } from '../../src/mesh/memory-network.ts'
import type { ProbeSocketFactory } from '../../src/net/udp.ts'
import type { Identity } from '../../src/keys/store.ts'
import type { WgPrivateKey } from '../../src/keys/types.ts'
import type { Ipv6Prefix } from '../../src/net/prefix.ts'
import type { Time } from '../../src/time/clock.ts'

export const SIM_MESH = 'sim'
export const SIM_MESH_PREFIX = meshPrefixFromName(SIM_MESH)

/** What a node needs from the network it runs on. */
export interface NodeNetwork {
  node: (init: MemoryNodeInit) => MeshNode
  probeSockets: (owner: string) => ProbeSocketFactory
}

/** Record-envelope signature checks made by every core in this process (RecordEnvelope.validate calls). */
export const signatureChecks = { records: 0 }
const originalValidate = RecordEnvelope.prototype.validate
RecordEnvelope.prototype.validate = async function (this: RecordEnvelope, domain: string, options?: Parameters<typeof originalValidate>[1]) {
  signatureChecks.records++
  return await originalValidate.call(this, domain, options)
}

/** identityFor: a fixed identity per index (keys from the index as seed). */
export async function identityFor (i: number): Promise<Identity> {
  const seed = Uint8Array.from({ length: 32 }, (_, k) => (i * 31 + k * 7 + (i >> 8) * 13 + (i >> 16)) & 0xff)
  seed[0] = i & 0xff; seed[1] = (i >> 8) & 0xff; seed[2] = (i >> 16) & 0xff
  const libp2pKey = await generateKeyPairFromSeed('Ed25519', seed)
  const raw = Buffer.alloc(32, (i % 250) + 1)
  raw.writeUInt32BE(i, 4)
  raw[0] = (raw[0] ?? 0) & 248; raw[31] = ((raw[31] ?? 0) & 127) | 64
  const privateKey = raw.toString('base64') as WgPrivateKey
  return { libp2pKey, peerId: peerIdFromPrivateKey(libp2pKey).toString(), wg: { privateKey, publicKey: wgPublicKeyFromPrivate(privateKey) } }
}

/** underlayIp: node i's host address, 10.B.C.1 (room for 65,536 nodes). */
export function underlayIp (i: number): string { return `10.${(i >> 8) & 255}.${i & 255}.1` }

export interface SimNode {
  readonly index: number
  readonly identity: Identity
  readonly time: Time & { kill: () => void }
  readonly state: () => NodeState
  readonly services: MeshServicesHandle
  /** WireGuard peer public key → the allowed-ips entries, as of the last apply. */
  readonly wgPeers: () => ReadonlyMap<string, readonly string[]>
  /** Allowed-ips entry (e.g. a member's /64) → the peer public key carrying it. */
  readonly routeVia: () => ReadonlyMap<string, string>
}

/** startSimNode starts node `i`: identity, interface, transport, membership, prober, reconcile. */
export async function startSimNode (network: NodeNetwork, scope: Time & { kill: () => void }, i: number): Promise<SimNode> {
  const identity = await identityFor(i)
  const config = configSchema.parse({ mesh: SIM_MESH, stateDir: `/nonexistent/${i}`, interface: 'gm0', listen: `${underlayIp(i)}:7700` })
  const prefix = choosePrefix({ meshPrefix: SIM_MESH_PREFIX, peerId: identity.peerId, requested: null, current: null, others: [] }).prefix
  let state: NodeState = { version: 1, seq: 0, prefix, meshPrefix: SIM_MESH_PREFIX }
  const wg = createFakeWireGuardDriver({ meshPrefix: SIM_MESH_PREFIX })
  await wg.up({ privateKey: identity.wg.privateKey, listenPort: config.wgPort })
  let peers = new Map<string, readonly string[]>()
  let via = new Map<string, string>()
  const apply: typeof wg.apply = async (desired) => {
    const changes = await wg.apply(desired)
    const s = await wg.read()
    peers = new Map(s.peers.map(p => [p.publicKey, p.allowedIps]))
    via = new Map(s.peers.flatMap(p => p.allowedIps.map(ip => [ip, p.publicKey] as [string, string])))
    return changes
  }
  const logger = testLogger()
  const services = await startMeshServices({
    config, logger, identity, meshPrefix: SIM_MESH_PREFIX, requested: null, initialPrefix: prefix, counters: { unhandled: 0 },
    metrics: createMetrics(new Registry()), closed: null,
    persistSeq: async (now) => { const seq = nextSeq(state, now); state = { ...state, seq }; return seq },
    highestSeen: {},
    persistHighWater: async (marks) => { state = { ...state, highestSeen: marks } },
    onInterfaceReady: () => {}
  }, {
    time: scope,
    createNode: async (t) => network.node({ peerId: identity.peerId, addrs: [`/ip4/${underlayIp(i)}/tcp/7700`], validator: t.validator, selector: t.selector }),
    createProber: ({ bindAddress, onResult }) => createLinkProber({
      logger, bindAddress, socketFactory: network.probeSockets(identity.peerId), clock: { now: scope.now, monotonicMs: scope.now }, timers: scope,
      intervalMs: DEFAULTS.probeIntervalMs, timeoutMs: DEFAULTS.probeTimeoutMs, onResult
    }),
    wg: Object.assign({}, wg, { apply, onRestart: () => () => {}, backend: 'fake' }),
    net: createFakeNetDriver(),
    memory: () => ({ rssMb: 0, heapUsedMb: 0 })
  })
  return { index: i, identity, time: scope, state: () => state, services, wgPeers: () => peers, routeVia: () => via }
}
