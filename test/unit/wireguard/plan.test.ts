import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { planPeers, checkInvariants, deviceAfterApply } from '../../../src/wireguard/plan.ts'
import type { DeviceConfig, DeviceState, PeerConfig, PeerState } from '../../../src/wireguard/types.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { priv, pub, p, MESH } from './keys.fixture.ts'

const A = pub(1); const B = pub(2); const C = pub(3)

function peer (key: typeof A, allowed: string[], endpoint: string | null = '10.0.0.2:51820', keepalive = 25): PeerConfig {
  return { publicKey: key, endpoint, allowedIps: allowed.map(p), persistentKeepalive: keepalive }
}
function live (c: PeerConfig, hs = 1700000000): PeerState {
  return { ...c, latestHandshake: hs, rxBytes: 10, txBytes: 20 }
}
function device (peers: PeerConfig[]): DeviceConfig {
  return { privateKey: priv(9), listenPort: 51820, peers }
}
function state (peers: PeerConfig[]): DeviceState {
  return { publicKey: pub(9), listenPort: 51820, peers: peers.map(x => live(x)) }
}

const pa = peer(A, ['fd5e:1a2b:3c4d:a::/64'])
const pb = peer(B, ['fd5e:1a2b:3c4d:b::/64'], '[fd00::2]:51820')

test('deviceAfterApply: the desired peers, roaming endpoints and sessions kept; planning against it plans nothing', () => {
  const roamed = { ...live(peer(A, ['fd5e:1a2b:3c4d:a::/64'], '[fd00::9]:4444'), 1700000123) }
  const want = device([peer(A, ['fd5e:1a2b:3c4d:a::/64', 'fd5e:1a2b:3c4d:c::/64'], null), pb])
  const after = deviceAfterApply({ publicKey: pub(9), listenPort: 51820, peers: [roamed, live(peer(C, ['fd5e:1a2b:3c4d:d::/64']))] }, want, pub(9))
  assert.equal(after.peers.map(x => x.publicKey), [A, B])
  assert.is(after.peers[0]?.endpoint, '[fd00::9]:4444')
  assert.is(after.peers[0]?.latestHandshake, 1700000123)
  assert.equal(after.peers[0]?.allowedIps, want.peers[0]?.allowedIps)
  assert.is(after.peers[1]?.latestHandshake, 0)
  assert.equal(planPeers(after, want), { changes: [], ops: [] })
})

test('identical config plans nothing (sessions survive)', () => {
  const r = planPeers(state([pa, pb]), device([pb, pa]))
  assert.equal(r, { changes: [], ops: [] })
})

test('allowed-ips compare as sets, endpoints as normalized strings', () => {
  const cur = peer(A, ['fd5e:1a2b:3c4d:a::/64', 'fd5e:1a2b:3c4d:c::2/128'], '[FD00:0:0::2]:051820')
  const want = peer(A, ['fd5e:1a2b:3c4d:c::2/128', 'fd5e:1a2b:3c4d:a::/64'], '[fd00::2]:51820')
  assert.equal(planPeers(state([cur]), device([want])).ops, [])
})

test('adds missing, removes extra, removes first', () => {
  const r = planPeers(state([pa]), device([pb]))
  assert.equal(r.changes, [{ kind: 'remove', publicKey: A }, { kind: 'add', publicKey: B }])
  assert.equal(r.ops, [
    { kind: 'remove', publicKey: A },
    { kind: 'set', publicKey: B, endpoint: '[fd00::2]:51820', allowedIps: ['fd5e:1a2b:3c4d:b::/64'], persistentKeepalive: 25 }
  ])
})

test('update carries only the changed fields', () => {
  const r = planPeers(state([pa]), device([{ ...pa, allowedIps: [p('fd5e:1a2b:3c4d:a::/64'), p('fd5e:1a2b:3c4d:c::/64')] }]))
  assert.equal(r.changes, [{ kind: 'update', publicKey: A, fields: ['allowedIps'] }])
  assert.equal(r.ops, [{ kind: 'set', publicKey: A, allowedIps: ['fd5e:1a2b:3c4d:a::/64', 'fd5e:1a2b:3c4d:c::/64'] }])
  const k = planPeers(state([pa]), device([{ ...pa, persistentKeepalive: 0 }]))
  assert.equal(k.ops, [{ kind: 'set', publicKey: A, persistentKeepalive: 0 }])
  const e = planPeers(state([pa]), device([{ ...pa, endpoint: '10.0.0.9:1' }]))
  assert.equal(e.ops, [{ kind: 'set', publicKey: A, endpoint: '10.0.0.9:1' }])
})

