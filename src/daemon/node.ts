/**
 * The composition root: builds a gridmesh node from a validated Config, in
 * two phases. First everything that can fail without changing the system
 * (root check, prefixes, keys, state, lock, admin socket); then the system
 * changes (WireGuard interface, sysctls, nftables, metrics listener, the mesh
 * services on libp2p, workloads, admin API), each registered on an undo
 * stack so a failure half-way leaves nothing behind. This is the one place
 * that picks the real adapters — the command runner, the ip/nft, WireGuard
 * and veth drivers, libp2p, the UDP prober, the state files and the system
 * clock — and hands them to the rest as ports (mesh-services.ts MeshPorts).
 */
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { ensureStateDir, loadOrCreateIdentity, type Identity } from '../keys/store.ts'
import { choosePrefix, linkAddress, meshPrefixFromName, nodeAddress, parseMeshPrefix } from '../mesh/allocation.ts'
import { nextSeq, type NodeState } from '../mesh/node-state.ts'
import { createStateWriter, loadNodeState, saveNodeState } from '../mesh/node-state-file.ts'
import { createMeshNode } from '../mesh/libp2p-node.ts'
import { parseIpv6Prefix, prefixContains, prefixLength, type Ipv6Prefix } from '../net/prefix.ts'
import { splitHostPort } from '../net/host-port.ts'
import { createCommandRunner } from '../net/command.ts'
import { createIpDriver, meshInterfaceSysctls, type NetDriver } from '../net/ip-driver.ts'
import { createLinkProber } from '../routing/prober.ts'
import { dgramSocketFactory } from '../net/udp.ts'
import { createWireGuardDriver } from '../wireguard/device.ts'
import { checkAdminSocketFree, closeAdmin, listenAdmin } from '../admin/server.ts'
import { acquireStateLock } from './lock.ts'
import { startMeshServices, type MeshPorts, type MeshServicesHandle, type MeshWireGuard, type TransportInit } from './mesh-services.ts'
import { createUndoStack, type UndoStack } from './undo-stack.ts'
import { Registry } from 'prom-client'
import { createMetrics, type GridmeshMetrics } from '../metrics/registry.ts'
import { closeMetrics, listenMetrics } from '../metrics/server.ts'
import { createVethDriver, type VethDriver } from '../workload/veth-driver.ts'
import { createWorkloadManager } from '../workload/manager.ts'
import { prepareAdmission, type ClosedMesh } from './admission.ts'
import { loadSwarmKey } from '../keys/swarm-key.ts'
import { createNftDriver, type NftDriver } from '../net/nft.ts'
import { monotonicMs, systemTime } from '../time/system.ts'
import type { Config } from '../config/schema.ts'
import type { Logger } from '../log.ts'
import type { LiveChanges, ReloadResult } from './reload.ts'

export interface RunningNode {
  /** Resolves when an admin asked the node to leave (`gridmesh leave`). */
  readonly leaveRequested: Promise<void>
  /** What a live reload needs (reload.ts). */
  readonly peerId: string
  readonly closed: ClosedMesh | null
  reload (changes: LiveChanges): Promise<void>
  /** Graceful stop: announce leave, remove peers, interface and routes. */
  stop (): Promise<void>
}

export interface NodeCounters { unhandled: number }

/** What phase 1 decided and loaded, before anything on the system changed. */
export interface Prepared {
  meshPrefix: Ipv6Prefix, requested: Ipv6Prefix | null, identity: Identity, state: NodeState, closed: ClosedMesh | null, psk: Uint8Array | null
  /** Releases the state-dir lock phase 1 took (phase 2 puts it on its undo stack). */
  release: () => Promise<void>
}

function requestedPrefix (config: Config, meshPrefix: Ipv6Prefix): Ipv6Prefix | null {
  if (config.prefix === undefined) return null
  const p = parseIpv6Prefix(config.prefix)
  if (prefixLength(p) !== 64 || !prefixContains(meshPrefix, p)) {
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `invalid --prefix ${config.prefix}: must be a /64 inside the mesh prefix ${meshPrefix}`)
  }
  return p
}

