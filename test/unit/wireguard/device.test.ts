import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createWireGuardDriver } from '../../../src/wireguard/device.ts'
import type { Spawn, SupervisedChild, ExitInfo } from '../../../src/wireguard/userspace.ts'
import { createRecordingRunner } from '../../../src/net/command-fake.ts'
import type { RecordedCall } from '../../../src/net/command-fake.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { testLogger } from '../../../src/log.ts'
import { priv, pub, p, MESH } from './keys.fixture.ts'

/** Every fake system's run dir, removed after the suite (even when a test fails). */
const runDirs: string[] = []
test.after(() => { for (const d of runDirs) rmSync(d, { recursive: true, force: true }) })

/** A fake system: one interface that exists while a fake wireguard-go runs. */
function fakeSystem (opts: { reportPort?: number } = {}) {
  const runDir = mkdtempSync(join(tmpdir(), 'gm-wgdev-'))
  runDirs.push(runDir)
  const sock = join(runDir, 'gm0.sock')
  const children: { child: SupervisedChild, args: readonly string[], crash: () => void }[] = []
  let linkUp = false
  let dumpPeers = ''
  const spawn: Spawn = (_cmd, args) => {
    let exitCb: ((i: ExitInfo) => void) | null = null
    let done = false
    const exit = (info: ExitInfo): void => {
      if (done) return
      done = true; linkUp = false; rmSync(sock, { force: true })
      exitCb?.(info)
    }
    setTimeout(() => { if (!done) { linkUp = true; writeFileSync(sock, '') } }, 5)
    const child: SupervisedChild = {
      pid: 1000 + children.length,
      kill: sig => { setTimeout(() => exit({ code: null, signal: sig }), 1) },
      onExit: cb => { exitCb = cb },
      onLine: () => {}
    }
    children.push({ child, args, crash: () => exit({ code: null, signal: 'SIGSEGV' }) })
    return child
  }
  const runner = createRecordingRunner((c: RecordedCall) => {
    const line = [c.cmd, ...c.args].join(' ')
    if (line.startsWith('ip link add')) return { code: 2, stderr: 'Error: Unknown device type.\n' }
    if (line.startsWith('ip -j -d link show')) return linkUp ? { stdout: '[{"ifname":"gm0","linkinfo":{"info_kind":"tun"}}]' } : { code: 1, stderr: 'Device "gm0" does not exist.' }
    if (line.startsWith('ip link del')) { linkUp = false; return undefined }
    if (line === 'wg show gm0 listen-port') return { stdout: `${opts.reportPort ?? 51820}\n` }
    if (line === 'wg show gm0 dump') return { stdout: `PRIV\t${pub(9)}\t51820\toff\n${dumpPeers}` }
    if (line.startsWith('wg set gm0 peer')) {
      dumpPeers = `${pub(1)}\t(none)\t10.0.0.2:51820\tfd5e:1a2b:3c4d:a::/64\t0\t0\t0\toff\n`
    }
    return undefined
  })
  const driver = createWireGuardDriver({ iface: 'gm0', runner, logger: testLogger(), meshPrefix: MESH, runDir, spawn, backoffMs: [1] })
  return { driver, runner, children, runDir, sock, resetDump: () => { dumpPeers = '' } }
}

const desired = {
  privateKey: priv(9),
  listenPort: 51820,
  peers: [{ publicKey: pub(1), endpoint: '10.0.0.2:51820', allowedIps: [p('fd5e:1a2b:3c4d:a::/64')], persistentKeepalive: 0 }]
}

test('no kernel module: falls back to supervised wireguard-go, key via stdin', async () => {
  const s = fakeSystem()
  await s.driver.up({ privateKey: priv(9), listenPort: 51820 })
  assert.is(s.driver.backend, 'userspace')
  assert.equal(s.children[0]?.args, ['--pdeathsig', 'KILL', '--', 'wireguard-go', '-f', 'gm0'])
  const keyCall = s.runner.calls.find(c => c.args.includes('private-key'))
  assert.is(keyCall?.stdin, `${priv(9)}\n`)
  assert.not.ok(s.runner.lines().join('\n').includes(priv(9)))
  await s.driver.up({ privateKey: priv(9), listenPort: 51820 })
  assert.is(s.children.length, 1, 'second up reuses the running interface')
  await s.driver.down()
})

test('the namespace trap is detected: wg reports another device', async () => {
  const s = fakeSystem({ reportPort: 40000 })
  try {
    await s.driver.up({ privateKey: priv(9), listenPort: 51820 })
    assert.unreachable()
  } catch (err) {
    assert.ok(isGridmeshError(err))
    assert.is(err.code, ErrorCodes.DRIVER_FAILED)
    assert.match(err.message, 'UAPI socket belongs to another namespace')
  } finally { await s.driver.down() }
})

