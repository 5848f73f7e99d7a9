/**
 * Attack 3 (issue 19): a second daemon with the same interface name deleted
 * the first daemon's live wireguard-go interface ("removing leftover
 * wireguard-go interface"). A daemon now removes only what it can prove a
 * gridmesh daemon made (the `<iface>.gridmesh` mark) and only once that
 * daemon is dead; a live owner is refused at once (ALREADY_RUNNING, exit 2),
 * and a refused daemon's cleanup touches nothing.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createWireGuardDriver } from '../../../src/wireguard/device.ts'
import { acquireInterfaceLock, interfaceLockPath, startTimeOf } from '../../../src/wireguard/iface-lock.ts'
import { createRecordingRunner, type RecordedCall } from '../../../src/net/command-fake.ts'
import { ErrorCodes, exitCodeFor, isGridmeshError } from '../../../src/errors.ts'
import { testLogger } from '../../../src/log.ts'
import { priv, MESH } from '../wireguard/keys.fixture.ts'
import type { Spawn } from '../../../src/wireguard/userspace.ts'

/** A host where another wireguard-go serves gm0: the link exists and its UAPI socket answers. */
async function hostWithLiveInterface (): Promise<{ runDir: string, server: Server, runner: ReturnType<typeof createRecordingRunner>, spawned: string[][] }> {
  const runDir = mkdtempSync(join(tmpdir(), 'gm-sec-iface-'))
  const server = createServer()
  await new Promise<void>(resolve => server.listen(join(runDir, 'gm0.sock'), resolve))
  const runner = createRecordingRunner((c: RecordedCall) => {
    const line = [c.cmd, ...c.args].join(' ')
    if (line.startsWith('ip -j -d link show')) return { stdout: '[{"ifname":"gm0","linkinfo":{"info_kind":"tun"}}]' }
    if (line.startsWith('ip link add')) return { code: 2, stderr: 'Error: Unknown device type.\n' }
    return undefined
  })
  return { runDir, server, runner, spawned: [] }
}

function driverOn (h: { runDir: string, runner: ReturnType<typeof createRecordingRunner>, spawned: string[][] }) {
  const spawnFake: Spawn = (_cmd, args) => { h.spawned.push([...args]); throw new Error('no wireguard-go in this test') }
  return createWireGuardDriver({ iface: 'gm0', runner: h.runner, logger: testLogger(), meshPrefix: MESH, runDir: h.runDir, spawn: spawnFake, backoffMs: [1] })
}

test('a live gridmesh daemon holding the name: refused at once (exit 2), and neither up nor down deletes its interface', async () => {
  const h = await hostWithLiveInterface()
  const owner = spawn('sleep', ['60'], { stdio: 'ignore' })
  try {
    writeFileSync(interfaceLockPath(h.runDir, 'gm0'), `${owner.pid ?? 0} ${startTimeOf(owner.pid ?? 0) ?? ''}\n`)
    const d = driverOn(h)
    try {
      await d.up({ privateKey: priv(9), listenPort: 51820 })
      assert.unreachable('expected a refusal')
    } catch (err) {
      assert.ok(isGridmeshError(err), String(err))
      assert.is(err.code, ErrorCodes.ALREADY_RUNNING)
      assert.match(err.message, `pid ${owner.pid ?? 0}`)
      assert.is(exitCodeFor(err), 2)
    }
    await d.down() // the failed start's unwind
    assert.not.ok(h.runner.lines().some(l => l.startsWith('ip link del')), h.runner.lines().join('\n'))
    assert.equal(h.spawned, [])
    assert.ok(readFileSync(interfaceLockPath(h.runDir, 'gm0'), 'utf8').startsWith(`${owner.pid ?? 0} `), 'the owner keeps its mark')
  } finally { owner.kill(); h.server.close(); rmSync(h.runDir, { recursive: true, force: true }) }
})

test('a live wireguard-go with no gridmesh mark is someone else\'s: refused, not deleted', async () => {
  const h = await hostWithLiveInterface()
  try {
    const d = driverOn(h)
    try { await d.up({ privateKey: priv(9), listenPort: 51820 }); assert.unreachable('expected a refusal') } catch (err) {
      assert.ok(isGridmeshError(err), String(err))
      assert.is(err.code, ErrorCodes.ALREADY_RUNNING)
      assert.match(err.message, 'no gridmesh daemon owns')
    }
    assert.not.ok(h.runner.lines().some(l => l.startsWith('ip link del')), h.runner.lines().join('\n'))
    await d.down()
  } finally { h.server.close(); rmSync(h.runDir, { recursive: true, force: true }) }
})

test('a dead daemon\'s mark is taken over at once, and what it left is cleared', async () => {
  const h = await hostWithLiveInterface()
  const dead = spawn('true')
  await new Promise(resolve => dead.once('exit', resolve))
  try {
    writeFileSync(interfaceLockPath(h.runDir, 'gm0'), `${dead.pid ?? 0} 1\n`)
    const d = driverOn(h)
    await d.up({ privateKey: priv(9), listenPort: 51820 }).catch(() => undefined) // no wireguard-go here; only the cleanup matters
    assert.ok(h.runner.lines().includes('ip link del dev gm0'), h.runner.lines().join('\n'))
    assert.ok(readFileSync(interfaceLockPath(h.runDir, 'gm0'), 'utf8').startsWith(`${process.pid} `), 'the mark is ours now')
    await d.down()
    assert.not.ok(existsSync(interfaceLockPath(h.runDir, 'gm0')), 'down releases the mark')
  } finally { h.server.close(); rmSync(h.runDir, { recursive: true, force: true }) }
})

test('the lock: absent → taken (not inherited); a pid whose start time differs (reused pid) counts as dead', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'gm-sec-lock-'))
  try {
    const a = await acquireInterfaceLock(runDir, 'gmx')
    assert.is(a.inherited, false)
    await a.release()
    writeFileSync(interfaceLockPath(runDir, 'gmx'), `${process.ppid} not-its-start-time\n`)
    const b = await acquireInterfaceLock(runDir, 'gmx')
    assert.is(b.inherited, true)
    await b.release()
  } finally { rmSync(runDir, { recursive: true, force: true }) }
})

test('one daemon per network namespace: a live daemon on another interface name is refused too (its nft table and veths are per namespace)', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'gm-sec-ns-'))
  const owner = spawn('sleep', ['60'], { stdio: 'ignore' })
  try {
    const ns = statSync('/proc/self/ns/net')
    writeFileSync(join(runDir, `netns-${ns.dev}-${ns.ino}.gridmesh`), `${owner.pid ?? 0} ${startTimeOf(owner.pid ?? 0) ?? '-'} gmother\n`)
    try { await acquireInterfaceLock(runDir, 'gmx'); assert.unreachable('expected a refusal') } catch (err) {
      assert.ok(isGridmeshError(err), String(err))
      assert.is(err.code, ErrorCodes.ALREADY_RUNNING)
      assert.match(err.message, `pid ${owner.pid ?? 0}, interface gmother`)
    }
    assert.not.ok(existsSync(interfaceLockPath(runDir, 'gmx')), 'the name was not taken')
  } finally { owner.kill(); rmSync(runDir, { recursive: true, force: true }) }
})

test.run()
