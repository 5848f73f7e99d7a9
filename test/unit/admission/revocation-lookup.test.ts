/**
 * The DHT read-back schedule of revocations (pure): which ids to look up and
 * when. A first sighting is looked up at once; a clear answer is confirmed
 * soon, then at the steady pace; a found revocation is never looked up again;
 * nothing is looked up twice at once; the table is bounded.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { RevocationLookups, revocationIdsOf } from '../../../src/admission/revocation-lookup.ts'

const T0 = 1_000_000
const timing = { recheckMs: [5, 30, 600], maxEntries: 3 }

test('revocationIdsOf: the peer id and the token id a member could be revoked under', () => {
  assert.equal(revocationIdsOf({ peerId: '12D3KooWabc', tokenId: '0123456789abcdef0123456789abcdef' }),
    ['peer-12D3KooWabc', 'token-0123456789abcdef0123456789abcdef'])
})

test('first sighting: looked up at once, once (duplicates and in-flight ids are not taken again)', () => {
  const l = new RevocationLookups(timing)
  assert.equal(l.take(['a', 'b', 'a'], T0), ['a', 'b'])
  assert.equal(l.take(['a', 'b', 'c'], T0), ['c'], 'a and b are in flight')
  assert.not.ok(l.answered('a'))
  l.done('a', 'clear', T0)
  assert.ok(l.answered('a'))
  assert.equal(l.take(['a'], T0), [], 'just answered: not due yet')
})

test('a clear answer is re-checked at the recheck pace; the last interval repeats', () => {
  const l = new RevocationLookups(timing)
  const table: Array<[number, string[]]> = []
  let t = T0
  l.take(['a'], t)
  l.done('a', 'clear', t) // next at +5
  for (const dt of [4, 1, 29, 1, 599, 1, 599, 1]) {
    t += dt
    const got = l.take(['a'], t)
    table.push([t - T0, got])
    if (got.length > 0) l.done('a', 'clear', t)
  }
  assert.equal(table, [[4, []], [5, ['a']], [34, []], [35, ['a']], [634, []], [635, ['a']], [1234, []], [1235, ['a']]])
})

test('a failed or clear lookup leaves the id answered; a found one is never looked up again', () => {
  const l = new RevocationLookups(timing)
  l.take(['a'], T0)
  l.done('a', 'found', T0)
  assert.ok(l.answered('a'))
  assert.equal(l.take(['a'], T0 + 1e12), [])
  l.done('unknown', 'clear', T0) // ignored, not created
  assert.is(l.size, 1)
})

test('bounded: the oldest idle id is forgotten (and looked up again if seen again); in-flight ids are kept', () => {
  const l = new RevocationLookups(timing)
  assert.equal(l.take(['a', 'b', 'c'], T0), ['a', 'b', 'c'])
  l.done('b', 'clear', T0)
  assert.equal(l.take(['d'], T0), ['d'], 'b (idle) made room')
  assert.is(l.size, 3)
  assert.not.ok(l.answered('b'))
  assert.equal(l.take(['a'], T0), [], 'a is still in flight, not forgotten')
})

test('a timing without a recheck interval or room is refused', () => {
  assert.throws(() => new RevocationLookups({ recheckMs: [], maxEntries: 3 }), /LookupTiming/)
  assert.throws(() => new RevocationLookups({ recheckMs: [1], maxEntries: 0 }), /LookupTiming/)
})

test.run()
