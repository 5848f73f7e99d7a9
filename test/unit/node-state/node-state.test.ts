import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { INITIAL_NODE_STATE, NODE_STATE_FILE, nextSeq } from '../../../src/mesh/node-state.ts'
import { loadNodeState, saveNodeState } from '../../../src/mesh/node-state-file.ts'
import type { NodeState } from '../../../src/mesh/node-state.ts'
import { parseIpv6Prefix } from '../../../src/net/prefix.ts'
import { ErrorCodes, GridmeshError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { SAMPLE_STATE } from './fixtures.ts'

async function withTempDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gridmesh-state-'))
  try {
    await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function rejectsWith (promise: Promise<unknown>, code: ErrorCode, mention: string): Promise<void> {
  try {
    await promise
  } catch (err) {
    assert.instance(err, GridmeshError)
    assert.is((err as GridmeshError).code, code, (err as Error).message)
    assert.ok((err as Error).message.includes(mention), (err as Error).message)
    return
  }
  throw new Error(`expected ${code}`)
}

const SAMPLE = SAMPLE_STATE

test('a missing state file gives the initial state', () => withTempDir(async (dir) => {
  assert.equal(await loadNodeState(dir), INITIAL_NODE_STATE)
  assert.equal(INITIAL_NODE_STATE, { version: 1, seq: 0, prefix: null, meshPrefix: null })
}))

const roundTrips: ReadonlyArray<[string, NodeState]> = [
  ['a full state', SAMPLE],
  ['the initial state', INITIAL_NODE_STATE],
  ['a state without highestSeen', { version: 1, seq: 5, prefix: SAMPLE.prefix, meshPrefix: null }]
]

for (const [name, state] of roundTrips) {
  test(`${name} round-trips through a 0600 file`, () => withTempDir(async (dir) => {
    await saveNodeState(dir, state)
    assert.equal(await loadNodeState(dir), state)
    assert.is((await stat(join(dir, NODE_STATE_FILE))).mode & 0o777, 0o600)
    assert.equal(await readdir(dir), [NODE_STATE_FILE], 'no temporary file is left behind')
  }))
}

test('saving under umask 000 still gives 0600', () => withTempDir(async (dir) => {
  const previous = process.umask(0)
  try {
    await saveNodeState(dir, SAMPLE)
  } finally {
    process.umask(previous)
  }
  assert.is((await stat(join(dir, NODE_STATE_FILE))).mode & 0o777, 0o600)
}))

test('a second save replaces the first', () => withTempDir(async (dir) => {
  await saveNodeState(dir, SAMPLE)
  await saveNodeState(dir, { ...SAMPLE, seq: SAMPLE.seq + 1 })
  assert.is((await loadNodeState(dir)).seq, SAMPLE.seq + 1)
}))

test('a non-canonical prefix written by hand is read back canonical', () => withTempDir(async (dir) => {
  await writeFile(join(dir, NODE_STATE_FILE), JSON.stringify({ version: 1, seq: 1, prefix: 'FD9F:6906:5255:30E1:0::/64', meshPrefix: null }))
  assert.is((await loadNodeState(dir)).prefix, 'fd9f:6906:5255:30e1::/64')
}))

const corruptFiles: ReadonlyArray<[string, string]> = [
  ['zero bytes', ''],
  ['not JSON', '{"version": 1, "seq": '],
  ['JSON null', 'null'],
  ['an array', '[]'],
  ['an unknown version', JSON.stringify({ ...SAMPLE, version: 2 })],
  ['a negative seq', JSON.stringify({ ...SAMPLE, seq: -1 })],
  ['a fractional seq', JSON.stringify({ ...SAMPLE, seq: 1.5 })],
  ['a string seq', JSON.stringify({ ...SAMPLE, seq: '12' })],
  ['a seq no next record seq can follow (issue 19)', JSON.stringify({ ...SAMPLE, seq: Number.MAX_SAFE_INTEGER })],
  ['a missing prefix field', JSON.stringify({ version: 1, seq: 1, meshPrefix: null })],
  ['a bad prefix', JSON.stringify({ ...SAMPLE, prefix: 'fd00::/200' })],
  ['a bad highestSeen entry', JSON.stringify({ ...SAMPLE, highestSeen: { x: 'y' } })]
]

for (const [name, content] of corruptFiles) {
  test(`a state file with ${name} is refused as corrupt, naming the file`, () => withTempDir(async (dir) => {
    await writeFile(join(dir, NODE_STATE_FILE), content)
    await rejectsWith(loadNodeState(dir), ErrorCodes.STATE_CORRUPT, join(dir, NODE_STATE_FILE))
  }))
}

test('a state file that is a directory is refused as corrupt', () => withTempDir(async (dir) => {
  await mkdir(join(dir, NODE_STATE_FILE))
  await rejectsWith(loadNodeState(dir), ErrorCodes.STATE_CORRUPT, NODE_STATE_FILE)
}))

test('a leftover state.json.tmp next to a good state.json is ignored, then cleaned by the next save', () => withTempDir(async (dir) => {
  await saveNodeState(dir, SAMPLE)
  await writeFile(join(dir, `${NODE_STATE_FILE}.tmp`), '{"version": 1, "se', { mode: 0o644 })
  assert.equal(await loadNodeState(dir), SAMPLE)
  await saveNodeState(dir, { ...SAMPLE, seq: SAMPLE.seq + 7 })
  assert.equal(await readdir(dir), [NODE_STATE_FILE])
  assert.is((await loadNodeState(dir)).seq, SAMPLE.seq + 7)
}))

test('a leftover state.json.tmp without a state.json still gives the initial state', () => withTempDir(async (dir) => {
  await writeFile(join(dir, `${NODE_STATE_FILE}.tmp`), JSON.stringify(SAMPLE))
  assert.equal(await loadNodeState(dir), INITIAL_NODE_STATE)
}))

test('saving a state that breaks the schema is a bug and writes nothing', () => withTempDir(async (dir) => {
  await rejectsWith(saveNodeState(dir, { ...SAMPLE, seq: Number.NaN }), ErrorCodes.INTERNAL, 'seq')
  assert.equal(await readdir(dir), [])
}))

test('saving into a missing dir fails without creating it', () => withTempDir(async (dir) => {
  const missing = join(dir, 'nope')
  try {
    await saveNodeState(missing, SAMPLE)
    assert.unreachable('should have failed')
  } catch (err) {
    assert.instance(err, GridmeshError)
  }
  assert.equal(await readdir(dir), [])
}))

const seqCases: ReadonlyArray<[string, number, number, number]> = [
  ['the clock is ahead: seq jumps to now', 100, 5_000, 5_000],
  ['the clock stepped back: seq still grows by one', 5_000, 100, 5_001],
  ['the clock equals seq: seq grows by one', 5_000, 5_000, 5_001],
  ['a fractional clock is floored', 0, 1234.9, 1234],
  ['a broken clock falls back to seq + 1', 7, Number.NaN, 8]
]

for (const [name, seq, now, want] of seqCases) {
  test(`next seq: ${name}`, () => {
    assert.is(nextSeq({ ...INITIAL_NODE_STATE, seq }, now), want)
  })
}

test('seq only ever grows across any clock sequence, including steps backwards and restarts', () => withTempDir(async (dir) => {
  const clocks = fc.sample(fc.array(fc.integer({ min: 0, max: 2 ** 45 }), { minLength: 1, maxLength: 30 }), { numRuns: 20, seed: 7 })
  for (const run of clocks) {
    let state = await loadNodeState(dir)
    for (const now of run) {
      const seq = nextSeq(state, now)
      assert.ok(seq > state.seq)
      state = { ...state, seq }
      await saveNodeState(dir, state)
    }
    assert.is((await loadNodeState(dir)).seq, state.seq, 'a restart sees the last seq')
  }
}))

test('the saved file is readable JSON ending in a newline', () => withTempDir(async (dir) => {
  await saveNodeState(dir, SAMPLE)
  const text = await readFile(join(dir, NODE_STATE_FILE), 'utf8')
  assert.ok(text.endsWith('}\n'))
  assert.equal(JSON.parse(text), SAMPLE)
}))

test.run()
