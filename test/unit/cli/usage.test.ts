/**
 * Parsing and usage errors (issue 18): a flag never swallows the next flag,
 * usage errors are one line with a hint, unknown commands never suggest a
 * destructive one.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { usageLine } from '../../../src/cli/usage.ts'

const run = promisify(execFile)
const GRIDMESH = fileURLToPath(new URL('../../../bin/gridmesh', import.meta.url))
const SOCK = '/nonexistent-gm-test/admin.sock'

async function cli (...args: string[]): Promise<{ code: number, stderr: string }> {
  return await run(GRIDMESH, args, { env: { ...process.env, GRIDMESH_ADMIN_SOCKET: '' } }).then(
    r => ({ code: 0, stderr: r.stderr }), (e: { code: number, stderr: string }) => ({ code: e.code, stderr: e.stderr }))
}

test('optional-value flags never swallow the next flag', async () => {
  for (const args of [['routes', '--explain', '--admin-socket', SOCK], ['graph', '--svg', '--admin-socket', SOCK]]) {
    const r = await cli(...args)
    // The command ran and tried the socket it was given: no "too many arguments".
    assert.not.match(r.stderr, /too many arguments/, args.join(' '))
    assert.match(r.stderr, /no gridmesh daemon at \/nonexistent-gm-test\/admin.sock/, r.stderr)
    assert.is(r.code, 1)
  }
})

test('a value-taking flag followed by another flag says it needs a value, in one line', async () => {
  const r = await cli('up', '--wg-port', '--mesh', 'x', '--check-config')
  assert.is(r.code, 2)
  assert.is(r.stderr, 'gridmesh up: --wg-port needs a value, not the flag --mesh; see `gridmesh up --help`\n')
  const dash = await cli('up', '--mesh', 'x', '--state-dir', '/var/lib/gridmesh', '--interface', '-odd', '--check-config')
  assert.is(dash.code, 0, `a value that merely starts with a dash is still a value: ${dash.stderr}`)
})

test('usage errors are one line with a hint', async () => {
  for (const args of [['peers', '--bogus'], ['routes', 'a', 'b'], ['frobnicate'], ['workload', 'add', 'x'], ['workload', 'remov', 'x']]) {
    const r = await cli(...args)
    assert.is(r.code, 2, args.join(' '))
    const lines = r.stderr.trimEnd().split('\n')
    assert.is(lines.length, 1, r.stderr)
    assert.match(lines[0] ?? '', /; (did you mean .*\? )?see `gridmesh [a-z ]*--help`$/)
  }
})

test('unknown commands never suggest a destructive command', async () => {
  const r = await cli('revok')
  assert.is(r.code, 2)
  assert.not.match(r.stderr, /revoke/)
  assert.is(usageLine('', "error: unknown command 'reload'\n(Did you mean one of revoke, workload?)\n"),
    'gridmesh: unknown command \'reload\'; did you mean workload? see `gridmesh --help`\n')
  assert.is(usageLine('', "error: unknown command 'leav'\n(Did you mean leave?)\n"), 'gridmesh: unknown command \'leav\'; see `gridmesh --help`\n')
  assert.is(usageLine('workload', "error: unknown command 'remve'\n(Did you mean remove?)\n"), 'gridmesh workload: unknown command \'remve\'; see `gridmesh workload --help`\n')
  assert.is(usageLine('', "error: unknown command 'stauts'\n(Did you mean status?)\n"), 'gridmesh: unknown command \'stauts\'; did you mean status? see `gridmesh --help`\n')
})

test.run()
