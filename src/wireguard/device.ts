/**
 * The real WireGuardDriver: one interface, kernel module where it exists,
 * otherwise a supervised wireguard-go; configured through `wg` (wg-tool.ts).
 * All mutating calls run one at a time on a promise chain, so an apply never
 * interleaves with up/down or with the re-apply after a wireguard-go restart.
 */
import { RememberedRead } from './remembered-read.ts'
import type { Logger } from '../log.ts'
import type { CommandRunner } from '../net/command.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { DeviceConfig, DeviceState, PeerChange, WireGuardDriver } from './types.ts'
import type { Spawn } from './userspace.ts'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { deviceAfterApply, planPeers } from './plan.ts'
import { isolateViolations } from './invariants.ts'
import { applyPeerOps, readDeviceState, readListenPort, setDeviceKeyAndPort } from './wg-tool.ts'
import { deleteLink, probeUapiSocket, readLink, removeSocket } from './link.ts'
import { DEFAULT_WG_RUN_DIR, startWireguardGo, uapiSocketPath } from './userspace.ts'
import { WireguardGoSupervisor } from './supervisor.ts'
import { wgPublicKeyOf } from './pubkey.ts'
import { createKernelLink } from './kernel.ts'
import { acquireInterfaceLock, type InterfaceLock } from './iface-lock.ts'

/** How old a read may be to stand in for the read an apply starts with (see RememberedRead). */
const FRESH_READ_MS = 250
/** How long the state our own apply left stands in for a read (see RememberedRead); below the pass's 3 s resync. */
const MODEL_FRESH_MS = 2_000

/** Which implementation to use; `auto` tries the kernel module first. */
export type WireGuardMode = 'auto' | 'kernel' | 'userspace'

/** Collaborators and options of the driver. */
export interface WireGuardDriverInit {
  readonly iface: string
  readonly runner: CommandRunner
  readonly logger: Logger
  readonly meshPrefix: Ipv6Prefix
  readonly mode?: WireGuardMode
  /** wireguard-go's socket dir; only tests change it. */
  readonly runDir?: string
  readonly spawn?: Spawn
  readonly backoffMs?: readonly number[]
  readonly readyDeadlineMs?: number
}

/** Called after wireguard-go was restarted and the WireGuard config re-applied: re-add addresses and routes. */
export type RestartListener = () => void | Promise<void>

/** The driver plus what only the real one has: restart notification and the backend in use. */
export interface SupervisedWireGuardDriver extends WireGuardDriver {
  /** Subscribes to restarts; returns the unsubscribe function. */
  onRestart (listener: RestartListener): () => void
  /** `kernel`, `userspace`, or null while down. */
  readonly backend: 'kernel' | 'userspace' | null
  /** wireguard-go's pid in userspace mode (tests, diagnostics). */
  readonly pid: number | undefined
}

type KeyAndPort = Pick<DeviceConfig, 'privateKey' | 'listenPort'>

/** createWireGuardDriver builds the driver; nothing touches the system until `up()`. */
/** Guards the namespace trap: the socket `wg` found must serve the link in OUR netns. */
async function verifyOwnNamespace (runner: CommandRunner, iface: string, listenPort: number): Promise<void> {
  const link = await readLink(runner, iface)
  const port = await readListenPort(runner, iface)
  if (link === null || (listenPort !== 0 && port !== listenPort)) {
    throw new GridmeshError(ErrorCodes.DRIVER_FAILED,
      `${iface}: UAPI socket belongs to another namespace (link ${link === null ? 'missing' : 'present'}, ` +
      `listen port ${String(port)} != ${listenPort}); run each node in its own mount namespace`, { iface })
  }
}

