/**
 * The daemon's process lifecycle: root logger, crash counters, start, wait
 * for SIGTERM/SIGINT or an admin leave, graceful stop. A second signal during
 * the stop forces exit. SIGHUP never kills the daemon: once running it is a
 * live reload (src/daemon/reload.ts); before that, and during the stop, it
 * is logged and ignored. Only here and in the CLI entry point may the process exit.
 */
import { createRootLogger } from '../log.ts'
import { envName, loadConfig, type ConfigSources } from '../config/load.ts'
import { startNode, type NodeCounters } from './node.ts'
import { createReloader, describeReload, pinnedKeys, type ReloadResult } from './reload.ts'
import type { Config } from '../config/schema.ts'

/** How long a graceful stop may take before we give up and exit anyway. */
const STOP_DEADLINE_MS = 10_000

/**
 * runDaemon runs the node until asked to stop. `sources` are the flags and
 * environment the config came from: a reload loads them again (the config
 * file they name is re-read).
 */
export async function runDaemon (config: Config, sources: ConfigSources = { flags: {}, env: {} }): Promise<void> {
  const t0 = performance.now()
  const logger = createRootLogger({ level: config.logLevel, format: config.logFormat })
  const counters: NodeCounters = { unhandled: 0 }
  // Peer input must never kill the daemon; anything that escapes is a bug we count and log.
  process.on('unhandledRejection', (err) => { counters.unhandled++; logger.error({ err }, 'unhandled rejection') })
  process.on('uncaughtException', (err) => { counters.unhandled++; logger.error({ err }, 'uncaught exception') })

  let reload: ((dryRun: boolean) => Promise<ReloadResult>) | null = null
  const onHup = (): void => {
    if (reload === null) { logger.warn('SIGHUP ignored: the node is still starting (or stopping); send it again once it runs'); return }
    logger.info('SIGHUP: reloading the config')
    reload(false).then(logReload, (err: unknown) => { logger.error({ err }, 'reload failed') })
  }
  const logReload = (r: ReloadResult): void => {
    for (const line of describeReload(r)) (r.ok ? logger.info.bind(logger) : logger.error.bind(logger))({ dryRun: r.dryRun }, `reload: ${line}`)
  }
  process.on('SIGHUP', onHup)

  const node = await startNode(config, logger, t0, counters, {
    reload: async (dryRun) => {
      if (reload === null) return { ok: false, dryRun, applied: [], needsRestart: [], notes: [], error: 'the node is not running' }
      const r = await reload(dryRun)
      logReload(r)
      return r
    }
  })
  const pinned = pinnedKeys(sources.flags, sources.env, envName)
  reload = createReloader({ load: () => loadConfig(sources), current: config, logger, target: node, pinned }).reload
  const reason = await new Promise<string>(resolve => {
    process.once('SIGTERM', () => { resolve('SIGTERM') })
    process.once('SIGINT', () => { resolve('SIGINT') })
    void node.leaveRequested.then(() => { resolve('admin leave') })
  })
  reload = null
  logger.info({ reason }, 'leaving the mesh')
  const force = (): void => { logger.warn('second signal: exiting now'); process.exit(1) }
  process.once('SIGTERM', force)
  process.once('SIGINT', force)
  const deadline = setTimeout(() => { logger.error('graceful stop took too long; exiting'); process.exit(1) }, STOP_DEADLINE_MS)
  deadline.unref()
  await node.stop()
  logger.info('stopped')
  logger.flush()
  // libp2p may leave timers behind; the node is down, so leave now.
  setTimeout(() => process.exit(0), 50).unref()
}
