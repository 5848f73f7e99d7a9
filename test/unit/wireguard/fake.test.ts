import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createFakeWireGuardDriver } from '../../../src/wireguard/fake.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { priv, pub, p, MESH } from './keys.fixture.ts'

const cfg = (allowed: string[], endpoint: string | null = '10.0.0.2:51820') => ({
  privateKey: priv(9),
  listenPort: 51820,
  peers: [{ publicKey: pub(1), endpoint, allowedIps: allowed.map(p), persistentKeepalive: 25 }]
})

test('fake prints stable text and keeps sessions on a no-op apply', async () => {
  const f = createFakeWireGuardDriver({ meshPrefix: MESH })
  await f.up({ privateKey: priv(9), listenPort: 51820 })
  await f.apply(cfg(['fd5e:1a2b:3c4d:a::/64', 'fd5e:1a2b:3c4d:a::2/128']))
  f.handshake(pub(1), 1700000000)
  assert.equal(await f.apply(cfg(['fd5e:1a2b:3c4d:a::2/128', 'fd5e:1a2b:3c4d:a::/64'])), [])
  assert.is((await f.read()).peers[0]?.latestHandshake, 1700000000)
  assert.is(f.text(), `device ${pub(9)} port 51820\npeer ${pub(1)} endpoint 10.0.0.2:51820 allowed-ips fd5e:1a2b:3c4d:a::/64,fd5e:1a2b:3c4d:a::2/128 keepalive 25`)
})

test('fake: roamed endpoint survives a null desired endpoint', async () => {
  const f = createFakeWireGuardDriver({ meshPrefix: MESH })
  await f.up({ privateKey: priv(9), listenPort: 51820 })
  await f.apply(cfg(['fd5e:1a2b:3c4d:a::/64']))
  f.roam(pub(1), '192.0.2.9:999')
  assert.equal(await f.apply(cfg(['fd5e:1a2b:3c4d:a::/64'], null)), [])
  assert.match(f.text(), 'endpoint 192.0.2.9:999')
})

test('fake runs the same invariants (a violating peer is dropped) and refuses apply before up', async () => {
  const f = createFakeWireGuardDriver({ meshPrefix: MESH })
  try { await f.apply(cfg(['fd5e:1a2b:3c4d:a::/64'])); assert.unreachable() } catch (err) {
    assert.ok(isGridmeshError(err)); assert.is(err.code, ErrorCodes.DRIVER_FAILED)
  }
  assert.is(f.text(), 'down')
  await f.up({ privateKey: priv(9), listenPort: 51820 })
  assert.equal(await f.apply(cfg(['::/0'])), [])
  assert.is(f.droppedPeers, 1)
})

test.run()