export function createWireGuardDriver (init: WireGuardDriverInit): SupervisedWireGuardDriver {
  const { iface, runner, meshPrefix } = init
  const log = init.logger
  const mode = init.mode ?? 'auto'
  const runDir = init.runDir ?? DEFAULT_WG_RUN_DIR
  const sock = uapiSocketPath(iface, runDir)
  /** Our ownership of the name (iface-lock.ts); null until up() took it. down() touches nothing without it. */
  let lock: InterfaceLock | null = null
  const listeners = new Set<RestartListener>()
  let backend: 'kernel' | 'userspace' | null = null
  let keyAndPort: KeyAndPort | null = null
  let lastDesired: DeviceConfig | null = null
  let chain: Promise<unknown> = Promise.resolve()

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn)
    chain = next.catch(() => {})
    return next
  }

  const supervisor = new WireguardGoSupervisor({
    iface,
    logger: log,
    ...(init.backoffMs !== undefined ? { backoffMs: init.backoffMs } : {}),
    start: () => startWireguardGo({
      iface,
      logger: log,
      linkExists: async () => await readLink(runner, iface) !== null,
      ...(init.spawn !== undefined ? { spawn: init.spawn } : {}),
      ...(init.runDir !== undefined ? { runDir: init.runDir } : {}),
      ...(init.readyDeadlineMs !== undefined ? { readyDeadlineMs: init.readyDeadlineMs } : {})
    }),
    onRestarted: () => serial(reconfigureAfterRestart),
    onGiveUp: () => { backend = null }
  })

  async function configure (config: KeyAndPort): Promise<void> {
    memo.invalidate() // a new or restarted device: no earlier read describes it
    await setDeviceKeyAndPort(runner, iface, config)
    await runner.run('ip', ['link', 'set', 'dev', iface, 'up'])
    await verifyOwnNamespace(runner, iface, config.listenPort)
  }

  async function reconfigureAfterRestart (): Promise<void> {
    if (keyAndPort === null) return
    await configure(keyAndPort)
    if (lastDesired !== null) await applyLocked(lastDesired)
    for (const l of listeners) {
      try { await l() } catch (err) { log.error({ iface, err }, 'restart listener failed') }
    }
  }

  /**
   * Clears what a crash may have left, or throws when the name belongs to
   * something else. Only what a dead gridmesh daemon left (we inherited its
   * ownership mark) is removed; a live wireguard-go without the mark is
   * someone else's (issue 19, attack 3).
   */
  async function clearStale (inherited: boolean): Promise<void> {
    const link = await readLink(runner, iface)
    const socket = await probeUapiSocket(sock)
    if (link !== null && link.kind === 'tun' && socket === 'live') {
      if (!inherited) {
        throw new GridmeshError(ErrorCodes.ALREADY_RUNNING,
          `${iface} is served by a running wireguard-go that no gridmesh daemon owns (no ${iface}.gridmesh mark in ${runDir}); stop it or choose another --interface`, { iface })
      }
      log.warn({ iface }, 'removing the wireguard-go interface a dead gridmesh daemon left')
      await deleteLink(runner, iface)
    } else if (link !== null) {
      throw new GridmeshError(ErrorCodes.DRIVER_FAILED,
        `${iface} exists and is not a WireGuard device we can reuse (kind ${String(link.kind)}); remove it or choose another --interface`, { iface })
    } else if (socket === 'live') {
      throw new GridmeshError(ErrorCodes.DRIVER_FAILED,
        `${sock} is served by a wireguard-go whose ${iface} is not in this network namespace: UAPI socket belongs to another namespace; run each node in its own mount namespace`, { iface })
    }
    if (await probeUapiSocket(sock) === 'stale') {
      log.warn({ iface }, 'removing stale wireguard-go socket')
      removeSocket(sock)
    }
  }

  async function create (): Promise<void> {
    if (mode !== 'userspace' && await createKernelLink(runner, iface, mode === 'auto')) {
      backend = 'kernel'
      return
    }
    log.info({ iface }, 'no kernel WireGuard; starting wireguard-go')
    await supervisor.start()
    backend = 'userspace'
  }

  async function upLocked (config: KeyAndPort): Promise<void> {
    keyAndPort = config
    if (supervisor.restarting !== null) {
      // The restart in flight configures the device with `keyAndPort` once it is back.
      log.info({ iface }, 'wireguard-go restart in progress; it will apply the new key and port')
      return
    }
    lock ??= await acquireInterfaceLock(runDir, iface)
    const link = await readLink(runner, iface)
    const reusable = (backend === 'userspace' && supervisor.running && link !== null) ||
      (mode !== 'userspace' && link?.kind === 'wireguard' && (backend !== null || lock.inherited))
    if (!reusable) {
      await clearStale(lock.inherited)
      await create()
    } else if (backend === null) {
      backend = 'kernel'
    }
    await configure(config)
    log.info({ iface, backend }, 'wireguard interface up')
  }

  /**
   * Each read is a `wg` process (a fork of this daemon, the largest cost of
   * our own code in a profile of a converging mesh), so an apply plans
   * against what we already know: a read made in the last FRESH_READ_MS, or
   * the state our own last apply left, for MODEL_FRESH_MS — we are the
   * device's only writer, and the reconcile pass re-reads it every few
   * seconds anyway, which catches anyone else's change. The generation (RememberedRead) moves
   * on every change we make and on a restart, so a read that raced with a
   * change, or a model of a device that restarted, is never reused.
   */
  const memo = new RememberedRead()

  let droppedPeers = 0
  async function applyLocked (wanted: DeviceConfig): Promise<readonly PeerChange[]> {
    const { config: desired, dropped } = isolateViolations(wanted, meshPrefix)
    for (const d of dropped) log.warn({ iface, peer: d.publicKey, err: d.error.message }, 'peer dropped from the wireguard config: it breaks an invariant')
    droppedPeers += dropped.length
    lastDesired = desired
    const current = memo.fresh() ?? await readDeviceState(runner, iface)
    memo.invalidate()
    if (current.listenPort !== desired.listenPort || current.publicKey !== wgPublicKeyOf(desired.privateKey)) {
      keyAndPort = { privateKey: desired.privateKey, listenPort: desired.listenPort }
      await setDeviceKeyAndPort(runner, iface, keyAndPort)
    }
    const { changes, ops } = planPeers(current, desired)
    if (ops.length > 0) await applyPeerOps(runner, iface, ops)
    memo.remember(deviceAfterApply(current, desired, wgPublicKeyOf(desired.privateKey)), MODEL_FRESH_MS)
    if (ops.length === 0) {
      log.debug({ iface }, 'wireguard: no changes')
      return []
    }
    for (const c of changes) log.info({ iface, peer: c.publicKey, change: c.kind, ...(c.kind === 'update' ? { fields: c.fields } : {}) }, 'wireguard peer changed')
    return changes
  }

  async function downLocked (): Promise<void> {
    // Never took the name (up() was refused): whatever is under it is another daemon's.
    if (lock === null) return
    memo.invalidate()
    await supervisor.stop()
    await deleteLink(runner, iface)
    if (await probeUapiSocket(sock) === 'stale') removeSocket(sock)
    backend = null
    lastDesired = null
    await lock.release()
    lock = null
    log.info({ iface }, 'wireguard interface down')
  }

  return {
    get backend () { return backend },
    get pid () { return supervisor.pid },
    get droppedPeers () { return droppedPeers },
    onRestart: listener => { listeners.add(listener); return () => { listeners.delete(listener) } },
    up: config => serial(() => upLocked(config)),
    read: () => memo.read(() => readDeviceState(runner, iface), FRESH_READ_MS),
    apply: desired => serial(() => applyLocked(desired)),
    down: () => serial(downLocked)
  }
}
