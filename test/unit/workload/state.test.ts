import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadWorkloads, saveWorkloads, WORKLOADS_FILE, type WorkloadEntry } from '../../../src/workload/state.ts'
import { parseNetnsName, parseWorkloadName } from '../../../src/workload/names.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gm-wl-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

const entry = (name: string, netns: string, host: number): WorkloadEntry => ({ name: parseWorkloadName(name), netns: parseNetnsName(netns), host })

test('a missing file is an empty list', () => withDir(async dir => {
  assert.equal(await loadWorkloads(dir), [])
}))

test('round trip: saved sorted by address, 0600, loaded back equal', () => withDir(async dir => {
  await saveWorkloads(dir, [entry('b', 'ns-b', 0x101), entry('a', 'ns-a', 0x100)])
  assert.is((await stat(join(dir, WORKLOADS_FILE))).mode & 0o777, 0o600)
  assert.equal(await loadWorkloads(dir), [entry('a', 'ns-a', 0x100), entry('b', 'ns-b', 0x101)])
  assert.equal(JSON.parse(await readFile(join(dir, WORKLOADS_FILE), 'utf8')).version, 1)
}))

const CORRUPT: Array<[string, string, RegExp]> = [
  ['empty', '', /empty/],
  ['not JSON', '{"version":1,', /not JSON/],
  ['wrong version', '{"version":2,"workloads":[]}', /version/],
  ['unknown field', '{"version":1,"workloads":[{"name":"a","netns":"n","host":256,"x":1}]}', /workloads\.0/],
  ['bad name', '{"version":1,"workloads":[{"name":"A!","netns":"n","host":256}]}', /invalid workload name/],
  ['a node address', '{"version":1,"workloads":[{"name":"a","netns":"n","host":1}]}', /workloads\.0\.host/],
  ['duplicate names', '{"version":1,"workloads":[{"name":"a","netns":"n","host":256},{"name":"a","netns":"m","host":257}]}', /duplicate workload name/],
  ['duplicate addresses', '{"version":1,"workloads":[{"name":"a","netns":"n","host":256},{"name":"b","netns":"m","host":256}]}', /duplicate workload address/]
]
for (const [name, text, reason] of CORRUPT) {
  test(`a corrupt file (${name}) is STATE_CORRUPT naming the file`, () => withDir(async dir => {
    await writeFile(join(dir, WORKLOADS_FILE), text)
    try { await loadWorkloads(dir); assert.unreachable() } catch (err) {
      assert.ok(isGridmeshError(err), String(err))
      assert.is(err.code, ErrorCodes.STATE_CORRUPT)
      assert.match(err.message, join(dir, WORKLOADS_FILE))
      assert.match(err.message, reason)
    }
  }))
}

test.run()
