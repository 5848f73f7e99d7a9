/**
 * The daemon's lifecycle on a real host: bad input is refused before the
 * system changes, keys are guarded, start and stop are idempotent and a crash
 * leaves nothing a restart cannot clean.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, readFile, writeFile, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createMeshLab, type MeshLab } from '../../netns/mesh.ts'
import { waitFor } from '../../netns/lab.ts'

let m: MeshLab

test.before(async () => { m = await createMeshLab({ hosts: 2 }) })
test.after(async () => { await m.destroy() })

async function noInterface (i: number): Promise<boolean> {
  return (await m.lab.exec(i, 'ip', ['link', 'show', 'gridmesh0'])).code !== 0
}

test('a bad flag exits 2 with one line and changes nothing', async () => {
  const dir = join(m.lab.dir, 'never')
  const r = await m.cli(1, ['up', '--mesh', 'lab', '--state-dir', dir, '--wg-port', '70000'])
  assert.is(r.code, 2)
  assert.match(r.stderr, /^gridmesh: invalid --wg-port/)
  assert.is(r.stderr.trim().split('\n').length, 1, 'one line')
  assert.ok(await noInterface(1))
  assert.is(await stat(dir).catch(() => null), null, 'state dir not created')
})

test('inspection commands without a daemon name the socket and exit 1', async () => {
  const sock = join(m.lab.dir, 'nobody.sock')
  for (const cmd of ['status', 'peers', 'routes', 'leave']) {
    const r = await m.cli(1, [cmd, '--admin-socket', sock])
    assert.is(r.code, 1, cmd)
    assert.match(r.stderr, new RegExp(`no gridmesh daemon at ${sock.replace(/[/.]/g, '\\$&')}`))
  }
})

test('first start creates 0700/0600 keys; the interface comes up; a world-readable key is then refused with exit 2', async () => {
  m.start(1)
  const s = await m.waitReady(1)
  assert.is((await stat(m.stateDir(1))).mode & 0o777, 0o700)
  for (const f of ['libp2p.key', 'wireguard.key', 'state.json']) assert.is((await stat(join(m.stateDir(1), f))).mode & 0o777, 0o600, f)
  assert.not.ok(await noInterface(1))
  assert.is(await m.stop(1, 'SIGTERM'), 0)
  await chmod(join(m.stateDir(1), 'wireguard.key'), 0o644)
  const r = await m.cli(1, ['up', '--mesh', 'lab', '--state-dir', m.stateDir(1), '--admin-socket', m.adminSocket(1)])
  assert.is(r.code, 2)
  assert.match(r.stderr, /chmod 600/)
  assert.ok(await noInterface(1), 'nothing created')
  await chmod(join(m.stateDir(1), 'wireguard.key'), 0o600)
  m.start(1)
  assert.is((await m.waitReady(1)).peerId, s.peerId, 'same identity after the fix')
})

test('a second daemon on the same state dir is refused and the first keeps running', async () => {
  const r = await m.cli(1, ['up', '--mesh', 'lab', '--state-dir', m.stateDir(1), '--admin-socket', join(m.lab.dir, 'other.sock'), '--listen', '0.0.0.0:7701', '--wg-port', '51830'])
  assert.is(r.code, 2) // taken by a live daemon: a usage error, refused at once (issue 19)
  assert.match(r.stderr, /another gridmesh daemon \(pid \d+\) uses the state dir/)
  await m.status(1)
})

test('kill -9 leaves no interface (wireguard-go dies with the daemon) and a restart keeps the identity', async () => {
  const before = await m.status(1)
  await m.stop(1, 'SIGKILL')
  await waitFor(() => noInterface(1), { what: 'interface gone after kill -9', timeoutMs: 10_000 })
  m.start(1)
  const after = await m.waitReady(1)
  assert.is(after.peerId, before.peerId)
  assert.is(after.prefix, before.prefix)
  assert.is(after.wgPublicKey, before.wgPublicKey)
})

test('a corrupt key file is a clear error, never a new identity', async () => {
  m.start(2)
  await m.waitReady(2)
  assert.is(await m.stop(2, 'SIGTERM'), 0)
  const keyFile = join(m.stateDir(2), 'libp2p.key')
  const original = await readFile(keyFile)
  await writeFile(keyFile, original.subarray(0, 10))
  const r = await m.cli(2, ['up', '--mesh', 'lab', '--state-dir', m.stateDir(2), '--admin-socket', m.adminSocket(2)])
  assert.is(r.code, 1)
  assert.match(r.stderr, /libp2p.key/)
  assert.ok(await noInterface(2))
  assert.equal((await readFile(keyFile)).length, 10, 'the damaged file is left for the admin, not replaced')
  await writeFile(keyFile, original)
})

test('the logs never contain the WireGuard private key', async () => {
  const key = (await readFile(join(m.stateDir(1), 'wireguard.key'), 'utf8')).trim()
  const hex = Buffer.from(key, 'base64').toString('hex')
  const log = await readFile(m.proc(1)?.logFile ?? '', 'utf8')
  assert.ok(log.includes('interface ready'), 'log is the daemon log')
  assert.not.ok(log.includes(key) || log.includes(hex), 'private key in log')
})

test('SIGTERM exits 0 and removes interface, admin socket and lock; a second stop is a no-op', async () => {
  assert.is(await m.stop(1, 'SIGTERM'), 0)
  assert.ok(await noInterface(1))
  assert.is(await stat(m.adminSocket(1)).catch(() => null), null, 'admin socket removed')
  assert.is(await stat(join(m.stateDir(1), 'daemon.pid')).catch(() => null), null, 'lock released')
  assert.is(await m.stop(1, 'SIGTERM'), null, 'nothing to stop')
})

test.run()
