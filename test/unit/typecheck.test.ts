/** The whole project typechecks under the strict settings of tsconfig.json. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

test('tsc --noEmit reports no errors', () => {
  const r = spawnSync(process.execPath, [`${ROOT}/node_modules/typescript/bin/tsc`, '--noEmit', '-p', ROOT], { encoding: 'utf8' })
  assert.is(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`)
})

test.run()
