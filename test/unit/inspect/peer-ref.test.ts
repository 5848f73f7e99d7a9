/**
 * Names as input (issue 18): the short form the tables print and a unique
 * end of a PeerId are accepted wherever a peer is (routes --explain).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { matchPeerRef, shortPeerId } from '../../../src/admin/peer-ref.ts'
import { resolveTarget } from '../../../src/daemon/explain.ts'
import { shortId } from '../../../src/cli/table.ts'
import { isGridmeshError } from '../../../src/errors.ts'
import { D, MEMBERS, OWN_PREFIX, S, X } from './fixtures.ts'

const A = '12D3KooWLRvGzX9nCRmJ4jHk3jA7CWWbDfG6dUvSq6UxJPxj'
const B = '12D3KooWQm3Lc8xYf5v2N7pJkTbZ8FhX1sW9eRr4tGdYuAbc'
const C = '12D3KooWQm3Lc8xYf5v2N7pJkTbZ8FhX1sW9eRr4tGdYuXbc'

test('the table short form is what shortPeerId prints, and is accepted back', () => {
  assert.is(shortId(A), shortPeerId(A))
  assert.equal(matchPeerRef(shortId(A), [A, B, C]), { kind: 'match', peerId: A })
  assert.equal(matchPeerRef('12D3KooW...UxJPxj', [A, B, C]), { kind: 'match', peerId: A }, 'ASCII dots too')
})

test('a unique PeerId end is accepted; an ambiguous or too short one is not', () => {
  assert.equal(matchPeerRef('UxJPxj', [A, B, C]), { kind: 'match', peerId: A })
  assert.equal(matchPeerRef('Abc', [A, B, C]), { kind: 'none' }, 'shorter than 4')
  assert.equal(matchPeerRef('tGdYu', [A, B, C]).kind, 'none', 'the middle is not an end')
  assert.equal(matchPeerRef('fd00::1', [A, B, C]).kind, 'none')
  const both = matchPeerRef('12D3KooW…bc', [A, B, C])
  assert.equal(both, { kind: 'ambiguous', candidates: [B, C] })
})

test('routes --explain resolves the short form and a suffix, and refuses ambiguity with the candidates', () => {
  assert.is(resolveTarget(S, OWN_PREFIX, MEMBERS, X.slice(-4)).peerId, X)
  assert.is(resolveTarget(S, OWN_PREFIX, MEMBERS, `${D.slice(0, 3)}…${D.slice(-3)}`).peerId, D)
  assert.is(resolveTarget(S, OWN_PREFIX, MEMBERS, D).peerId, D)
  for (const [target, why] of [['Peer…', /neither/], ['eerP', /no member's PeerId is or ends with/]] as Array<[string, RegExp]>) {
    try {
      resolveTarget(S, OWN_PREFIX, MEMBERS, target)
      assert.unreachable(target)
    } catch (err) {
      if (!isGridmeshError(err)) throw err
      assert.match(err.message, why, target)
    }
  }
  const members = [...MEMBERS, { ...MEMBERS[0]!, peerId: 'PeerXyray' }]
  try {
    resolveTarget(S, OWN_PREFIX, members, 'Peer…ray')
    assert.unreachable('ambiguous')
  } catch (err) {
    if (!isGridmeshError(err)) throw err
    assert.match(err.message, /matches 2 members \(PeerXray, PeerXyray\); give more characters/)
  }
})

test.run()
