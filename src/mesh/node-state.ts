/**
 * The small persisted state of a node, `<stateDir>/state.json`: the highest
 * record seq it published, its prefix and mesh prefix, and optionally the
 * highest seq seen per peer. It lets a restarted node keep its prefix and
 * never publish a seq it used before. This file is the pure part (schema,
 * parse, render, next seq, save scheduling on injected timers); reading and
 * writing the file is node-state-file.ts.
 */
import { z } from 'zod'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { parseIpv6Prefix } from '../net/prefix.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { Cancel, Timers } from '../time/clock.ts'

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
 * parseNodeState checks the text of a state file (named `path` in errors).
 * An empty, unparseable or wrong-schema text throws STATE_CORRUPT naming the
 * file, and so does a seq no next record could follow (the next seq would
 * not be a safe integer).
 */
export function parseNodeState (text: string, path: string): NodeState {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw corrupt(path, text.length === 0 ? 'empty' : 'not JSON', err)
  }
  const parsed = nodeStateSchema.safeParse(json)
  if (!parsed.success) throw corrupt(path, describeIssue(parsed.error))
  if (parsed.data.seq >= Number.MAX_SAFE_INTEGER) throw corrupt(path, 'seq: too large for a next record seq')
  return toNodeState(parsed.data)
}

/** renderNodeState is the file text of a state; INTERNAL for a state that breaks the schema (a bug). */
export function renderNodeState (state: NodeState): string {
  const parsed = nodeStateSchema.safeParse(state)
  if (!parsed.success) {
    throw new GridmeshError(ErrorCodes.INTERNAL, `refusing to save an invalid node state (${describeIssue(parsed.error)})`)
  }
  return `${JSON.stringify(toNodeState(parsed.data), null, 2)}\n`
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
export function createDebouncedSave (save: () => Promise<void>, delayMs: number, onError: (err: unknown) => void, timers: Timers): DebouncedSave {
  let cancel: Cancel | null = null
  const run = async (): Promise<void> => {
    cancel?.()
    cancel = null
    try { await save() } catch (err) { onError(err) }
  }
  return {
    request: () => {
      if (cancel !== null) return
      cancel = timers.setTimeout(() => { void run() }, delayMs)
    },
    flush: async () => { if (cancel !== null) await run() }
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

export function corrupt (path: string, reason: string, cause?: unknown): GridmeshError {
  return new GridmeshError(ErrorCodes.STATE_CORRUPT,
    `state file ${path} is corrupt (${reason}); fix it, or move it away to start fresh (the node may then get a new prefix)`,
    { path }, { cause })
}
