/** `gridmesh completion bash` (issue 18): generated from the CLI itself, so it completes what exists. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const GRIDMESH = fileURLToPath(new URL('../../../bin/gridmesh', import.meta.url))

test('bash completion completes commands, subcommands, flags and file values', async () => {
  const script = (await run(GRIDMESH, ['completion', 'bash'])).stdout
  const complete = async (...words: string[]): Promise<string[]> => {
    const line = words.map(w => `"${w}"`).join(' ')
    const r = await run('bash', ['-c', `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _gridmesh; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: fileURLToPath(new URL('.', import.meta.url)) })
    return r.stdout.split('\n').filter(s => s !== '').sort()
  }
  assert.equal(await complete('gridmesh', 'wor'), ['workload'])
  assert.equal(await complete('gridmesh', 'workload', ''), ['--help', 'add', 'list', 'remove'])
  assert.equal(await complete('gridmesh', 'routes', '--ex'), ['--explain'])
  assert.equal(await complete('gridmesh', 'up', '--probe-p'), ['--probe-port'])
  assert.ok((await complete('gridmesh', 'p')).includes('ping'))
  assert.equal(await complete('gridmesh', 'peers', '--admin-socket', 'completion.te'), ['completion.test.ts'])
  const zsh = (await run(GRIDMESH, ['completion', 'zsh'])).stdout
  assert.match(zsh, /bashcompinit/)
  const bad = await run(GRIDMESH, ['completion', 'fish']).then(() => null, (e: { code: number, stderr: string }) => e)
  assert.is(bad?.code, 2)
})

test.run()
