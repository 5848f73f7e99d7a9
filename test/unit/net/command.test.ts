import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createCommandRunner } from '../../../src/net/command.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'

const runner = createCommandRunner()

test('stdout, stderr and exit code are returned', async () => {
  const r = await runner.run('sh', ['-c', 'echo out; echo err >&2; exit 3'], { allowFail: true })
  assert.equal(r, { stdout: 'out\n', stderr: 'err\n', code: 3 })
})

test('stdin reaches the command as a real pipe (/dev/stdin opens)', async () => {
  const r = await runner.run('head', ['-c', '100', '/dev/stdin'], { stdin: 'secret-key\n' })
  assert.is(r.stdout, 'secret-key\n')
})

test('failure → DRIVER_FAILED with argv and stderr, never stdin', async () => {
  try {
    await runner.run('sh', ['-c', 'echo boom >&2; exit 1', 'arg1'], { stdin: 'TOPSECRET' })
    assert.unreachable()
  } catch (err) {
    assert.ok(isGridmeshError(err))
    assert.is(err.code, ErrorCodes.DRIVER_FAILED)
    assert.match(err.message, 'sh -c')
    assert.match(err.message, 'boom')
    assert.not.match(err.message, 'TOPSECRET')
  }
})

test('missing tool → MISSING_TOOL naming the Debian package', async () => {
  for (const opts of [{}, { stdin: 'x' }]) {
    try {
      await createCommandRunner({ env: { PATH: '/nonexistent' } }).run('wg', ['show'], opts)
      assert.unreachable()
    } catch (err) {
      assert.ok(isGridmeshError(err), String(err))
      assert.is(err.code, ErrorCodes.MISSING_TOOL)
      assert.match(err.message, 'wireguard-tools')
    }
  }
})

test.run()
