/**
 * The small persisted state of a node, `<stateDir>/state.json` (0600,
 * written atomically): the highest record seq it published, its prefix and
 * mesh prefix, and optionally the highest seq seen per peer. It lets a
 * restarted node keep its prefix and never publish a seq it used before.
 * The state dir itself is created and checked by the key store.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { GridmeshError, ErrorCodes, isGridmeshError } from '../errors.ts'
import { readFileIfExists, writeFileAtomic } from '../keys/atomic-file.ts'
import { parseIpv6Prefix } from '../net/prefix.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'

/** File name of the node state inside the state dir. */
export const NODE_STATE_FILE = 'state.json'

/** The persisted node state, schema version 1. */
export interface NodeState {
  readonly version: 1
  /** Highest record seq this node has published (or is about to). */
  readonly seq: number
  readonly prefix: Ipv6Prefix | null
  readonly meshPrefix: Ipv6Prefix | null
  /** Highest seq seen per peerId, to refuse replays of older records after a restart. */
  readonly highestSeen?: Readonly<Record<string, number>>
}

/** The state of a node that has never run: what loadNodeState returns when there is no file. */
export const INITIAL_NODE_STATE: NodeState = Object.freeze({ version: 1, seq: 0, prefix: null, meshPrefix: null })

const prefixText = z.string().refine(isPrefix, 'not an IPv6 prefix').transform((s) => parseIpv6Prefix(s))
const seqNumber = z.number().int().nonnegative()
const nodeStateSchema = z.object({
  version: z.literal(1),
  seq: seqNumber,
  prefix: prefixText.nullable(),
  meshPrefix: prefixText.nullable(),
  highestSeen: z.record(z.string().min(1), seqNumber).optional()
})

/**
 * loadNodeState reads `<stateDir>/state.json`; a missing file gives
 * INITIAL_NODE_STATE. An empty, unparseable or wrong-schema file throws
 * STATE_CORRUPT naming the file. A leftover `state.json.tmp` is ignored.
 */
export async function loadNodeState (stateDir: string): Promise<NodeState> {
  const path = join(stateDir, NODE_STATE_FILE)
  const file = await readFileIfExists(path).catch((err: unknown) => { throw ioError(path, err) })
  if (file === null) return INITIAL_NODE_STATE
  if (!file.stats.isFile()) throw corrupt(path, 'not a regular file')
  let json: unknown
  try {
    json = JSON.parse(file.data.toString('utf8'))
  } catch (err) {
    throw corrupt(path, file.data.length === 0 ? 'empty' : 'not JSON', err)
  }
  const parsed = nodeStateSchema.safeParse(json)
  if (!parsed.success) throw corrupt(path, describeIssue(parsed.error))
  return toNodeState(parsed.data)
}

/**
 * saveNodeState durably replaces `<stateDir>/state.json` (0600). Persist a
 * new seq here before publishing a record with it. Throws INTERNAL for a
 * state that breaks the schema (a bug), the fs error otherwise.
 */
export async function saveNodeState (stateDir: string, state: NodeState): Promise<void> {
  const parsed = nodeStateSchema.safeParse(state)
  if (!parsed.success) {
    throw new GridmeshError(ErrorCodes.INTERNAL, `refusing to save an invalid node state (${describeIssue(parsed.error)})`)
  }
  const path = join(stateDir, NODE_STATE_FILE)
  await writeFileAtomic(path, `${JSON.stringify(toNodeState(parsed.data), null, 2)}\n`)
    .catch((err: unknown) => { throw ioError(path, err) })
}

/**
 * createStateWriter serialises the saves of a state several parts of the
 * daemon change (seq, prefix, high-water marks): every save goes through the
 * one `state.json.tmp`, so two at once would collide. Each save writes
 * `current()` as it is when the save starts, so a caller that changed the
 * state and then awaits its save knows the change is durable.
 */
export function createStateWriter (stateDir: string, current: () => NodeState): () => Promise<void> {
  let tail: Promise<void> = Promise.resolve()
  return async () => {
    const run = tail.then(async () => { await saveNodeState(stateDir, current()) })
    tail = run.catch(() => undefined) // one failed save must not block the next
    await run
  }
}

/** How long the per-peer high-water marks may sit unsaved after they rose. */
export const HIGHEST_SEEN_SAVE_MS = 1_000

/** A save that runs at most once per burst of requests; see createDebouncedSave. */
export interface DebouncedSave {
  /** Schedules a save `delayMs` after the first request of a burst. */
  request: () => void
  /** Runs a scheduled save now (at stop); nothing when none is pending. */
  flush: () => Promise<void>
}

/**
 * createDebouncedSave coalesces frequent small changes (a mark rises for
 * every member's republish) into one write per `delayMs`. A failed save goes
 * to `onError`; the next request tries again.
 */
export function createDebouncedSave (save: () => Promise<void>, delayMs: number, onError: (err: unknown) => void): DebouncedSave {
  let timer: ReturnType<typeof setTimeout> | null = null
  const run = async (): Promise<void> => {
    if (timer !== null) clearTimeout(timer)
    timer = null
    try { await save() } catch (err) { onError(err) }
  }
  return {
    request: () => {
      if (timer !== null) return
      timer = setTimeout(() => { void run() }, delayMs)
      timer.unref()
    },
    flush: async () => { if (timer !== null) await run() }
  }
}

/**
 * nextSeq returns the seq for the next record: max(seq + 1, nowMs), so seqs
 * track wall-clock milliseconds yet only ever grow, even when the clock
 * steps back or the node restarts.
 */
export function nextSeq (state: NodeState, nowMs: number): number {
  const clock = Number.isFinite(nowMs) ? Math.floor(nowMs) : 0
  return Math.max(state.seq + 1, clock)
}

function toNodeState (data: z.output<typeof nodeStateSchema>): NodeState {
  const base = { version: data.version, seq: data.seq, prefix: data.prefix, meshPrefix: data.meshPrefix }
  return data.highestSeen === undefined ? base : { ...base, highestSeen: data.highestSeen }
}

function isPrefix (s: string): boolean {
  try {
    parseIpv6Prefix(s)
    return true
  } catch {
    return false
  }
}

function describeIssue (error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'invalid'
  const where = issue.path.length > 0 ? issue.path.join('.') : 'top level'
  return `${where}: ${issue.message}`
}

function corrupt (path: string, reason: string, cause?: unknown): GridmeshError {
  return new GridmeshError(ErrorCodes.STATE_CORRUPT,
    `state file ${path} is corrupt (${reason}); fix it, or move it away to start fresh (the node may then get a new prefix)`,
    { path }, { cause })
}

function ioError (path: string, err: unknown): unknown {
  if (isGridmeshError(err) || !(err instanceof Error)) return err
  const errno = (err as NodeJS.ErrnoException).code ?? ''
  const code = errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS' ? ErrorCodes.NOT_PERMITTED : ErrorCodes.INTERNAL
  return new GridmeshError(code, `cannot access state file ${path}: ${err.message}; check that gridmesh runs as the owner of the state dir`,
    { path }, { cause: err })
}
