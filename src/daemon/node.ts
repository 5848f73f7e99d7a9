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
import { loadOrCreateIdentity, type Identity } from '../keys/store.ts'
import { choosePrefix, linkAddress, meshPrefixFromName, nodeAddress, parseMeshPrefix } from '../mesh/allocation.ts'
import { nextSeq, type NodeState } from '../mesh/node-state.ts'
import { createStateWriter, loadNodeState, saveNodeState } from '../mesh/node-state-file.ts'
import { createMeshNode } from '../mesh/libp2p-node.ts'
import { parseIpv6Prefix, prefixContains, prefixLength, type Ipv6Prefix } from '../net/prefix.ts'
import { splitHostPort } from '../net/host-port.ts'
import { createCommandRunner, type CommandRunner } from '../net/command.ts'
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
import { createVethDriver } from '../workload/veth-driver.ts'
import { createWorkloadManager } from '../workload/manager.ts'
import { prepareAdmission, type ClosedMesh } from './admission.ts'
import { loadSwarmKey } from '../keys/swarm-key.ts'
import { createNftDriver } from '../net/nft.ts'
import { monotonicMs, systemTime } from '../time/system.ts'
import type { Config } from '../config/schema.ts'
import type { Logger } from '../log.ts'

export interface RunningNode {
  /** Resolves when an admin asked the node to leave (`gridmesh leave`). */
  readonly leaveRequested: Promise<void>
  /** Graceful stop: announce leave, remove peers, interface and routes. */
  stop (): Promise<void>
}

export interface NodeCounters { unhandled: number }

interface Prepared {
  meshPrefix: Ipv6Prefix, requested: Ipv6Prefix | null, identity: Identity, state: NodeState, closed: ClosedMesh | null, psk: Uint8Array | null
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
  const identity = await loadOrCreateIdentity(config.stateDir)
  const state = await loadNodeState(config.stateDir)
  const psk = config.pskFile === undefined ? null : await loadSwarmKey(config.pskFile)
  const closed = await prepareAdmission(config, identity.peerId, Date.now())
  return { meshPrefix, requested, identity, state, closed, psk }
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

/** The prober's timers keep the process alive while it runs, as its bound socket does. */
const proberTimers = {
  setTimeout: (fn: () => void, ms: number) => { const t = setTimeout(fn, ms); return () => { clearTimeout(t) } },
  setInterval: (fn: () => void, ms: number) => { const t = setInterval(fn, ms); return () => { clearInterval(t) } }
}

/** The real ports of the mesh services. */
function realPorts (config: Config, logger: Logger, p: Prepared, wg: MeshWireGuard, net: NetDriver): MeshPorts {
  return {
    time: systemTime,
    createNode: libp2pTransport(config, logger, p.identity, p.psk),
    createProber: ({ bindAddress, onResult }) => createLinkProber({
      socketFactory: dgramSocketFactory, clock: { now: systemTime.now, monotonicMs }, timers: proberTimers,
      logger: logger.child({ module: 'prober' }), bindAddress, port: config.probePort,
      intervalMs: config.probeIntervalMs, timeoutMs: config.probeTimeoutMs, onResult
    }),
    wg,
    net,
    memory: () => {
      const m = process.memoryUsage()
      return { rssMb: Math.round(m.rss / 1e5) / 10, heapUsedMb: Math.round(m.heapUsed / 1e5) / 10 }
    }
  }
}

/** The system changes below the mesh: WireGuard interface, sysctls, nftables, metrics listener. */
async function bringUpSystem (config: Config, logger: Logger, p: Prepared, runner: CommandRunner, undo: UndoStack): Promise<{ wg: MeshWireGuard, net: NetDriver, metrics: GridmeshMetrics }> {
  const net = createIpDriver({ runner })
  const wg = createWireGuardDriver({ iface: config.interface, runner, logger: logger.child({ module: 'wireguard' }), meshPrefix: p.meshPrefix })
  undo.push('wireguard interface', () => wg.down())
  await wg.up({ privateKey: p.identity.wg.privateKey, listenPort: config.wgPort })
  for (const [k, v] of meshInterfaceSysctls(config.interface)) await net.setSysctl(k, v)
  // Underlay anti-spoofing: mesh sources only from the mesh interface or workloads (T12).
  const nft = createNftDriver(runner)
  undo.push('nftables rules', () => nft.remove())
  await nft.apply(p.meshPrefix, config.interface)
  // One registry per node, passed down (no global default registry); served only when asked.
  const metrics = createMetrics(new Registry())
  if (config.metrics !== undefined) {
    const metricsServer = await listenMetrics(config.metrics, metrics.registry)
    undo.push('metrics listener', () => closeMetrics(metricsServer))
    logger.child({ module: 'daemon' }).info({ metrics: `http://${config.metrics}/metrics` }, 'metrics listener up')
  }
  return { wg, net, metrics }
}

/** startNode brings the node up; on failure it undoes what it did and rethrows. */
export async function startNode (config: Config, logger: Logger, t0: number, counters: NodeCounters): Promise<RunningNode> {
  const log = logger.child({ module: 'daemon' })
  const prepared = await prepare(config)
  const { meshPrefix, requested, identity, state: loaded, closed } = prepared
  const undo = createUndoStack(log)
  return await undo.guard(async () => {
    undo.push('state lock', await acquireStateLock(config.stateDir))
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
    const runner = createCommandRunner()
    const { wg, net, metrics } = await bringUpSystem(config, logger, prepared, runner, undo)
    const services: MeshServicesHandle = await startMeshServices({
      config, logger, identity, meshPrefix, requested, counters, metrics, closed,
      initialPrefix: choice.prefix,
      persistSeq: async (now) => { const seq = nextSeq(state, now); await update({ seq }); return seq },
      persistPrefix: async (prefix) => { await update({ prefix }) },
      highestSeen: loaded.highestSeen ?? {},
      persistHighWater: async (marks) => { await update({ highestSeen: marks }) },
      onInterfaceReady: () => {
        log.info({ iface: config.interface, address: nodeAddress(choice.prefix), link: linkAddress(choice.prefix), readyMs: Math.round(performance.now() - t0) }, 'interface ready')
      }
    }, realPorts(config, logger, prepared, wg, net))
    undo.push('mesh services', () => services.stop())
    // Workloads after the interface is up; stopped (veths deleted, list kept) before the mesh goes.
    const workloads = createWorkloadManager(
      { driver: createVethDriver({ runner, setSysctl: (k, v) => net.setSysctl(k, v) }), logger: logger.child({ module: 'workload' }) },
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
      inspect: { explain: target => services.explain(target), graph: () => services.graph() }
    })
    undo.push('admin socket', () => closeAdmin(admin, config.adminSocket))
    log.info({ socket: config.adminSocket, startMs: Math.round(performance.now() - t0) }, 'node running')
    return { leaveRequested, stop: undo.unwind }
  })
}
