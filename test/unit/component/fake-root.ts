/**
 * The test-only composition root: a gridmesh node's mesh services wired to
 * fakes instead of the system — the in-memory network (transport and probe
 * datagrams), the fake WireGuard and ip drivers, in-memory state, and a fake
 * time shared by every node of the test. The real root is src/daemon/node.ts.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Registry } from 'prom-client'
import { configSchema } from '../../../src/config/schema.ts'
import { choosePrefix, meshPrefixFromName } from '../../../src/mesh/allocation.ts'
import { nextSeq, type NodeState } from '../../../src/mesh/node-state.ts'
import { createRoutingProber } from './prober-fake.ts'
import { createFakeNetDriver, type FakeNetDriver } from '../../../src/net/fake.ts'
import { createFakeWireGuardDriver, type FakeWireGuardDriver } from '../../../src/wireguard/fake.ts'
import { wgPublicKeyFromPrivate } from '../../../src/keys/wg-key.ts'
import { createMetrics } from '../../../src/metrics/registry.ts'
import { startMeshServices, type MeshPorts, type MeshServicesHandle } from '../../../src/daemon/mesh-services.ts'
import { testLogger } from '../../../src/log.ts'
import type { MemoryNetwork } from '../../../src/mesh/memory-network.ts'
import type { FakeTime } from '../../../src/time/fake.ts'
import type { Identity } from '../../../src/keys/store.ts'
import type { WgPrivateKey } from '../../../src/keys/types.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'

export const MESH = 'component'
export const MESH_PREFIX = meshPrefixFromName(MESH)

/** identityFor is a fixed identity per index, so prefixes and keys (and the golden texts) never change. */
export async function identityFor (i: number): Promise<Identity> {
  const libp2pKey = await generateKeyPairFromSeed('Ed25519', Uint8Array.from({ length: 32 }, (_, k) => (i * 31 + k) & 0xff))
  const raw = Buffer.alloc(32, i + 1)
  raw[0] = (raw[0] ?? 0) & 248; raw[31] = ((raw[31] ?? 0) & 127) | 64
  const privateKey = raw.toString('base64') as WgPrivateKey
  return { libp2pKey, peerId: peerIdFromPrivateKey(libp2pKey).toString(), wg: { privateKey, publicKey: wgPublicKeyFromPrivate(privateKey) } }
}

export interface FakeNode {
  readonly index: number
  readonly identity: Identity
  readonly wg: FakeWireGuardDriver
  readonly net: FakeNetDriver
  readonly time: ReturnType<FakeTime['scope']>
  readonly state: () => NodeState
  readonly services: MeshServicesHandle
}

export interface FakeNodeOptions {
  /** A /64 to ask for first (prefix collision tests). */
  readonly prefix?: Ipv6Prefix
  /** Replace ports or fail at a step (start-up failure tests). */
  readonly ports?: (ports: MeshPorts) => MeshPorts
  readonly persistSeq?: (now: number) => Promise<number>
  /** The node's view of time (default: a fresh scope of `time`). */
  readonly scope?: ReturnType<FakeTime['scope']>
  /** Listen multiaddrs (default `/ip4/10.0.0.(i+1)/tcp/7700`). */
  readonly addrs?: readonly string[]
}

/** startFakeNode starts node `i` on the network; its underlay IP is 10.0.0.(i+1). */
export async function startFakeNode (network: MemoryNetwork, time: FakeTime, i: number, opts: FakeNodeOptions = {}): Promise<FakeNode> {
  const identity = await identityFor(i)
  const config = configSchema.parse({
    mesh: MESH, stateDir: `/nonexistent/${i}`, interface: 'gm0', listen: `10.0.0.${i + 1}:7700`, ...(opts.prefix === undefined ? {} : { prefix: opts.prefix })
  })
  const requested = opts.prefix ?? null
  const prefix = choosePrefix({ meshPrefix: MESH_PREFIX, peerId: identity.peerId, requested, current: null, others: [] }).prefix
  let state: NodeState = { version: 1, seq: 0, prefix, meshPrefix: MESH_PREFIX }
  const wg = createFakeWireGuardDriver({ meshPrefix: MESH_PREFIX })
  await wg.up({ privateKey: identity.wg.privateKey, listenPort: config.wgPort })
  const net = createFakeNetDriver()
  const scope = opts.scope ?? time.scope()
  const logger = testLogger()
  const base: MeshPorts = {
    time: scope,
    createNode: async (t) => network.node({ peerId: identity.peerId, addrs: opts.addrs ?? [`/ip4/10.0.0.${i + 1}/tcp/7700`], validator: t.validator, selector: t.selector }),
    createProber: createRoutingProber(network, identity.peerId, scope),
    wg: Object.assign(wg, { onRestart: () => () => {}, backend: 'fake' }),
    net,
    memory: () => ({ rssMb: 0, heapUsedMb: 0 })
  }
  const services = await startMeshServices({
    config, logger, identity, meshPrefix: MESH_PREFIX, requested, initialPrefix: prefix, counters: { unhandled: 0 },
    metrics: createMetrics(new Registry()), closed: null,
    persistSeq: opts.persistSeq ?? (async (now) => { const seq = nextSeq(state, now); state = { ...state, seq }; return seq }),
    highestSeen: {},
    persistHighWater: async (marks) => { state = { ...state, highestSeen: marks } },
    onInterfaceReady: () => {}
  }, opts.ports === undefined ? base : opts.ports(base))
  return { index: i, identity, wg, net, time: scope, state: () => state, services }
}

/**
 * goldenText is one node's routes and WireGuard peers with every PeerId and
 * key replaced by the node's name (n0, n1, …), sorted.
 */
export function goldenText (node: FakeNode, all: readonly FakeNode[]): string {
  const rename = (line: string): string => {
    for (const n of all) line = line.split(n.identity.peerId).join(`n${n.index}`).split(n.identity.wg.publicKey).join(`n${n.index}`)
    return line
  }
  const routes = (node.services.routes() as Array<{ destinationPeer: string, destination: string, kind: string, via: string | null }>)
    .map(r => `route ${r.destinationPeer} ${r.destination} ${r.kind}${r.kind === 'direct' ? '' : ` via ${String(r.via)}`}`)
  const peers = node.wg.text().split('\n').filter(l => l.startsWith('peer '))
  return [...routes.map(rename).sort(), ...peers.map(rename).sort()].join('\n')
}

/** meshText is goldenText for every node of `nodes`, under a header per node. */
export function meshText (nodes: readonly FakeNode[], all: readonly FakeNode[] = nodes): string {
  return nodes.map(n => `== n${n.index} ${n.services.status().prefix}\n${goldenText(n, all)}`).join('\n') + '\n'
}

/**
 * drive advances virtual time until `work` settles (a start or a stop waits
 * on timers). Each 50 ms step also gives the real event loop a turn, so
 * real file I/O (state files, the lock, the admin socket) makes progress;
 * the budget is real time, generous for a loaded machine.
 */
export async function drive<T> (time: FakeTime, work: Promise<T>, budgetMs = 30_000): Promise<T> {
  let out: { ok: true, value: T } | { ok: false, err: unknown } | null = null
  work.then(value => { out = { ok: true, value } }, (err: unknown) => { out = { ok: false, err } })
  const deadline = Date.now() + budgetMs
  while (out === null) {
    if (Date.now() > deadline) throw new Error(`not settled within ${budgetMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 1))
    await time.advance(50)
  }
  const done = out as { ok: true, value: T } | { ok: false, err: unknown }
  if (!done.ok) throw done.err
  return done.value
}