/** Phase 1: decide everything that does not touch the system. */
async function prepare (config: Config): Promise<Prepared> {
  if (process.getuid?.() !== 0) {
    throw new GridmeshError(ErrorCodes.NOT_PERMITTED, 'gridmesh up needs root (CAP_NET_ADMIN) to create the WireGuard interface: run it as root')
  }
  const meshPrefix = config.meshPrefix !== undefined ? parseMeshPrefix(config.meshPrefix) : meshPrefixFromName(config.mesh)
  const requested = requestedPrefix(config, meshPrefix)
  // Every input that can be wrong is read before anything is written (issue 19): the PSK first.
  const psk = config.pskFile === undefined ? null : await loadSwarmKey(config.pskFile)
  // The identity is created under the state-dir lock: two daemons on one fresh dir can't end with disk != running identity.
  await ensureStateDir(config.stateDir)
  const release = await acquireStateLock(config.stateDir)
  try {
    const identity = await loadOrCreateIdentity(config.stateDir)
    const state = await loadNodeState(config.stateDir)
    const closed = await prepareAdmission(config, identity.peerId, Date.now())
    return { meshPrefix, requested, identity, state, closed, psk, release }
  } catch (err) {
    await release()
    throw err
  }
}

/** The real transport: libp2p per the guide, EADDRINUSE turned into ALREADY_RUNNING. */
function libp2pTransport (config: Config, logger: Logger, identity: Identity, psk: Uint8Array | null) {
  return async (init: TransportInit) => {
    try {
      return await createMeshNode({
        privateKey: identity.libp2pKey, mesh: config.mesh, listen: splitHostPort(config.listen), bootstrap: [...config.bootstrap],
        validator: init.validator, selector: init.selector, logger: logger.child({ module: 'libp2p' }), onDhtOp: init.onDhtOp,
        ...(psk === null ? {} : { psk }),
        ...(init.denyPeer === undefined ? {} : { denyPeer: init.denyPeer })
      })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE' || /EADDRINUSE/.test(String(err))) {
        throw new GridmeshError(ErrorCodes.ALREADY_RUNNING, `cannot listen on ${config.listen}: address in use; stop whatever uses it or pick another --listen`)
      }
      throw err
    }
  }
}

/**
 * The adapters below the mesh services, not yet started: startPreparedNode
 * brings them up in order, each on the undo stack. Real: commands through
 * `ip`, `wg`, `nft` (realSystem); tests: the fakes.
 */
export interface SystemPorts {
  readonly wg: MeshWireGuard
  readonly net: NetDriver
  readonly nft: NftDriver
  readonly veth: VethDriver
  /** The mesh services' own ports; `wg` and `net` are the ones above. */
  readonly mesh: Omit<MeshPorts, 'wg' | 'net'>
}

/** The prober's timers keep the process alive while it runs, as its bound socket does. */
const proberTimers = {
  setTimeout: (fn: () => void, ms: number) => { const t = setTimeout(fn, ms); return () => { clearTimeout(t) } },
  setInterval: (fn: () => void, ms: number) => { const t = setInterval(fn, ms); return () => { clearInterval(t) } }
}

/** realSystem: the real adapters, all running commands through one runner. */
function realSystem (config: Config, logger: Logger, p: Prepared): SystemPorts {
  const runner = createCommandRunner()
  const net = createIpDriver({ runner })
  return {
    wg: createWireGuardDriver({ iface: config.interface, runner, logger: logger.child({ module: 'wireguard' }), meshPrefix: p.meshPrefix }),
    net,
    nft: createNftDriver(runner),
    veth: createVethDriver({ runner, setSysctl: (k, v) => net.setSysctl(k, v) }),
    mesh: {
      time: systemTime,
      createNode: libp2pTransport(config, logger, p.identity, p.psk),
      createProber: ({ bindAddress, onResult }) => createLinkProber({
        socketFactory: dgramSocketFactory, clock: { now: systemTime.now, monotonicMs }, timers: proberTimers,
        logger: logger.child({ module: 'prober' }), bindAddress, port: config.probePort,
        intervalMs: config.probeIntervalMs, timeoutMs: config.probeTimeoutMs, onResult
      }),
      memory: () => {
        const m = process.memoryUsage()
        return { rssMb: Math.round(m.rss / 1e5) / 10, heapUsedMb: Math.round(m.heapUsed / 1e5) / 10 }
      }
    }
  }
}

/** The system changes below the mesh: WireGuard interface, sysctls, nftables, metrics listener. */
async function bringUpSystem (config: Config, logger: Logger, p: Prepared, sys: SystemPorts, undo: UndoStack): Promise<GridmeshMetrics> {
  undo.push('wireguard interface', () => sys.wg.down())
  await sys.wg.up({ privateKey: p.identity.wg.privateKey, listenPort: config.wgPort })
  for (const [k, v] of meshInterfaceSysctls(config.interface)) await sys.net.setSysctl(k, v)
  // Underlay anti-spoofing: mesh sources only from the mesh interface or workloads (T12).
  undo.push('nftables rules', () => sys.nft.remove())
  await sys.nft.apply(p.meshPrefix, config.interface)
  // One registry per node, passed down (no global default registry); served only when asked.
  const metrics = createMetrics(new Registry())
  if (config.metrics !== undefined) {
    const metricsServer = await listenMetrics(config.metrics, metrics.registry)
    undo.push('metrics listener', () => closeMetrics(metricsServer))
    logger.child({ module: 'daemon' }).info({ metrics: `http://${config.metrics}/metrics` }, 'metrics listener up')
  }
  return metrics
}

