/**
 * The daemon's process lifecycle: root logger, crash counters, start, wait
 * for SIGTERM/SIGINT or an admin leave, graceful stop. A second signal during
 * the stop forces exit. Only here and in the CLI entry point may the process exit.
 */
import { createRootLogger } from '../log.ts'
import { startNode, type NodeCounters } from './node.ts'
import type { Config } from '../config/schema.ts'

/** How long a graceful stop may take before we give up and exit anyway. */
const STOP_DEADLINE_MS = 10_000

export async function runDaemon (config: Config): Promise<void> {
  const t0 = performance.now()
  const logger = createRootLogger({ level: config.logLevel, format: config.logFormat })
  const counters: NodeCounters = { unhandled: 0 }
  // Peer input must never kill the daemon; anything that escapes is a bug we count and log.
  process.on('unhandledRejection', (err) => { counters.unhandled++; logger.error({ err }, 'unhandled rejection') })
  process.on('uncaughtException', (err) => { counters.unhandled++; logger.error({ err }, 'uncaught exception') })

  const node = await startNode(config, logger, t0, counters)
  const reason = await new Promise<string>(resolve => {
    process.once('SIGTERM', () => { resolve('SIGTERM') })
    process.once('SIGINT', () => { resolve('SIGINT') })
    void node.leaveRequested.then(() => { resolve('admin leave') })
  })
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
