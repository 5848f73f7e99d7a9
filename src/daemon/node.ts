/**
 * The composition root: builds every part of a gridmesh node from a validated
 * Config, in two phases. First everything that can fail without changing the
 * system (root check, prefixes, keys, state, lock, admin socket); then the
 * system changes (WireGuard interface, addresses, libp2p, membership, prober,
 * admin API), each registered on an undo stack so a failure half-way leaves
 * nothing behind. Only this file imports concrete drivers.
 */
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { ensureStateDir, loadOrCreateIdentity, type Identity } from '../keys/store.ts'
import { choosePrefix, linkAddress, meshPrefixFromName, nodeAddress, parseMeshPrefix } from '../mesh/allocation.ts'
import { createStateWriter, loadNodeState, nextSeq, saveNodeState, type NodeState } from '../mesh/node-state.ts'
import { parseIpv6Prefix, prefixContains, prefixLength, type Ipv6Prefix } from '../net/prefix.ts'
import { createCommandRunner } from '../net/command.ts'
import { createIpDriver, meshInterfaceSysctls } from '../net/ip-driver.ts'
import { createWireGuardDriver } from '../wireguard/device.ts'
import { checkAdminSocketFree, closeAdmin, listenAdmin } from '../admin/server.ts'
import { acquireStateLock } from './lock.ts'
import { startMeshServices, type MeshServicesHandle } from './mesh-services.ts'
import { Registry } from 'prom-client'
import { createMetrics } from '../metrics/registry.ts'
import { closeMetrics, listenMetrics } from '../metrics/server.ts'
import { createVethDriver } from '../workload/veth-driver.ts'
import { createWorkloadManager } from '../workload/manager.ts'
import { prepareAdmission, type ClosedMesh } from './admission.ts'
import { loadSwarmKey } from '../keys/swarm-key.ts'
import { createNftDriver } from '../net/nft.ts'
import type { Config } from '../config/schema.ts'
import type { Logger } from '../log.ts'

export interface RunningNode {
  /** Resolves when an admin asked the node to leave (`gridmesh leave`). */
  readonly leaveRequested: Promise<void>
  /** Graceful stop: announce leave, remove peers, interface and routes. */
  stop (): Promise<void>
}

export interface NodeCounters { unhandled: number }

function requestedPrefix (config: Config, meshPrefix: Ipv6Prefix): Ipv6Prefix | null {
  if (config.prefix === undefined) return null
  const p = parseIpv6Prefix(config.prefix)
  if (prefixLength(p) !== 64 || !prefixContains(meshPrefix, p)) {
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `invalid --prefix ${config.prefix}: must be a /64 inside the mesh prefix ${meshPrefix}`)
  }
  return p
}

