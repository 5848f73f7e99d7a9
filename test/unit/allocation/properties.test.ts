import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  MAX_CANDIDATES, choosePrefix, isNodePrefix, losers, meshPrefixFromName, prefixCandidate, resolvePrefixOwners
} from '../../../src/mesh/allocation.ts'
import type { Claim } from '../../../src/mesh/allocation.ts'
import { isUlaPrefix, prefixContains, prefixFromValue, prefixLength, prefixNetwork } from '../../../src/net/prefix.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'

const SEED = 0x6d657368
const params = { seed: SEED, numRuns: 100 }
const meshName = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' })
const peerId = fc.string({ minLength: 1, maxLength: 60 })

test('the mesh prefix is a deterministic ULA /48 under fd00::/8', () => {
  fc.assert(fc.property(meshName, (name) => {
    const mesh = meshPrefixFromName(name)
    assert.is(meshPrefixFromName(name), mesh)
    assert.is(prefixLength(mesh), 48)
    assert.ok(isUlaPrefix(mesh))
    assert.is(prefixNetwork(mesh) >> 120n, 0xfdn)
  }), params)
})

test('candidates are deterministic /64s inside the mesh prefix, never subnet 0 or ffff', () => {
  fc.assert(fc.property(meshName, peerId, fc.nat({ max: 200 }), (name, peer, index) => {
    const mesh = meshPrefixFromName(name)
    const candidate = prefixCandidate(mesh, peer, index)
    assert.is(prefixCandidate(mesh, peer, index), candidate)
    assert.is(prefixLength(candidate), 64)
    assert.ok(prefixContains(mesh, candidate))
    const subnet = (prefixNetwork(candidate) >> 64n) & 0xffffn
    assert.ok(subnet !== 0n && subnet !== 0xffffn)
    assert.ok(isNodePrefix(mesh, candidate))
  }), params)
})

test('a peer\'s candidates spread out: 32 candidates hold at least 28 distinct /64s', () => {
  fc.assert(fc.property(peerId, (peer) => {
    const mesh = meshPrefixFromName('spread')
    const all = new Set(Array.from({ length: MAX_CANDIDATES }, (_, i) => prefixCandidate(mesh, peer, i)))
    assert.ok(all.size >= 28)
  }), params)
})

const MESH = meshPrefixFromName('properties')

/** Claims drawn from a small pool of prefixes so that collisions are frequent. */
const contestedClaims = fc.uniqueArray(peerId, { minLength: 1, maxLength: 30 }).chain((peers) => {
  const pool = peers.slice(0, 4).flatMap((p) => [0, 1, 2].map((i) => prefixCandidate(MESH, p, i)))
  return fc.tuple(...peers.map((p) => fc.constantFrom(...pool).map((prefix): Claim => ({ peerId: p, prefix }))))
})

function ownersText (owners: Map<Ipv6Prefix, string>): string {
  return JSON.stringify([...owners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

test('prefix owners do not depend on the order of claims', () => {
  fc.assert(fc.property(contestedClaims, fc.infiniteStream(fc.nat()), (claims, randoms) => {
    const shuffled = [...claims].map((c) => ({ c, k: randoms.next().value })).sort((a, b) => a.k - b.k).map(({ c }) => c)
    assert.is(ownersText(resolvePrefixOwners(MESH, shuffled)), ownersText(resolvePrefixOwners(MESH, claims)))
    assert.is(losers(MESH, shuffled).length, losers(MESH, claims).length)
  }), params)
})

test('every contested prefix has exactly one owner, and it is one of its claimants', () => {
  fc.assert(fc.property(contestedClaims, (claims) => {
    const owners = resolvePrefixOwners(MESH, claims)
    assert.is(owners.size, new Set(claims.map((c) => c.prefix)).size)
    for (const [prefix, owner] of owners) assert.ok(claims.some((c) => c.prefix === prefix && c.peerId === owner))
    assert.is(losers(MESH, claims).length, claims.length - owners.size)
  }), params)
})

type World = Map<string, Ipv6Prefix | null>

function othersOf (world: World, self: string): Claim[] {
  const claims: Claim[] = []
  for (const [peer, prefix] of world) if (peer !== self && prefix !== null) claims.push({ peerId: peer, prefix })
  return claims
}

/** Every node re-chooses from the same snapshot (simultaneous rounds) until nothing changes. */
function settle (world: World, maxRounds: number): number {
  for (let round = 1; round <= maxRounds; round++) {
    const next: World = new Map()
    for (const [peer, current] of world) next.set(peer, choosePrefix({ meshPrefix: MESH, peerId: peer, current, others: othersOf(world, peer) }).prefix)
    const changed = [...next].some(([peer, prefix]) => world.get(peer) !== prefix)
    for (const [peer, prefix] of next) world.set(peer, prefix)
    if (!changed) return round
  }
  throw new Error(`no fixed point after ${maxRounds} rounds`)
}

test('nodes that start on colliding prefixes settle on pairwise-disjoint prefixes every node agrees on', () => {
  fc.assert(fc.property(contestedClaims, (start) => {
    const world: World = new Map(start.map((c) => [c.peerId, c.prefix]))
    settle(world, start.length + 2)
    const final = othersOf(world, '')
    assert.is(new Set(final.map((c) => c.prefix)).size, final.length, 'prefixes are pairwise disjoint')
    assert.is(losers(MESH, final).length, 0)
    const owners = ownersText(resolvePrefixOwners(MESH, final))
    for (const peer of world.keys()) {
      const view = [...othersOf(world, peer), { peerId: peer, prefix: world.get(peer)! }]
      assert.is(ownersText(resolvePrefixOwners(MESH, view)), owners, 'each node computes the same owners')
    }
  }), params)
})

test('fresh nodes joining together settle without collision, and a restart keeps every prefix', () => {
  fc.assert(fc.property(fc.uniqueArray(peerId, { minLength: 2, maxLength: 60 }), (peers) => {
    const world: World = new Map(peers.map((p) => [p, null]))
    settle(world, peers.length + 2)
    const before = [...world]
    assert.is(settle(world, 1), 1, 'a settled mesh is a fixed point')
    assert.equal([...world], before)
  }), { ...params, numRuns: 30 })
})

test('a node keeps any valid current prefix that no other member claims', () => {
  const subnet = fc.integer({ min: 1, max: 0xfffe })
  fc.assert(fc.property(peerId, subnet, fc.array(fc.tuple(peerId, subnet), { maxLength: 20 }), (self, mine, rest) => {
    const prefix = prefixFromValue(prefixNetwork(MESH) | (BigInt(mine) << 64n), 64)
    const others = rest.filter(([, s]) => s !== mine).map(([peer, s]): Claim => ({ peerId: `o-${peer}`, prefix: prefixFromValue(prefixNetwork(MESH) | (BigInt(s) << 64n), 64) }))
    assert.is(choosePrefix({ meshPrefix: MESH, peerId: self, current: prefix, others }).prefix, prefix)
  }), params)
})

test('when members leave, every remaining node keeps its prefix', () => {
  fc.assert(fc.property(contestedClaims, fc.nat(), (start, pick) => {
    const world: World = new Map(start.map((c) => [c.peerId, c.prefix]))
    settle(world, start.length + 2)
    const leaving = [...world.keys()].filter((_, i) => (i + pick) % 3 === 0)
    for (const peer of leaving) world.delete(peer)
    const before = [...world]
    settle(world, 2)
    assert.equal([...world], before)
  }), params)
})

test.run()
