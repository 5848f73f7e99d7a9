import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  MAX_CANDIDATES, candidateIndexOf, choosePrefix, claimRank, isNodePrefix, linkAddress, losers,
  meshPrefixFromName, nodeAddress, parseMeshPrefix, prefixCandidate, resolvePrefixOwners
} from '../../../src/mesh/allocation.ts'
import type { Claim } from '../../../src/mesh/allocation.ts'
import { parseIpv6Prefix } from '../../../src/net/prefix.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'
import { ErrorCodes, GridmeshError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'

const p = (s: string): Ipv6Prefix => parseIpv6Prefix(s)
const PEER_A = '12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X'
const PEER_B = '12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3'
const PEER_C = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const DEFAULT_MESH = p('fd9f:6906:5255::/48')

function throwsCode (fn: () => unknown, code: ErrorCode): void {
  try {
    fn()
  } catch (err) {
    assert.instance(err, GridmeshError)
    assert.is((err as GridmeshError).code, code)
    return
  }
  throw new Error(`expected ${code}`)
}

// Golden values, also checked with an independent Python implementation.
// Changing any value in this table is a breaking change: every node's addresses move.
const golden: ReadonlyArray<{ mesh: string, meshPrefix: string, candidates: Record<string, [string, string, string]> }> = [
  {
    mesh: 'default',
    meshPrefix: 'fd9f:6906:5255::/48',
    candidates: {
      [PEER_A]: ['fd9f:6906:5255:30e1::/64', 'fd9f:6906:5255:8ff5::/64', 'fd9f:6906:5255:ea47::/64'],
      [PEER_B]: ['fd9f:6906:5255:4cce::/64', 'fd9f:6906:5255:7533::/64', 'fd9f:6906:5255:61f5::/64'],
      [PEER_C]: ['fd9f:6906:5255:c649::/64', 'fd9f:6906:5255:ec99::/64', 'fd9f:6906:5255:5084::/64']
    }
  },
  {
    mesh: 'farm-eu-1',
    meshPrefix: 'fd4f:2c6b:18c2::/48',
    candidates: {
      [PEER_A]: ['fd4f:2c6b:18c2:404b::/64', 'fd4f:2c6b:18c2:2626::/64', 'fd4f:2c6b:18c2:e8a0::/64'],
      [PEER_B]: ['fd4f:2c6b:18c2:fca7::/64', 'fd4f:2c6b:18c2:9a9::/64', 'fd4f:2c6b:18c2:d4b0::/64'],
      [PEER_C]: ['fd4f:2c6b:18c2:df2c::/64', 'fd4f:2c6b:18c2:6f19::/64', 'fd4f:2c6b:18c2:652d::/64']
    }
  },
  {
    mesh: 'grid ☃ test',
    meshPrefix: 'fd8b:23d9:717e::/48',
    candidates: {
      [PEER_A]: ['fd8b:23d9:717e:1fcf::/64', 'fd8b:23d9:717e:d78d::/64', 'fd8b:23d9:717e:c8f6::/64'],
      [PEER_B]: ['fd8b:23d9:717e:4861::/64', 'fd8b:23d9:717e:b593::/64', 'fd8b:23d9:717e:dbce::/64'],
      [PEER_C]: ['fd8b:23d9:717e:60d::/64', 'fd8b:23d9:717e:66c2::/64', 'fd8b:23d9:717e:ef0d::/64']
    }
  }
]

for (const { mesh, meshPrefix, candidates } of golden) {
  test(`mesh ${JSON.stringify(mesh)} has the pinned prefix and candidates (breaking change if not)`, () => {
    assert.is(meshPrefixFromName(mesh), meshPrefix)
    for (const [peerId, want] of Object.entries(candidates)) {
      assert.equal([0, 1, 2].map((i) => prefixCandidate(p(meshPrefix), peerId, i)), want)
    }
  })
}

// Index 0 of these peers hashes to the reserved subnet ids 0x0000, 0x0000, 0xffff (found by search).
const reservedHits: ReadonlyArray<[string, string]> = [
  ['peer-54108', 'fd9f:6906:5255:a838::/64'],
  ['peer-61006', 'fd9f:6906:5255:7c3e::/64'],
  ['peer-198067', 'fd9f:6906:5255:2f22::/64']
]

for (const [peerId, want] of reservedHits) {
  test(`${peerId}, whose first hash hits a reserved subnet id, is rehashed to the pinned ${want}`, () => {
    assert.is(prefixCandidate(DEFAULT_MESH, peerId, 0), want)
  })
}

test('an empty mesh name is a config error', () => {
  throwsCode(() => meshPrefixFromName(''), ErrorCodes.CONFIG_INVALID)
})

const badMeshPrefixes = ['fd9f:6906:5255::/64', 'fd9f:6906::/32', '::/0']
for (const mesh of badMeshPrefixes) {
  test(`a mesh prefix ${mesh} that is not a /48 is refused everywhere it is used`, () => {
    throwsCode(() => parseMeshPrefix(mesh), ErrorCodes.CONFIG_INVALID)
    throwsCode(() => prefixCandidate(p(mesh), PEER_A, 0), ErrorCodes.CONFIG_INVALID)
    throwsCode(() => resolvePrefixOwners(p(mesh), []), ErrorCodes.CONFIG_INVALID)
    throwsCode(() => choosePrefix({ meshPrefix: p(mesh), peerId: PEER_A, others: [] }), ErrorCodes.CONFIG_INVALID)
  })
}

test('negative or fractional candidate indexes are a bug', () => {
  throwsCode(() => prefixCandidate(DEFAULT_MESH, PEER_A, -1), ErrorCodes.INTERNAL)
  throwsCode(() => prefixCandidate(DEFAULT_MESH, PEER_A, 1.5), ErrorCodes.INTERNAL)
})

test('candidate indexes and ranks are found back from the prefix', () => {
  const third = prefixCandidate(DEFAULT_MESH, PEER_A, 2)
  assert.is(candidateIndexOf(DEFAULT_MESH, PEER_A, third), 2)
  assert.is(claimRank(DEFAULT_MESH, PEER_A, third), 2)
  assert.is(candidateIndexOf(DEFAULT_MESH, PEER_A, p('fd9f:6906:5255:1234::/64')), null)
  assert.is(claimRank(DEFAULT_MESH, PEER_A, p('fd9f:6906:5255:1234::/64')), MAX_CANDIDATES)
})

const nodePrefixes: ReadonlyArray<[string, boolean]> = [
  ['fd9f:6906:5255:30e1::/64', true],
  ['fd9f:6906:5255:1::/64', true],
  ['fd9f:6906:5255::/64', false],
  ['fd9f:6906:5255:ffff::/64', false],
  ['fd9f:6906:5255:30e1::/65', false],
  ['fd9f:6906:5255::/48', false],
  ['fd9f:6906:5256:30e1::/64', false]
]
for (const [prefix, want] of nodePrefixes) {
  test(`${prefix} ${want ? 'is' : 'is not'} a valid node prefix of the default mesh`, () => {
    assert.is(isNodePrefix(DEFAULT_MESH, p(prefix)), want)
  })
}

test('the node address is ::1 and the link address ::2 of the prefix', () => {
  assert.is(nodeAddress(p('fd9f:6906:5255:30e1::/64')), 'fd9f:6906:5255:30e1::1')
  assert.is(linkAddress(p('fd9f:6906:5255:30e1::/64')), 'fd9f:6906:5255:30e1::2')
})

// Collision fixtures found by search in the default mesh:
// peer-291 and peer-324 both have subnet c9ff as candidate 0;
// peer-66 has e2c9 as candidate 0, peer-111 has it as candidate 1 ('peer-111' < 'peer-66').
const C9FF = p('fd9f:6906:5255:c9ff::/64')
const E2C9 = p('fd9f:6906:5255:e2c9::/64')
const OFF_LIST = p('fd9f:6906:5255:abcd::/64')

const collisions: ReadonlyArray<{ name: string, claims: Claim[], owner: string }> = [
  { name: 'equal index: the lower peerId wins', claims: [{ peerId: 'peer-324', prefix: C9FF }, { peerId: 'peer-291', prefix: C9FF }], owner: 'peer-291' },
  { name: 'lower index wins over lower peerId', claims: [{ peerId: 'peer-111', prefix: E2C9 }, { peerId: 'peer-66', prefix: E2C9 }], owner: 'peer-66' },
  { name: 'a hashed claim beats an off-list claim', claims: [{ peerId: 'peer-0', prefix: E2C9 }, { peerId: 'peer-111', prefix: E2C9 }], owner: 'peer-111' },
  { name: 'two off-list claims: the lower peerId wins', claims: [{ peerId: 'peer-b', prefix: OFF_LIST }, { peerId: 'peer-a', prefix: OFF_LIST }], owner: 'peer-a' },
  { name: 'an uncontested claim owns its prefix', claims: [{ peerId: 'peer-b', prefix: OFF_LIST }], owner: 'peer-b' }
]

for (const { name, claims, owner } of collisions) {
  test(`collision, ${name}`, () => {
    const prefix = claims[0]!.prefix
    for (const order of [claims, [...claims].reverse()]) {
      assert.is(resolvePrefixOwners(DEFAULT_MESH, order).get(prefix), owner)
      assert.equal(losers(DEFAULT_MESH, order).map((c) => c.peerId), order.filter((c) => c.peerId !== owner).map((c) => c.peerId))
    }
  })
}

test('invalid claims own nothing and are losers', () => {
  const claims: Claim[] = [{ peerId: 'x', prefix: DEFAULT_MESH }, { peerId: 'y', prefix: p('fd00::/64') }, { peerId: 'z', prefix: p('fd9f:6906:5255::/64') }]
  assert.is(resolvePrefixOwners(DEFAULT_MESH, claims).size, 0)
  assert.is(losers(DEFAULT_MESH, claims).length, 3)
})

test('a loser moves to its next free candidate', () => {
  const loser = choosePrefix({ meshPrefix: DEFAULT_MESH, peerId: 'peer-324', current: C9FF, others: [{ peerId: 'peer-291', prefix: C9FF }] })
  assert.equal(loser, { prefix: prefixCandidate(DEFAULT_MESH, 'peer-324', 1), candidateIndex: 1 })
  const winner = choosePrefix({ meshPrefix: DEFAULT_MESH, peerId: 'peer-291', current: C9FF, others: [{ peerId: 'peer-324', prefix: C9FF }] })
  assert.equal(winner, { prefix: C9FF, candidateIndex: 0 })
})

test('a newcomer does not displace a member already holding its first candidate, even one it outranks', () => {
  const got = choosePrefix({ meshPrefix: DEFAULT_MESH, peerId: 'peer-291', others: [{ peerId: 'peer-324', prefix: C9FF }] })
  assert.equal(got, { prefix: prefixCandidate(DEFAULT_MESH, 'peer-291', 1), candidateIndex: 1 })
})

test('with no one around, a node takes its candidate 0', () => {
  assert.equal(choosePrefix({ meshPrefix: DEFAULT_MESH, peerId: PEER_A, others: [] }), { prefix: p('fd9f:6906:5255:30e1::/64'), candidateIndex: 0 })
})

test('a current off-list prefix is kept while nobody outranks it', () => {
  assert.equal(choosePrefix({ meshPrefix: DEFAULT_MESH, peerId: PEER_A, current: OFF_LIST, others: [{ peerId: PEER_B, prefix: p('fd9f:6906:5255:1::/64') }] }),
    { prefix: OFF_LIST, candidateIndex: null })
})

test('a current prefix outside the mesh is dropped for a fresh candidate', () => {
  const got = choosePrefix({ meshPrefix: DEFAULT_MESH, peerId: PEER_A, current: p('fd00:1:2:3::/64'), others: [] })
  assert.is(got.candidateIndex, 0)
})

test('a requested prefix wins over current when we would own it', () => {
  const got = choosePrefix({ meshPrefix: DEFAULT_MESH, peerId: PEER_A, requested: OFF_LIST, current: p('fd9f:6906:5255:30e1::/64'), others: [] })
  assert.equal(got, { prefix: OFF_LIST, candidateIndex: null })
})

test('a requested prefix someone outranks us on is passed over for current', () => {
  const got = choosePrefix({ meshPrefix: DEFAULT_MESH, peerId: 'peer-b', requested: OFF_LIST, current: p('fd9f:6906:5255:30e1::/64'), others: [{ peerId: 'peer-a', prefix: OFF_LIST }] })
  assert.is(got.prefix, 'fd9f:6906:5255:30e1::/64')
})

for (const bad of ['fd9f:6906:5255::/64', 'fd00:1:2:3::/64', 'fd9f:6906:5255:1::/80']) {
  test(`a requested prefix ${bad} that cannot be a node prefix is a config error`, () => {
    throwsCode(() => choosePrefix({ meshPrefix: DEFAULT_MESH, peerId: PEER_A, requested: p(bad), others: [] }), ErrorCodes.CONFIG_INVALID)
  })
}

test('our own stale claim among the others does not block us', () => {
  const mine = p('fd9f:6906:5255:30e1::/64')
  assert.is(choosePrefix({ meshPrefix: DEFAULT_MESH, peerId: PEER_A, current: mine, others: [{ peerId: PEER_A, prefix: mine }] }).prefix, mine)
})

test.run()
