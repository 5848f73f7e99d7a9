/**
 * WorkloadManager: the live set of workloads of a node. It owns the persisted
 * list (`workloads.json`) and the veth pairs; the admin API calls add, remove
 * and list. Lifecycle: `start()` after the mesh interface is up re-creates
 * every persisted workload and deletes `gmw*` veths that are not in the list
 * (left by a crash); `stop()` deletes every workload veth, so a stopped node
 * leaves nothing behind, and keeps the list, so the next start re-creates
 * them with the same addresses. Operations run one at a time.
 */
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { allocateWorkloadHost, workloadAddress } from './allocate.ts'
import { hostIfname, parseNetnsName, parseWorkloadName, type NetnsName, type WorkloadName } from './names.ts'
import { loadWorkloads, saveWorkloads, type WorkloadEntry } from './state.ts'
import type { Logger } from '../log.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { VethDriver, WorkloadLink } from './veth-driver.ts'
import { restoreWorkload, sweepVanished, type WorkloadProblems } from './restore.ts'

/** One workload as the admin API shows it. */
export interface WorkloadView {
  readonly name: string
  readonly netns: string
  readonly address: string
  /** Host-side veth. */
  readonly interface: string
  /**
   * `up` when its link was applied; `missing-netns` (absent at start), `gone`
   * (its namespace was deleted while it ran) or `error`, with `error` saying why.
   */
  readonly state: 'up' | 'missing-netns' | 'gone' | 'error'
  readonly error?: string
}

/** A request to add a workload (fields still unvalidated strings). */
export interface WorkloadAddRequest { readonly name: string, readonly netns: string }

/** What the admin API needs. */
export interface WorkloadService {
  list (): Promise<WorkloadView[]>
  add (req: WorkloadAddRequest): Promise<WorkloadView>
  remove (name: string): Promise<WorkloadView>
}

export interface WorkloadManager extends WorkloadService {
  start (): Promise<void>
  stop (): Promise<void>
}

export interface WorkloadManagerComponents {
  readonly driver: VethDriver
  readonly logger: Logger
}

export interface WorkloadManagerInit {
  readonly stateDir: string
  /** The node's current /64 (it can move after a collision). */
  prefix (): Ipv6Prefix
  /** MTU of the workload links: the mesh interface MTU. */
  readonly mtu: number
}

/** How often the manager looks for workload namespaces that vanished. */
export const SWEEP_MS = 5_000

const refuse = (message: string): GridmeshError => new GridmeshError(ErrorCodes.ADMIN_REQUEST, message)

/** refuseUnaddable throws why workload `name` in `netns` cannot be added next to `entries`. */
async function refuseUnaddable (entries: readonly WorkloadEntry[], name: WorkloadName, netns: NetnsName, prefix: Ipv6Prefix, driver: VethDriver): Promise<void> {
  const same = entries.find(e => e.name === name)
  if (same !== undefined) throw refuse(`workload ${name} exists (address ${workloadAddress(prefix, same.host)}, netns ${same.netns})`)
  const sharing = entries.find(e => e.netns === netns)
  if (sharing !== undefined) throw refuse(`network namespace ${netns} already has workload ${sharing.name}; one workload per namespace`)
  const clash = entries.find(e => hostIfname(e.name) === hostIfname(name))
  if (clash !== undefined) throw refuse(`workload ${name} would share interface ${hostIfname(name)} with ${clash.name}; pick another name`)
  if (!await driver.netnsExists(netns)) throw refuse(`network namespace ${netns} does not exist (ip netns list)`)
  const conflict = await driver.netnsConflict(netns)
  if (conflict !== null) throw refuse(conflict)
}

/** createWorkloadManager wires the manager; nothing happens until start(). */
export function createWorkloadManager (components: WorkloadManagerComponents, init: WorkloadManagerInit): WorkloadManager {
  const { driver } = components
  const log = components.logger
  let entries: WorkloadEntry[] = []
  const problems: WorkloadProblems = new Map()
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn)
    queue = next.catch(() => undefined)
    return next
  }

  const linkOf = (e: WorkloadEntry): WorkloadLink =>
    ({ ifname: hostIfname(e.name), netns: e.netns, address: workloadAddress(init.prefix(), e.host), mtu: init.mtu })
  const view = (e: WorkloadEntry): WorkloadView => {
    const p = problems.get(e.name)
    const base = { name: e.name, netns: e.netns, address: workloadAddress(init.prefix(), e.host), interface: hostIfname(e.name) }
    return p === undefined ? { ...base, state: 'up' } : { ...base, state: p.state, error: p.error }
  }

  /** restore applies one persisted workload (restore.ts); a broken one is reported, not fatal. */
  const restore = (e: WorkloadEntry): Promise<void> => restoreWorkload(e, linkOf(e), { driver, log, problems })

  const add = async (req: WorkloadAddRequest): Promise<WorkloadView> => {
    const name = parseWorkloadName(req.name, ErrorCodes.ADMIN_REQUEST)
    const netns: NetnsName = parseNetnsName(req.netns, ErrorCodes.ADMIN_REQUEST)
    await refuseUnaddable(entries, name, netns, init.prefix(), driver)
    const entry: WorkloadEntry = { name, netns, host: allocateWorkloadHost(entries.map(e => e.host)) }
    try {
      await driver.apply(linkOf(entry))
      await saveWorkloads(init.stateDir, [...entries, entry])
    } catch (err) {
      await driver.remove(hostIfname(name)).catch(() => undefined)
      throw err
    }
    entries = [...entries, entry]
    problems.delete(name)
    log.info({ workload: name, netns, address: workloadAddress(init.prefix(), entry.host) }, 'workload added')
    return view(entry)
  }

  const remove = async (raw: string): Promise<WorkloadView> => {
    const name = parseWorkloadName(raw, ErrorCodes.ADMIN_REQUEST)
    const entry = entries.find(e => e.name === name)
    if (entry === undefined) throw refuse(`no workload named ${name}`)
    const shown = view(entry)
    await driver.remove(hostIfname(name))
    const rest = entries.filter(e => e !== entry)
    await saveWorkloads(init.stateDir, rest)
    entries = rest
    problems.delete(name)
    log.info({ workload: name }, 'workload removed')
    return shown
  }

  // ops (issue 18): namespaces that vanish while the node runs are swept on every list and every SWEEP_MS.
  const sweep = (): Promise<void> => sweepVanished(entries, { driver, log, problems, linkOf })
  let sweeper: ReturnType<typeof setInterval> | null = null

  return {
    start: () => serial(async () => {
      entries = await loadWorkloads(init.stateDir)
      const wanted = new Set(entries.map(e => hostIfname(e.name)))
      for (const stale of (await driver.list()).filter(i => !wanted.has(i))) {
        log.info({ iface: stale }, 'removing stale workload veth')
        await driver.remove(stale)
      }
      for (const e of entries) await restore(e)
      sweeper = setInterval(() => { void serial(sweep).catch((err: unknown) => { log.warn({ err }, 'workload sweep failed') }) }, SWEEP_MS)
      sweeper.unref()
    }),
    stop: () => serial(async () => {
      if (sweeper !== null) { clearInterval(sweeper); sweeper = null }
      for (const ifname of await driver.list()) await driver.remove(ifname)
    }),
    list: () => serial(async () => { await sweep(); return entries.map(view) }),
    add: req => serial(() => add(req)),
    remove: name => serial(() => remove(name))
  }
}
