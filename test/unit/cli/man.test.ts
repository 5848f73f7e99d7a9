/** `gridmesh man` (issue 18): the man page is generated from the CLI, so every command and flag is in it. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CONFIG_KEYS } from '../../../src/config/schema.ts'
import { envName, flagName } from '../../../src/config/load.ts'
import { roff } from '../../../src/cli/man.ts'

const run = promisify(execFile)
const GRIDMESH = fileURLToPath(new URL('../../../bin/gridmesh', import.meta.url))

test('the man page lists every command, every up flag and every env variable', async () => {
  const page = (await run(GRIDMESH, ['man'])).stdout
  assert.match(page, /^\.TH GRIDMESH 1 /)
  for (const cmd of ['up', 'status', 'peers', 'routes', 'graph', 'ping', 'doctor', 'completion', 'workload add', 'mesh init', 'revoke']) {
    assert.ok(page.includes(`.B gridmesh ${roff(cmd)}`), cmd)
  }
  for (const key of CONFIG_KEYS) {
    assert.ok(page.includes(`.B ${roff(flagName(key))}`), flagName(key))
    assert.ok(page.includes(`.B ${roff(envName(key))}`), envName(key))
  }
  assert.is(roff('.x -y'), '\\&.x \\-y')
})

test.run()
