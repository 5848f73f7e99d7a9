/** `gridmesh ping` (issue 18): peer resolution, path, probe parsing and summary. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { describePath, describeSummary, parseReply, pathOf, probesOf, resolvePeer, summarize } from '../../../src/cli/ping-core.ts'
import type { PeerRow } from '../../../src/admin/contract.ts'

const A = '12D3KooWLRvGzX9nCRmJ4jHk3jA7CWWbDfG6dUvSq6UxJPxj'
const B = '12D3KooWQm3Lc8xYf5v2N7pJkTbZ8FhX1sW9eRr4tGdYuAbc'
const R = '12D3KooWRe1ayRe1ayRe1ayRe1ayRe1ayRe1ayRe1ayRe1ay'

function row (peerId: string, n: number, state: PeerRow['state'], via: string | null = null): PeerRow {
  return {
    peerId, wgPublicKey: 'k', address: `fd00:1:2:${n}::1`, prefix: `fd00:1:2:${n}::/64`, endpoint: null, state, via,
    rttMs: null, link: 'up', liveness: 'alive', lastHandshake: null, rxBytes: 0, txBytes: 0, since: null
  }
}
const peers = [row(A, 1, 'direct'), row(B, 2, 'relayed', R), row(R, 3, 'direct')]

test('a peer is named by PeerId, short form, unique end or an address in its /64', () => {
  for (const t of [A, '12D3KooW…UxJPxj', 'UxJPxj', 'fd00:1:2:1::1', 'fd00:1:2:1::abcd', 'fd00:1:2:1::/64']) assert.is(resolvePeer(t, peers).peerId, A, t)
  for (const [t, why] of [['fd00:9::1', /no member owns/], ['zzzzzz', /no member is/], ['12D3KooW…Xyz', /no member is/]] as Array<[string, RegExp]>) {
    try { resolvePeer(t, peers); assert.unreachable(t) } catch (err) { assert.match((err as Error).message, why) }
  }
})

test('the path comes from the daemon: direct, or relayed via whom with the hops', () => {
  assert.is(describePath(pathOf(peers[0]!, [])), 'direct')
  const S = '12D3KooWSe1fSe1fSe1fSe1fSe1fSe1fSe1fSe1fSe1fSe1f'
  const relayed = pathOf(peers[1]!, [{ destination: 'fd00:1:2:2::/64', destinationPeer: B, via: R, kind: 'relay', metric: 20, since: 1, path: [S, R, B] }])
  assert.is(describePath(relayed), 'relayed via 12D3KooW…yRe1ay (12D3KooW…1fSe1f > 12D3KooW…yRe1ay > 12D3KooW…dYuAbc)')
  assert.match(describePath({ kind: 'unreachable', via: null, path: [] }), /^unreachable/)
})

test('ping output: replies, lost probes, summary', () => {
  assert.equal(parseReply('64 bytes from fd00:1:2:1::1: icmp_seq=3 ttl=63 time=0.512 ms'), { seq: 3, rttMs: 0.512 })
  assert.equal(parseReply('no answer yet for icmp_seq=2'), { seq: 2, rttMs: null })
  assert.is(parseReply('PING fd00:1:2:1::1(fd00:1:2:1::1) 56 data bytes'), null)
  const probes = probesOf([{ seq: 1, rttMs: 1 }, { seq: 2, rttMs: null }, { seq: 3, rttMs: 3 }], 4)
  assert.equal(probes.map(p => p.rttMs), [1, null, 3, null])
  const s = summarize(probes)
  assert.equal(s, { sent: 4, received: 2, lossPct: 50, minMs: 1, avgMs: 2, maxMs: 3 })
  assert.is(describeSummary(s), '4 sent, 2 received, 50% loss; rtt min/avg/max 1/2/3 ms')
  assert.is(describeSummary(summarize(probesOf([], 2))), '2 sent, 0 received, 100% loss')
})

test.run()
