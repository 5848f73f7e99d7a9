/**
 * Reads and writes `<stateDir>/state.json` (0600, written atomically) for
 * node-state.ts. The state dir itself is created and checked by the key store.
 */
import { join } from 'node:path'
import { ErrorCodes, GridmeshError, isGridmeshError } from '../errors.ts'
import { readFileIfExists, writeFileAtomic } from '../keys/atomic-file.ts'
import { corrupt, INITIAL_NODE_STATE, NODE_STATE_FILE, parseNodeState, renderNodeState } from './node-state.ts'
import type { NodeState } from './node-state.ts'

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
  return parseNodeState(file.data.toString('utf8'), path)
}

/**
 * saveNodeState durably replaces `<stateDir>/state.json` (0600). Persist a
 * new seq here before publishing a record with it. Throws INTERNAL for a
 * state that breaks the schema (a bug), the fs error otherwise.
 */
export async function saveNodeState (stateDir: string, state: NodeState): Promise<void> {
  const text = renderNodeState(state)
  const path = join(stateDir, NODE_STATE_FILE)
  await writeFileAtomic(path, text).catch((err: unknown) => { throw ioError(path, err) })
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

function ioError (path: string, err: unknown): unknown {
  if (isGridmeshError(err) || !(err instanceof Error)) return err
  const errno = (err as NodeJS.ErrnoException).code ?? ''
  const code = errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS' ? ErrorCodes.NOT_PERMITTED : ErrorCodes.INTERNAL
  return new GridmeshError(code, `cannot access state file ${path}: ${err.message}; check that gridmesh runs as the owner of the state dir`,
    { path }, { cause: err })
}
