import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { describeRoutes, planKernelRoutes, planMeshPeers, PERSISTENT_KEEPALIVE_S } from '../../../src/routing/plan.ts'
import { computeRoutes } from '../../../src/routing/routes.ts'
import type { MemberInfo } from '../../../src/routing/plan.ts'
import type { LinkReport } from '../../../src/routing/link-report.ts'
import type { OwnLink, Route, RouteTable } from '../../../src/routing/types.ts'
import type { Ipv6Address, Ipv6Prefix } from '../../../src/net/prefix.ts'
import type { WgPublicKey } from '../../../src/keys/types.ts'

const MESH = 'fd12:3456:789a::/48' as Ipv6Prefix

function member (i: number): MemberInfo {
  const sub = (i + 1).toString(16)
  return {
    peerId: `Peer${String(i).padStart(3, '0')}`,
    wgPublicKey: `${String.fromCharCode(65 + (i * 7) % 26)}${String(i).padStart(42, '0')}=` as WgPublicKey,
    endpoint: `[2001:db8::${sub}]:51820`,
    prefix: `fd12:3456:789a:${sub}::/64` as Ipv6Prefix,
    linkAddress: `fd12:3456:789a:${sub}::2` as Ipv6Address
  }
}

/** Test-only IPv6 parser: address → bigint (the shared helpers live in src/net/prefix.ts, owned elsewhere). */
function toBig (addr: string): bigint {
  const [head = '', tail] = addr.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n)
}

function inside (prefix: string, outer: string): boolean {
  const [a = '', al = '0'] = prefix.split('/')
  const [b = '', bl = '0'] = outer.split('/')
  const shift = BigInt(128 - Number(bl))
  return Number(al) > Number(bl) && toBig(a) >> shift === toBig(b) >> shift
}

function route (path: string[], kind: Route['kind']): Route {
  return { via: path[1] as string, kind, metric: 1024 * (path.length - 1), path, since: 0 }
}

const [m0, m1, m2, m3] = [member(0), member(1), member(2), member(3)] as [MemberInfo, MemberInfo, MemberInfo, MemberInfo]

test('direct peers carry their /64 and link /128; relayed /64s move to the relay; unreachable /64s are on nobody', () => {
  const routes: RouteTable = new Map([
    [m1.peerId, route([m0.peerId, m1.peerId], 'direct')],
    [m2.peerId, route([m0.peerId, m1.peerId, m2.peerId], 'relay')]
  ])
  const peers = planMeshPeers({ self: m0.peerId, members: [m1, m2, m3], routes })
  const byKey = new Map(peers.map(p => [p.publicKey, p]))
  assert.equal(byKey.get(m1.wgPublicKey)?.allowedIps, ['fd12:3456:789a:2::/64', 'fd12:3456:789a:2::2/128', 'fd12:3456:789a:3::/64'])
  assert.equal(byKey.get(m2.wgPublicKey)?.allowedIps, ['fd12:3456:789a:3::2/128'], 'relayed peer keeps only its link address')
  assert.equal(byKey.get(m3.wgPublicKey)?.allowedIps, ['fd12:3456:789a:4::2/128'], 'unreachable peer keeps its entry for probes')
  assert.is(byKey.get(m1.wgPublicKey)?.persistentKeepalive, PERSISTENT_KEEPALIVE_S)
  assert.is(byKey.get(m1.wgPublicKey)?.endpoint, m1.endpoint)
  assert.equal(peers.map(p => p.publicKey), [...peers.map(p => p.publicKey)].sort())
})

test('self and members that reuse a claimed prefix or key are not planned', () => {
  const dup = { ...member(9), prefix: m1.prefix }
  const peers = planMeshPeers({ self: m0.peerId, members: [m0, m1, dup], routes: new Map() })
  assert.equal(peers.map(p => p.publicKey), [m1.wgPublicKey])
})

test('planKernelRoutes is just the mesh prefix', () => {
  assert.equal(planKernelRoutes(MESH), [MESH])
})

test('describeRoutes lists reachable destinations by prefix with via, kind, metric, since, path', () => {
  const routes: RouteTable = new Map([[m2.peerId, { ...route([m0.peerId, m1.peerId, m2.peerId], 'relay'), since: 7 }]])
  assert.equal(describeRoutes(routes, [m2, m1]), [{
    destination: m2.prefix, destinationPeer: m2.peerId, via: m1.peerId, kind: 'relay', metric: 2048, since: 7,
    path: [m0.peerId, m1.peerId, m2.peerId]
  }])
})

const meshArb = fc.integer({ min: 2, max: 14 }).chain(n => fc.record({
  n: fc.constant(n),
  broken: fc.uniqueArray(fc.tuple(fc.nat(n - 1), fc.nat(n - 1), fc.constantFrom(1, 2, 3)), { maxLength: n * n }),
  ownDown: fc.uniqueArray(fc.nat(n - 1), { maxLength: n }),
  self: fc.nat(n - 1)
}))

test('property: no /64 on two peers, nothing outside the mesh, each /64 exactly where its route says', () => {
  fc.assert(fc.property(meshArb, ({ n, broken, ownDown, self }) => {
    const all = Array.from({ length: n }, (_, i) => member(i))
    const links = all.map(() => new Map<string, boolean>())
    for (const [a, b, who] of broken) {
      if (a === b) continue
      if ((who & 1) !== 0) links[a]?.set(all[b]?.peerId as string, false)
      if ((who & 2) !== 0) links[b]?.set(all[a]?.peerId as string, false)
    }
    const reports = new Map<string, LinkReport>(all.map((m, i) => [m.peerId, {
      from: m.peerId, seq: 1, at: 0, links: [...(links[i] ?? [])].map(([to, up]) => ({ to, up, rttClass: 0, rttMs: null }))
    }]))
    const ownLinks = new Map<string, OwnLink>(ownDown.map(i => [all[i]?.peerId as string, { state: 'down', rttClass: 0 }]))
    const selfId = all[self]?.peerId as string
    const routes = computeRoutes({ self: selfId, members: all.map(m => m.peerId), reports, ownLinks, now: 0 })
    const others = all.filter(m => m.peerId !== selfId)
    const peers = planMeshPeers({ self: selfId, members: others, routes })
    const holder = new Map<string, string>()
    for (const p of peers) {
      assert.equal(p.allowedIps, [...p.allowedIps].sort())
      for (const ip of p.allowedIps) {
        assert.not.ok(holder.has(ip), `${ip} on two peers`)
        holder.set(ip, p.publicKey)
        assert.ok(inside(ip, MESH), `${ip} outside the mesh`)
      }
    }
    assert.is(peers.length, others.length)
    for (const m of others) {
      assert.is(holder.get(`${m.linkAddress}/128`), m.wgPublicKey)
      const r = routes.get(m.peerId)
      const via = others.find(o => o.peerId === r?.via)
      assert.is(holder.get(m.prefix), via?.wgPublicKey)
    }
  }), { numRuns: 300 })
})

test.run()
