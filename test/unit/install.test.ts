/**
 * The farmer install (issue 5): scripts/install.sh lays out code, config and
 * unit under temporary roots, the written config passes --check-config, and
 * the shipped example config is valid and documents every option.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CONFIG_KEYS } from '../../src/config/schema.ts'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const GRIDMESH = join(ROOT, 'bin/gridmesh')
const EXAMPLE = join(ROOT, 'dist/gridmesh.example.yaml')
let tmp = ''

test.before(async () => { tmp = await mkdtemp(join(tmpdir(), 'gm-install-')) })
test.after(async () => { await rm(tmp, { recursive: true, force: true }) })

test('install.sh lays out code, CLI link, config and unit, and validates the config', async () => {
  const prefix = join(tmp, 'opt'); const etc = join(tmp, 'etc'); const units = join(tmp, 'units'); const bin = join(tmp, 'bin')
  const r = await run('bash', [join(ROOT, 'scripts/install.sh'), '--prefix', prefix, '--config-dir', etc, '--unit-dir', units,
    '--bin-dir', bin, '--no-start', '--no-setup', '--mesh', 'test', '--bootstrap', '10.0.0.1:7700', '--bootstrap', '10.0.0.2:7700'],
  { timeout: 300_000, maxBuffer: 1 << 20 })
  assert.match(r.stdout, /is valid/)
  assert.match(r.stdout, /--no-start: not enabling/)
  assert.ok((await stat(join(prefix, 'bin/gridmesh'))).mode & 0o100, 'CLI executable')
  assert.is(await readlink(join(bin, 'gridmesh')), join(prefix, 'bin/gridmesh'))
  assert.not.ok(await lstat(join(prefix, '.git')).catch(() => null), 'no .git copied')

  const config = join(etc, 'gridmesh.yaml')
  assert.is((await stat(config)).mode & 0o777, 0o640)
  const text = await readFile(config, 'utf8')
  assert.match(text, /^mesh: test$/m)
  assert.match(text, /^bootstrap: \["10\.0\.0\.1:7700", "10\.0\.0\.2:7700"\]$/m)
  assert.match(text, /^# wgPort: 51820$/m, 'comments kept')
  const checked = await run(join(prefix, 'bin/gridmesh'), ['up', '--config', config, '--check-config'])
  const resolved = JSON.parse(checked.stdout) as { mesh: string, bootstrap: string[], stateDir: string }
  assert.equal([resolved.mesh, resolved.bootstrap, resolved.stateDir], ['test', ['10.0.0.1:7700', '10.0.0.2:7700'], '/var/lib/gridmesh'])

  const unit = await readFile(join(units, 'gridmesh.service'), 'utf8')
  assert.match(unit, new RegExp(`^ExecStart=${join(prefix, 'bin/gridmesh')} up --config ${config}$`, 'm'))
  for (const line of ['Restart=on-failure', 'RuntimeDirectory=gridmesh', 'StateDirectory=gridmesh', 'KillSignal=SIGTERM', 'TimeoutStopSec=20', 'DeviceAllow=/dev/net/tun rw']) {
    assert.match(unit, new RegExp(`^${line}$`, 'm'), line)
  }
})

test('re-running keeps an existing config and still validates it', async () => {
  const prefix = join(tmp, 'opt'); const etc = join(tmp, 'etc')
  const before = await readFile(join(etc, 'gridmesh.yaml'), 'utf8')
  const r = await run('bash', [join(ROOT, 'scripts/install.sh'), '--prefix', prefix, '--config-dir', etc, '--unit-dir', join(tmp, 'units'),
    '--bin-dir', join(tmp, 'bin'), '--no-start', '--no-setup', '--mesh', 'other'], { timeout: 300_000, maxBuffer: 1 << 20 })
  assert.match(r.stdout, /keeping existing/)
  assert.is(await readFile(join(etc, 'gridmesh.yaml'), 'utf8'), before)
})

test('bad installer arguments exit 2 with one line', async () => {
  for (const args of [['--mesh', 'Bad Name'], ['--bootstrap', 'a b'], ['--prefix', 'relative'], ['--frobnicate']]) {
    const r = await run('bash', [join(ROOT, 'scripts/install.sh'), ...args]).then(() => null, (e: { code: number, stderr: string }) => e)
    assert.ok(r !== null, `${args.join(' ')} must fail`)
    assert.is(r.code, 2, args.join(' '))
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  }
})

/** install runs the installer into a scratch root (no setup, no start). */
async function install (root: string, ...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const dirs = ['--prefix', join(root, 'opt'), '--config-dir', join(root, 'etc'), '--unit-dir', join(root, 'units'), '--bin-dir', join(root, 'bin')]
  return await run('bash', [join(ROOT, 'scripts/install.sh'), ...dirs, '--no-start', '--no-setup', ...args], { timeout: 300_000, maxBuffer: 1 << 20 })
    .then(r => ({ code: 0, stdout: r.stdout, stderr: r.stderr }), (e: { code: number, stdout: string, stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }))
}

test('bad arguments are refused before anything is copied: the scratch root stays empty', async () => {
  for (const args of [
    ['--mesh', 'test', '--bootstrap', '10.9.0.1'],
    ['--mesh', 'test', '--bootstrap', '10.9.0.1:99999'],
    ['--bootstrap', '10.9.0.1:7700'],
    ['--mesh', 'test', '--bootstrap', '[:::1]:7700']
  ]) {
    const root = await mkdtemp(join(tmpdir(), 'gm-install-bad-'))
    try {
      const r = await install(root, ...args)
      assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(await readdir(root), [], `${args.join(' ')} left ${(await readdir(root)).join(', ')}`)
      assert.not.match(r.stdout, /copying/)
    } finally { await rm(root, { recursive: true, force: true }) }
  }
})

test('an existing invalid config stops the install before the copy and offers --force-config, which replaces it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'gm-install-old-'))
  try {
    await mkdir(join(root, 'etc'))
    const bad = 'mesh: test\nstateDir: /var/lib/gridmesh\nbootstrap: ["10.9.0.1"]\n'
    await writeFile(join(root, 'etc', 'gridmesh.yaml'), bad)
    const r = await install(root, '--mesh', 'test', '--bootstrap', '10.9.0.1:7700')
    assert.is(r.code, 2)
    assert.match(r.stderr, /existing .*gridmesh.yaml is invalid .*--force-config/)
    assert.equal(await readdir(root), ['etc'], 'nothing installed')
    const forced = await install(root, '--force-config', '--mesh', 'test', '--bootstrap', '10.9.0.1:7700')
    assert.is(forced.code, 0, forced.stderr)
    assert.match(await readFile(join(root, 'etc', 'gridmesh.yaml'), 'utf8'), /^bootstrap: \["10\.9\.0\.1:7700"\]$/m)
    assert.is(await readFile(join(root, 'etc', 'gridmesh.yaml.old'), 'utf8'), bad, 'the old file is kept')
  } finally { await rm(root, { recursive: true, force: true }) }
})

test('dist/gridmesh.example.yaml passes --check-config (given --state-dir)', async () => {
  const r = await run(GRIDMESH, ['up', '--config', EXAMPLE, '--state-dir', join(tmp, 'state'), '--check-config'])
  assert.is((JSON.parse(r.stdout) as { stateDir: string }).stateDir, join(tmp, 'state'))
})

test('the example documents every config option (set or as a commented default)', async () => {
  const text = await readFile(EXAMPLE, 'utf8')
  for (const key of CONFIG_KEYS) assert.match(text, new RegExp(`^#? ?${key}:`, 'm'), `${key} missing from the example`)
})

test.run()
