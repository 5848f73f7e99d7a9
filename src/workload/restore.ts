/**
 * Restoring workloads, and the vanished-namespace sweep of the workload manager (issue 18): a workload
 * whose namespace was deleted (`ip netns del`) while the node runs is marked
 * `gone` and its host veth removed (the kernel drops the pair with the
 * namespace; this makes sure), keeping the entry and its address so a
 * re-created namespace gets it back; such a workload is restored then.
 */
import { hostIfname } from './names.ts'
import type { WorkloadEntry } from './state.ts'
import type { VethDriver, WorkloadLink } from './veth-driver.ts'
import type { Logger } from '../log.ts'

/** Why a workload is not `up`, keyed by workload name. */
export type WorkloadProblems = Map<string, { state: 'missing-netns' | 'gone' | 'error', error: string }>

export interface RestoreDeps {
  readonly driver: VethDriver
  readonly log: Logger
  readonly problems: WorkloadProblems
}

/** restoreWorkload applies one persisted workload; a broken one is recorded in `problems`, not thrown. */
export async function restoreWorkload (e: WorkloadEntry, link: WorkloadLink, deps: RestoreDeps): Promise<void> {
  const { driver, log, problems } = deps
  if (!await driver.netnsExists(e.netns)) {
    problems.set(e.name, { state: 'missing-netns', error: `network namespace ${e.netns} does not exist` })
    log.warn({ workload: e.name, netns: e.netns }, 'workload namespace missing; not re-created')
    return
  }
  try {
    await driver.apply(link)
    problems.delete(e.name)
    log.info({ workload: e.name, address: link.address }, 'workload restored')
  } catch (err) {
    problems.set(e.name, { state: 'error', error: err instanceof Error ? err.message : String(err) })
    log.warn({ workload: e.name, err }, 'workload could not be restored')
  }
}

export interface SweepDeps extends RestoreDeps {
  /** linkOf is the link a workload whose namespace is back gets. */
  linkOf (e: WorkloadEntry): WorkloadLink
}

/** sweepVanished checks every entry's namespace once; a workload in `error` is left alone. */
export async function sweepVanished (entries: readonly WorkloadEntry[], deps: SweepDeps): Promise<void> {
  const { driver, log, problems } = deps
  for (const e of entries) {
    const p = problems.get(e.name)
    if (p?.state === 'error') continue
    const exists = await driver.netnsExists(e.netns)
    if (!exists && p === undefined) {
      problems.set(e.name, { state: 'gone', error: `network namespace ${e.netns} was deleted; its veth was removed (re-create the namespace to restore it, or \`gridmesh workload remove ${e.name}\`)` })
      await driver.remove(hostIfname(e.name)).catch((err: unknown) => { log.warn({ workload: e.name, err }, 'removing the veth of a vanished namespace failed') })
      log.warn({ workload: e.name, netns: e.netns }, 'workload namespace deleted; workload is gone, its veth removed')
    } else if (exists && p !== undefined) {
      await restoreWorkload(e, deps.linkOf(e), deps)
    }
  }
}
