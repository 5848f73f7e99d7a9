/**
 * Attack 2 (issue 19): a newcomer that ground a PeerId whose best candidate
 * is a member's /64 took it (the victim moved and saved the move). Now a
 * member holding a /64 keeps it against every newcomer, whatever the ranks;
 * the rank only settles claims first seen within one race window.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CLAIM_RACE_WINDOW_MS, claimRank, MAX_CANDIDATES, prefixCandidate, resolvePrefixOwners } from '../../../src/mesh/allocation.ts'
import { deriveMeshView } from '../../../src/routing/mesh-view.ts'
import type { MemberSnapshot, MemberView } from '../../../src/mesh/member-table.ts'
import type { NodeRecord } from '../../../src/mesh/record.ts'
import { parseIpv6Prefix, type Ipv6Prefix } from '../../../src/net/prefix.ts'

const MESH = parseIpv6Prefix('fd9f:6906:5255::/48')
const VICTIM = '12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X'
const GRINDER = '12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3'
const OBSERVER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
// The grinder's first candidate; the victim holds it at a worse rank: on rank alone the grinder wins.
const CONTESTED = prefixCandidate(MESH, GRINDER, 0)
const T0 = 1_800_000_000_000
const LATER = T0 + CLAIM_RACE_WINDOW_MS + 60_000

function view (peerId: string, prefix: Ipv6Prefix, prefixSince: number, n: number): MemberView {
  const record = {
    v: 1, mesh: 'm', peerId, wgPublicKey: `${String.fromCharCode(65 + n).repeat(43)}=`, endpoints: [`10.0.0.${n}:51820`],
    addrs: [], prefix, seq: 1, expiresAt: LATER + 3_600_000
  } as unknown as NodeRecord
  return { record, state: 'alive', lastHeartbeat: LATER, prefixSince }
}
const input = (self: string, ownPrefix: Ipv6Prefix, ownPrefixSince: number, members: MemberSnapshot) => ({
  self, meshPrefix: MESH, ownPrefix, ownPrefixSince, members, ownLinks: new Map(), ownIps: [], device: null, now: LATER
})

test('fixture: the grinder outranks the victim on the contested /64', () => {
  assert.is(claimRank(MESH, GRINDER, CONTESTED), 0)
  assert.ok(claimRank(MESH, VICTIM, CONTESTED) > 0 && claimRank(MESH, VICTIM, CONTESTED) <= MAX_CANDIDATES)
})

test('a newcomer never takes a /64 from the member that held it first, whatever the ranks', () => {
  const owners = resolvePrefixOwners(MESH, [
    { peerId: GRINDER, prefix: CONTESTED, since: LATER },
    { peerId: VICTIM, prefix: CONTESTED, since: T0 }
  ])
  assert.is(owners.get(CONTESTED), VICTIM)
})

test('claims first seen within one race window are settled by rank, as before', () => {
  const owners = resolvePrefixOwners(MESH, [
    { peerId: VICTIM, prefix: CONTESTED, since: T0 },
    { peerId: GRINDER, prefix: CONTESTED, since: T0 + CLAIM_RACE_WINDOW_MS - 1 }
  ])
  assert.is(owners.get(CONTESTED), GRINDER)
})

test('the victim itself: a settled /64 is not given up to a better-ranked newcomer (no move)', () => {
  const v = deriveMeshView(input(VICTIM, CONTESTED, T0, new Map([[GRINDER, view(GRINDER, CONTESTED, LATER, 1)]])))
  assert.is(v.ownPrefixOwner, VICTIM)
  assert.equal(v.members.map(m => m.peerId), [])
  assert.equal(v.excluded.map(e => [e.peerId, e.reason]), [[GRINDER, 'prefix-lost']])
})

test('an observer keeps routing the /64 to the member that held it first', () => {
  const members = new Map([[VICTIM, view(VICTIM, CONTESTED, T0, 1)], [GRINDER, view(GRINDER, CONTESTED, LATER, 2)]])
  const own = prefixCandidate(MESH, OBSERVER, 0)
  const v = deriveMeshView(input(OBSERVER, own, T0, members))
  assert.equal(v.members.map(m => [m.peerId, m.prefix]), [[VICTIM, CONTESTED]])
  assert.ok(v.peers.every(p => p.publicKey === members.get(VICTIM)?.record.wgPublicKey))
})

test('a node whose /64 is not settled yet yields to any other claim on it (it may be the newcomer)', () => {
  const taken = LATER - 1_000
  const v = deriveMeshView(input(GRINDER, CONTESTED, taken, new Map([[VICTIM, view(VICTIM, CONTESTED, LATER - 500, 1)]])))
  assert.is(v.ownPrefixOwner, VICTIM)
  assert.equal(v.members.map(m => m.peerId), [VICTIM])
})

test.run()