test('I6: a null desired endpoint never touches the roamed endpoint', () => {
  const roamed = { ...pa, endpoint: '192.0.2.7:4000' }
  assert.equal(planPeers(state([roamed]), device([{ ...pa, endpoint: null }])).ops, [])
  const add = planPeers(state([]), device([{ ...pa, endpoint: null }])).ops[0]
  assert.ok(add !== undefined && add.kind === 'set' && add.endpoint === undefined)
})

test('a desired endpoint replaces an unknown one', () => {
  const r = planPeers(state([{ ...pa, endpoint: null }]), device([pa]))
  assert.equal(r.changes, [{ kind: 'update', publicKey: A, fields: ['endpoint'] }])
})

// Invariant table: [name, peers, expected message fragment or null for ok]
const cases: [string, PeerConfig[], string | null][] = [
  ['own /64 per peer is fine', [pa, pb], null],
  ['relay carries another /64 and the relayed node keeps its /128 link address',
    [peer(A, ['fd5e:1a2b:3c4d:a::/64', 'fd5e:1a2b:3c4d:c::/64']), peer(C, ['fd5e:1a2b:3c4d:c::2/128'])], null],
  ['::/0 refused', [peer(A, ['::/0'])], 'shorter than /64'],
  ['the mesh prefix itself refused', [peer(A, ['fd5e:1a2b:3c4d::/48'])], 'shorter than /64'],
  ['a /56 refused', [peer(A, ['fd5e:1a2b:3c4d:100::/56'])], 'shorter than /64'],
  ['outside the mesh refused', [peer(A, ['fd00:1:2:3::/64'])], 'outside the mesh prefix fd5e:1a2b:3c4d::/48'],
  ['non-canonical refused', [peer(A, ['fd5e:1a2b:3c4d:a::1/64'])], 'not canonical'],
  ['garbage refused', [peer(A, ['banana'])], 'not an IPv6 prefix'],
  ['same prefix on two peers', [pa, peer(B, ['fd5e:1a2b:3c4d:a::/64'])], 'is on two peers'],
  ['same /128 on two peers', [peer(A, ['fd5e:1a2b:3c4d:a::2/128']), peer(B, ['fd5e:1a2b:3c4d:a::2/128'])], 'is on two peers'],
  ['/96 inside another peer /64 refused', [pa, peer(B, ['fd5e:1a2b:3c4d:a::/96'])], 'overlaps'],
  ['/128 inside another peer /96 refused', [peer(A, ['fd5e:1a2b:3c4d:a::/96']), peer(B, ['fd5e:1a2b:3c4d:a::2/128'])], 'overlaps'],
  ['own public key as a peer', [peer(pub(9), ['fd5e:1a2b:3c4d:a::/64'])], "this device's own public key"],
  ['duplicate peer key', [pa, peer(A, ['fd5e:1a2b:3c4d:b::/64'])], 'listed twice'],
  ['keepalive out of range', [peer(A, ['fd5e:1a2b:3c4d:a::/64'], null, 70000)], 'keepalive']
]
for (const [name, peers, expected] of cases) {
  test(`invariants: ${name}`, () => {
    try {
      checkInvariants(device(peers), MESH)
      assert.is(expected, null, 'expected a violation')
    } catch (err) {
      if (expected === null) throw err
      assert.ok(isGridmeshError(err))
      assert.is(err.code, ErrorCodes.INVARIANT_VIOLATED)
      assert.match(err.message, expected)
      assert.match(err.message, 'nothing was applied')
    }
  })
}

test('invariant messages name the peer and prefix', () => {
  try {
    checkInvariants(device([pa, peer(B, ['fd5e:1a2b:3c4d:a::/64'])]), MESH)
    assert.unreachable()
  } catch (err) {
    assert.ok(err instanceof Error)
    assert.match(err.message, A)
    assert.match(err.message, B)
    assert.match(err.message, 'fd5e:1a2b:3c4d:a::/64')
  }
})

test.run()