/** startNode brings the node up with the real adapters; on failure it undoes what it did and rethrows. */
/** Hooks the process lifecycle (run.ts) hands the admin API: `POST /v1/reload`. */
export interface NodeHooks { readonly reload?: (dryRun: boolean) => Promise<ReloadResult> }

export async function startNode (config: Config, logger: Logger, t0: number, counters: NodeCounters, hooks: NodeHooks = {}): Promise<RunningNode> {
  const prepared = await prepare(config)
  return await startPreparedNode(config, logger, prepared, realSystem(config, logger, prepared), t0, counters, hooks)
}

/**
 * startPreparedNode is phase 2: lock, state, then the system changes on the
 * given adapters, each undone (newest first) when a later step fails.
 */
export async function startPreparedNode (
  config: Config, logger: Logger, prepared: Prepared, sys: SystemPorts, t0: number, counters: NodeCounters, hooks: NodeHooks = {}
): Promise<RunningNode> {
  const log = logger.child({ module: 'daemon' })
  const { meshPrefix, requested, identity, state: loaded, closed } = prepared
  const undo = createUndoStack(log)
  return await undo.guard(async () => {
    undo.push('state lock', prepared.release)
    await checkAdminSocketFree(config.adminSocket)
    // The prefix we held before is kept unless the mesh prefix changed.
    const current = loaded.meshPrefix === meshPrefix ? loaded.prefix : null
    const choice = choosePrefix({ meshPrefix, peerId: identity.peerId, requested, current, others: [] })
    let state: NodeState = { ...loaded, prefix: choice.prefix, meshPrefix }
    await saveNodeState(config.stateDir, state)
    // From here on several parts change the state: one writer serialises the saves.
    const save = createStateWriter(config.stateDir, () => state)
    const update = async (patch: Partial<NodeState>): Promise<void> => { state = { ...state, ...patch }; await save() }
    log.info({ peer: identity.peerId, prefix: choice.prefix, meshPrefix }, 'identity loaded')

    // ---- everything below changes the system ----
    const metrics = await bringUpSystem(config, logger, prepared, sys, undo)
    const services: MeshServicesHandle = await startMeshServices({
      config, logger, identity, meshPrefix, requested, counters, metrics, closed,
      initialPrefix: choice.prefix,
      persistSeq: async (now) => { const seq = nextSeq(state, now); await update({ seq }); return seq },
      highestSeen: loaded.highestSeen ?? {},
      persistHighWater: async (marks) => { await update({ highestSeen: marks }) },
      onInterfaceReady: () => {
        log.info({ iface: config.interface, address: nodeAddress(choice.prefix), link: linkAddress(choice.prefix), readyMs: Math.round(performance.now() - t0) }, 'interface ready')
      }
    }, { ...sys.mesh, wg: sys.wg, net: sys.net })
    undo.push('mesh services', () => services.stop())
    // Workloads after the interface is up; stopped (veths deleted, list kept) before the mesh goes.
    const workloads = createWorkloadManager(
      { driver: sys.veth, logger: logger.child({ module: 'workload' }) },
      { stateDir: config.stateDir, prefix: () => state.prefix ?? choice.prefix, mtu: config.mtu })
    await workloads.start()
    undo.push('workloads', () => workloads.stop())

    let requestLeave: () => void = () => {}
    const leaveRequested = new Promise<void>(resolve => { requestLeave = resolve })
    const admin = await listenAdmin(config.adminSocket, {
      status: () => services.status(),
      peers: () => services.peers(),
      routes: () => services.routes(),
      leave: async () => { requestLeave() },
      publishRevocation: text => services.publishRevocation(text),
      workloads,
      inspect: { explain: target => services.explain(target), graph: () => services.graph() },
      ...(hooks.reload === undefined ? {} : { reload: hooks.reload })
    })
    undo.push('admin socket', () => closeAdmin(admin, config.adminSocket))
    log.info({ socket: config.adminSocket, startMs: Math.round(performance.now() - t0) }, 'node running')
    return { leaveRequested, stop: undo.unwind, peerId: identity.peerId, closed, reload: async changes => { await services.reload(changes) } }
  })
}
