/**
 * The root logger. Only the composition root (src/daemon) creates it; every
 * module receives `logger.child({ module })`. Secrets are redacted by path so a
 * key that slips into a log object never reaches the output.
 * Field vocabulary: docs/LOGGING.md.
 */
import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino'
import { prettyDestination } from './log-pretty.ts'

export type { Logger }

/** Paths pino censors wherever they appear (one level deep covers our objects). */
export const REDACT_PATHS = [
  'privateKey', '*.privateKey',
  'wgPrivateKey', '*.wgPrivateKey',
  'secret', '*.secret',
  'psk', '*.psk',
  'token', '*.token'
]

export interface RootLoggerInit {
  level?: LevelWithSilent
  /** Where JSON lines go; defaults to stderr so stdout stays for command output. */
  destination?: DestinationStream
  /** Fields on every line (e.g. the node's peerId). */
  base?: Record<string, unknown>
  /** `json` (default: one JSON object per line) or `pretty` (for a human at a terminal). */
  format?: 'json' | 'pretty'
}

export function createRootLogger (init: RootLoggerInit = {}): Logger {
  return pino({
    level: init.level ?? 'info',
    base: init.base ?? {},
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime
  }, init.destination ?? (init.format === 'pretty' ? prettyDestination() : pino.destination({ fd: 2, sync: false })))
}

/** silentLogger is for unit tests: set TEST_LOGS=1 to see the lines. */
export function testLogger (): Logger {
  return createRootLogger({ level: process.env.TEST_LOGS === '1' ? 'debug' : 'silent' })
}