test('a live socket without a link in our netns is refused, not stolen', async () => {
  const s = fakeSystem()
  const server = createServer()
  await new Promise<void>(resolve => server.listen(s.sock, resolve))
  try {
    await s.driver.up({ privateKey: priv(9), listenPort: 51820 })
    assert.unreachable()
  } catch (err) {
    assert.ok(isGridmeshError(err))
    assert.match(err.message, 'another namespace')
    assert.is(s.children.length, 0)
  } finally { server.close() }
})

test('a stale socket file is removed before start', async () => {
  const s = fakeSystem()
  writeFileSync(s.sock, '')
  await s.driver.up({ privateKey: priv(9), listenPort: 51820 })
  assert.is(s.children.length, 1)
  await s.driver.down()
})

test('apply runs invariants first: a violating peer is dropped alone and runs no wg command', async () => {
  const s = fakeSystem()
  await s.driver.up({ privateKey: priv(9), listenPort: 51820 })
  const before = s.runner.calls.length
  assert.equal(await s.driver.apply({ ...desired, peers: [{ ...desired.peers[0]!, allowedIps: [p('::/0')] }] }), [])
  assert.is(s.driver.droppedPeers, 1)
  // At most the read; no `wg set` for the dropped peer.
  assert.ok(s.runner.calls.slice(before).every(c => !JSON.stringify(c).includes('"set"')))
  await s.driver.down()
})

test('apply is a minimal diff; second apply changes nothing', async () => {
  const s = fakeSystem()
  await s.driver.up({ privateKey: priv(9), listenPort: 51820 })
  assert.equal(await s.driver.apply(desired), [{ kind: 'add', publicKey: pub(1) }])
  const n = s.runner.calls.filter(c => c.args[1] === 'gm0' && c.args[2] === 'peer').length
  assert.equal(await s.driver.apply(desired), [])
  assert.is(s.runner.calls.filter(c => c.args[1] === 'gm0' && c.args[2] === 'peer').length, n)
  await s.driver.down()
})

test('wireguard-go crash: restarted, config re-applied, owner notified', async () => {
  const s = fakeSystem()
  let notified = 0
  s.driver.onRestart(() => { notified++ })
  await s.driver.up({ privateKey: priv(9), listenPort: 51820 })
  await s.driver.apply(desired)
  s.resetDump() // the new TUN device starts empty
  s.children[0]?.crash()
  const deadline = Date.now() + 3000
  while (notified === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
  assert.is(notified, 1)
  assert.is(s.children.length, 2)
  const peerSets = s.runner.calls.filter(c => c.args[2] === 'peer' && c.args[3] === pub(1))
  assert.is(peerSets.length, 2, 'peer re-added after restart')
  await s.driver.down()
})

test('down stops wireguard-go, is idempotent, and leaves no socket', async () => {
  const s = fakeSystem()
  await s.driver.up({ privateKey: priv(9), listenPort: 51820 })
  await s.driver.down()
  await s.driver.down()
  assert.is(s.driver.backend, null)
  assert.not.ok(existsSync(s.sock))
  assert.is(s.children.length, 1, 'a requested stop is not restarted')
  await new Promise(resolve => setTimeout(resolve, 30))
  assert.is(s.children.length, 1)
})

test('an apply plans against a fresh read or its own last apply (no `wg show dump`), never across a restart', async () => {
  const s = fakeSystem()
  await s.driver.up({ privateKey: priv(9), listenPort: 51820 })
  const dumps = (): number => s.runner.lines().filter(l => l === 'wg show gm0 dump').length
  try {
    await s.driver.read()
    const before = dumps()
    await s.driver.apply(desired)
    assert.is(dumps(), before, 'the fresh read stood in for the apply\'s own')
    await s.driver.apply(desired)
    assert.is(dumps(), before, 'the state its own apply left stood in for a read')
    // Someone else changed the device: the next read (the pass re-reads every few seconds) wins over the model.
    const peerSets = (): number => s.runner.calls.filter(c => c.args[2] === 'peer' && c.args[3] === pub(1)).length
    s.resetDump()
    await s.driver.read()
    assert.equal(await s.driver.apply(desired), [{ kind: 'add', publicKey: pub(1) }])
    assert.is(peerSets(), 2)
    let restarted = false
    s.driver.onRestart(async () => { restarted = true })
    await s.driver.read()
    const n = dumps()
    s.resetDump() // the new TUN device starts empty
    s.children[0]?.crash()
    const deadline = Date.now() + 3000
    while (!restarted && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
    assert.ok(restarted)
    assert.ok(dumps() > n, 'the re-apply after a restart read the new device, not the read from before it')
    assert.is(peerSets(), 3, 'peer re-added after restart')
  } finally { await s.driver.down() }
})

test.run()
