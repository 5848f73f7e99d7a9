/**
 * The error vocabulary of gridmesh: one class, stable codes, `cause` chains.
 * Callers branch on `code`, never on message text. Exit codes and admin API
 * statuses are derived from the code in exactly one place each
 * (`exitCodeFor` here, `httpStatusFor` in src/admin).
 */

export const ErrorCodes = {
  /** Bad command-line usage (unknown flag, missing argument). */
  USAGE: 'ERR_USAGE',
  /** Config (flags, env, file) failed validation. */
  CONFIG_INVALID: 'ERR_CONFIG_INVALID',
  /** A key or state file is readable by group/others, or its dir is not 0700. */
  KEY_PERMISSIONS: 'ERR_KEY_PERMISSIONS',
  /** A key file exists but cannot be parsed: never replaced silently. */
  KEY_CORRUPT: 'ERR_KEY_CORRUPT',
  /** The persisted state file exists but cannot be parsed. */
  STATE_CORRUPT: 'ERR_STATE_CORRUPT',
  /** A DHT/gossip record failed validation. */
  RECORD_INVALID: 'ERR_RECORD_INVALID',
  /** A desired WireGuard/route config broke an invariant; nothing was applied. */
  INVARIANT_VIOLATED: 'ERR_INVARIANT_VIOLATED',
  /** An OS command (`ip`, `wg`, `nft`, wireguard-go) failed. */
  DRIVER_FAILED: 'ERR_DRIVER_FAILED',
  /** A required system tool is not installed. */
  MISSING_TOOL: 'ERR_MISSING_TOOL',
  /** The operation needs root / CAP_NET_ADMIN. */
  NOT_PERMITTED: 'ERR_NOT_PERMITTED',
  /** The CLI could not reach the daemon's admin socket. */
  DAEMON_UNREACHABLE: 'ERR_DAEMON_UNREACHABLE',
  /** The admin API rejected a request. */
  ADMIN_REQUEST: 'ERR_ADMIN_REQUEST',
  /** Another daemon already runs with this state dir / interface / socket. */
  ALREADY_RUNNING: 'ERR_ALREADY_RUNNING',
  /** A bug: an impossible state was reached. */
  INTERNAL: 'ERR_INTERNAL'
} as const

export type ErrorCode = typeof ErrorCodes[keyof typeof ErrorCodes]

export class GridmeshError<M extends object = Record<string, unknown>> extends Error {
  readonly code: ErrorCode
  readonly meta: M | undefined

  constructor (code: ErrorCode, message: string, meta?: M, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'GridmeshError'
    this.code = code
    this.meta = meta
  }
}

/** isGridmeshError narrows without relying on instanceof across module copies. */
export function isGridmeshError (err: unknown): err is GridmeshError {
  return err instanceof Error && typeof (err as unknown as { code?: unknown }).code === 'string' &&
    (err as unknown as { code: string }).code.startsWith('ERR_') && err.name === 'GridmeshError'
}

/** Codes that mean "the caller asked for something invalid": exit 2. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.USAGE,
  ErrorCodes.CONFIG_INVALID,
  ErrorCodes.KEY_PERMISSIONS,
  // The interface, port, socket or state dir is taken by a live daemon: refused at once (issue 19).
  ErrorCodes.ALREADY_RUNNING
])

/** exitCodeFor maps any thrown value to the CLI contract: 2 usage/config, 1 runtime. */
export function exitCodeFor (err: unknown): 1 | 2 {
  if (isGridmeshError(err) && USAGE_CODES.has(err.code)) return 2
  return 1
}

/** errorLine renders an error as the one stderr line the CLI contract promises. */
export function errorLine (err: unknown): string {
  if (isGridmeshError(err)) return `gridmesh: ${err.message}`
  if (err instanceof Error) return `gridmesh: internal error: ${err.message}`
  return `gridmesh: internal error: ${String(err)}`
}
