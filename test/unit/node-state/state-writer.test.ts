/**
 * Saving the node state from several parts of the daemon (seq, prefix,
 * high-water marks): serialised writes, debounced mark saves, and the
 * restart round trip that keeps replay protection (T4).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { INITIAL_NODE_STATE, NODE_STATE_FILE, createDebouncedSave } from '../../../src/mesh/node-state.ts'
import { createStateWriter, loadNodeState } from '../../../src/mesh/node-state-file.ts'
import { systemTime } from '../../../src/time/system.ts'
import type { NodeState } from '../../../src/mesh/node-state.ts'
import { createSeqHighWater } from '../../../src/mesh/record-dht.ts'
import { waitFor } from '../mesh/helpers.ts'

async function withTempDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gridmesh-writer-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

test('concurrent saves through one writer all succeed and the last state wins', () => withTempDir(async (dir) => {
  let state: NodeState = INITIAL_NODE_STATE
  const save = createStateWriter(dir, () => state)
  const saves: Array<Promise<void>> = []
  for (let i = 1; i <= 20; i++) {
    state = i % 2 === 0 ? { ...state, seq: i } : { ...state, highestSeen: { peer: i } }
    saves.push(save())
  }
  await Promise.all(saves)
  assert.equal(await loadNodeState(dir), { ...INITIAL_NODE_STATE, seq: 20, highestSeen: { peer: 19 } })
  assert.equal(await readdir(dir), [NODE_STATE_FILE])
}))

test('a failed save does not block the next one', () => withTempDir(async (dir) => {
  let state: NodeState = { ...INITIAL_NODE_STATE, seq: Number.NaN }
  const save = createStateWriter(dir, () => state)
  let failed = false
  try { await save() } catch { failed = true }
  assert.ok(failed, 'an invalid state is refused')
  state = { ...INITIAL_NODE_STATE, seq: 3 }
  await save()
  assert.is((await loadNodeState(dir)).seq, 3)
}))

test('debounced save: a burst of requests is one save; flush runs a pending one at once', async () => {
  let saves = 0
  const d = createDebouncedSave(async () => { saves++ }, 30, () => {}, systemTime)
  for (let i = 0; i < 10; i++) d.request()
  await waitFor(() => saves === 1, 'the debounced save')
  await new Promise(resolve => setTimeout(resolve, 60)) // no second save without a new request
  assert.is(saves, 1)
  await d.flush()
  assert.is(saves, 1, 'nothing pending: flush does nothing')
  d.request()
  await d.flush()
  assert.is(saves, 2, 'flush ran the pending save without waiting')
  await new Promise(resolve => setTimeout(resolve, 60))
  assert.is(saves, 2, 'and the timer it replaced does not fire again')
})

test('debounced save: a failure goes to onError and the next request retries', async () => {
  let attempts = 0
  const errors: unknown[] = []
  const d = createDebouncedSave(async () => { attempts++; if (attempts === 1) throw new Error('disk full') }, 5, err => { errors.push(err) }, systemTime)
  d.request()
  await waitFor(() => errors.length === 1, 'the failure')
  d.request()
  await waitFor(() => attempts === 2, 'the retry')
  assert.is(errors.length, 1)
})

test('restart round trip: marks saved after a raise are loaded back and seed the high-water map', () => withTempDir(async (dir) => {
  let state: NodeState = INITIAL_NODE_STATE
  const write = createStateWriter(dir, () => state)
  // As the daemon wires it: a raise schedules a save of every mark; stop flushes.
  const d = createDebouncedSave(async () => { state = { ...state, highestSeen: seqs.entries() }; await write() }, 10, err => { throw err }, systemTime)
  const seqs = createSeqHighWater({ onRaise: d.request })
  for (const seq of [100, 101, 250]) seqs.observe('12D3KooWpeer', seq)
  seqs.observe('12D3KooWother', 7)
  await d.flush()
  state = { ...state, seq: 42 } // a later seq save keeps them
  await write()
  const loaded = await loadNodeState(dir)
  assert.equal(loaded.highestSeen, { '12D3KooWpeer': 250, '12D3KooWother': 7 })
  const restarted = createSeqHighWater({ initial: loaded.highestSeen ?? {} })
  assert.is(restarted.get('12D3KooWpeer'), 250)
}))

test.run()
