import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { applyPeerOps, readDeviceState, setDeviceKeyAndPort, wgSetCommands } from '../../../src/wireguard/wg-tool.ts'
import { createRecordingRunner } from '../../../src/net/command-fake.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { priv, pub, p } from './keys.fixture.ts'

const A = pub(1); const B = pub(2); const C = pub(3)

test('all peer ops go out in ONE wg set, allowed-ips as the full comma list', async () => {
  const r = createRecordingRunner()
  await applyPeerOps(r, 'gm0', [
    { kind: 'remove', publicKey: A },
    { kind: 'set', publicKey: B, allowedIps: [p('fd5e::/64'), p('fd5e:0:0:1::2/128')] },
    { kind: 'set', publicKey: C, endpoint: '[fd00::3]:51820', allowedIps: [], persistentKeepalive: 0 }
  ])
  assert.is(r.calls.length, 1)
  assert.equal(r.calls[0]?.args, ['set', 'gm0',
    'peer', A, 'remove',
    'peer', B, 'allowed-ips', 'fd5e::/64,fd5e:0:0:1::2/128',
    'peer', C, 'endpoint', '[fd00::3]:51820', 'persistent-keepalive', 'off', 'allowed-ips', ''])
})

test('no ops, no command', async () => {
  const r = createRecordingRunner()
  await applyPeerOps(r, 'gm0', [])
  assert.is(r.calls.length, 0)
})

test('large op lists are chunked', () => {
  const ops = Array.from({ length: 5 }, () => ({ kind: 'remove' as const, publicKey: A }))
  assert.equal(wgSetCommands('gm0', ops, 2).map(a => a.length), [2 + 6, 2 + 6, 2 + 3])
})

test('the private key goes through stdin, never argv', async () => {
  const r = createRecordingRunner()
  await setDeviceKeyAndPort(r, 'gm0', { privateKey: priv(7), listenPort: 51820 })
  assert.equal(r.calls[0]?.args, ['set', 'gm0', 'listen-port', '51820', 'private-key', '/dev/stdin'])
  assert.is(r.calls[0]?.stdin, `${priv(7)}\n`)
  assert.not.ok(r.lines().join(' ').includes(priv(7)))
})

test('wg failure → DRIVER_FAILED with the command and stderr', async () => {
  const r = createRecordingRunner(() => ({ code: 1, stderr: 'Unable to access interface: No such device' }))
  try {
    await readDeviceState(r, 'gm0')
    assert.unreachable()
  } catch (err) {
    assert.ok(isGridmeshError(err))
    assert.is(err.code, ErrorCodes.DRIVER_FAILED)
    assert.match(err.message, 'wg show gm0 dump failed: Unable to access interface')
  }
})

test('unparseable dump is reported with the interface', async () => {
  const r = createRecordingRunner(() => ({ stdout: 'garbage' }))
  try {
    await readDeviceState(r, 'gm0')
    assert.unreachable()
  } catch (err) {
    assert.ok(isGridmeshError(err))
    assert.is(err.code, ErrorCodes.DRIVER_FAILED)
    assert.match(err.message, 'reading gm0: wg show dump')
  }
})

test.run()