/** Phase 1: decide everything that does not touch the system. */
async function prepare (config: Config): Promise<{
  meshPrefix: Ipv6Prefix, requested: Ipv6Prefix | null, identity: Identity, state: NodeState, closed: ClosedMesh | null, psk: Uint8Array | null
  release: () => Promise<void>
}> {
  if (process.getuid?.() !== 0) {
    throw new GridmeshError(ErrorCodes.NOT_PERMITTED, 'gridmesh up needs root (CAP_NET_ADMIN) to create the WireGuard interface: run it as root')
  }
  const meshPrefix = config.meshPrefix !== undefined ? parseMeshPrefix(config.meshPrefix) : meshPrefixFromName(config.mesh)
  const requested = requestedPrefix(config, meshPrefix)
  // [sec] Every input that can be wrong is read before anything is written (issue 19): the PSK first.
  const psk = config.pskFile === undefined ? null : await loadSwarmKey(config.pskFile)
  // [sec] The identity is created under the state-dir lock: two daemons on one fresh dir can't end with disk != running identity.
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

/** startNode brings the node up; on failure it undoes what it did and rethrows. */
export async function startNode (config: Config, logger: Logger, t0: number, counters: NodeCounters): Promise<RunningNode> {
  const log = logger.child({ module: 'daemon' })
  const { meshPrefix, requested, identity, state: loaded, closed, psk, release } = await prepare(config)
  const undo: Array<() => Promise<void>> = []
  const unwind = async (): Promise<void> => {
    for (const fn of undo.reverse()) await fn().catch((err: unknown) => { log.warn({ err }, 'cleanup step failed') })
    undo.length = 0
  }
  try {
    undo.push(release)
    await checkAdminSocketFree(config.adminSocket)
    // The prefix we held before is kept unless the mesh prefix changed.
    const current = loaded.meshPrefix === meshPrefix ? loaded.prefix : null
    const choice = choosePrefix({ meshPrefix, peerId: identity.peerId, requested, current, others: [] })
    let state: NodeState = { ...loaded, prefix: choice.prefix, meshPrefix }
    await saveNodeState(config.stateDir, state)
    // From here on several parts change the state: one writer serialises the saves.
    const save = createStateWriter(config.stateDir, () => state)
    log.info({ peer: identity.peerId, prefix: choice.prefix, meshPrefix }, 'identity loaded')

    // ---- everything below changes the system ----
    const runner = createCommandRunner()
    const net = createIpDriver({ runner })
    const wg = createWireGuardDriver({ iface: config.interface, runner, logger: logger.child({ module: 'wireguard' }), meshPrefix })
    undo.push(() => wg.down())
    await wg.up({ privateKey: identity.wg.privateKey, listenPort: config.wgPort })
    for (const [k, v] of meshInterfaceSysctls(config.interface)) await net.setSysctl(k, v)
    // Underlay anti-spoofing: mesh sources only from the mesh interface or workloads (T12).
    const nft = createNftDriver(runner)
    undo.push(() => nft.remove())
    await nft.apply(meshPrefix, config.interface)

    // One registry per node, passed down (no global default registry); served only when asked.
    const metrics = createMetrics(new Registry())
    if (config.metrics !== undefined) {
      const metricsServer = await listenMetrics(config.metrics, metrics.registry)
      undo.push(() => closeMetrics(metricsServer))
      log.info({ metrics: `http://${config.metrics}/metrics` }, 'metrics listener up')
    }

    const services: MeshServicesHandle = await startMeshServices({
      config, logger, identity, meshPrefix, requested, wg, net, counters, metrics, closed, psk,
      initialPrefix: choice.prefix,
      persistSeq: async (now) => {
        const seq = nextSeq(state, now)
        state = { ...state, seq }
        await save()
        return seq
      },
      persistPrefix: async (prefix) => {
        state = { ...state, prefix }
        await save()
      },
      highestSeen: loaded.highestSeen ?? {},
      persistHighWater: async (marks) => {
        state = { ...state, highestSeen: marks }
        await save()
      },
      onInterfaceReady: () => {
        log.info({ iface: config.interface, address: nodeAddress(choice.prefix), link: linkAddress(choice.prefix), readyMs: Math.round(performance.now() - t0) }, 'interface ready')
      }
    })
    undo.push(() => services.stop())
    // Workloads after the interface is up; stopped (veths deleted, list kept) before the mesh goes.
    const workloads = createWorkloadManager(
      { driver: createVethDriver({ runner, setSysctl: (k, v) => net.setSysctl(k, v) }), logger: logger.child({ module: 'workload' }) },
      { stateDir: config.stateDir, prefix: () => state.prefix ?? choice.prefix, mtu: config.mtu })
    await workloads.start()
    undo.push(() => workloads.stop())

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
    undo.push(() => closeAdmin(admin, config.adminSocket))
    log.info({ socket: config.adminSocket, startMs: Math.round(performance.now() - t0) }, 'node running')
    return { leaveRequested, stop: unwind }
  } catch (err) {
    await unwind()
    throw err
  }
}
