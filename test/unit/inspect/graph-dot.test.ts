import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { graphView, renderGraphDot, shortPeer } from '../../../src/daemon/graph-dot.ts'
import { D, MEMBERS, NOW, OWN_PREFIX, S, X, Y, relayScenario, up, view } from './fixtures.ts'
import type { LinkState } from '../../../src/routing/link-state.ts'

/** Golden: changing the DOT layout is visible here and in `gridmesh graph` output. */
const GOLDEN = `graph gridmesh {
  node [shape=box, fontname="monospace"];
  edge [fontname="monospace", fontsize=10];
  "PeerDest" [label="PeerDest\\nfd12:3456:789a:12::1"];
  "PeerSelf" [label="PeerSelf\\nfd12:3456:789a:1::1", style="filled,bold", fillcolor=lightyellow, xlabel="self"];
  "PeerXray" [label="PeerXray\\nfd12:3456:789a:2::1"];
  "PeerYank" [label="PeerYank\\nfd12:3456:789a:3::1"];
  "PeerDest" -- "PeerSelf" [style=dashed, color=red, label="down (1.2 ms)"];
  "PeerDest" -- "PeerXray" [style=bold, label="0.9 ms", color=blue, penwidth=2.5, fontcolor=blue];
  "PeerDest" -- "PeerYank" [style=solid, label="40.0 ms"];
  "PeerSelf" -- "PeerXray" [style=bold, label="0.8 ms", color=blue, penwidth=2.5, fontcolor=blue];
  "PeerSelf" -- "PeerYank" [style=solid, label="1.5 ms"];
  "PeerXray" -- "PeerYank" [style=solid, label="1.0 ms"];
}
`

test('relay scenario renders the golden DOT: cut edge dashed red, relay path bold blue, self highlighted', () => {
  const { links, reports } = relayScenario()
  const dot = renderGraphDot({ self: S, ownPrefix: OWN_PREFIX, members: MEMBERS, links, reports, routes: view(links, reports).routes })
  assert.fixture(dot, GOLDEN)
})

test('member order does not change the bytes', () => {
  const { links, reports } = relayScenario()
  const routes = view(links, reports).routes
  const a = renderGraphDot({ self: S, ownPrefix: OWN_PREFIX, members: MEMBERS, links, reports, routes })
  const b = renderGraphDot({ self: S, ownPrefix: OWN_PREFIX, members: [...MEMBERS].reverse(), links, reports, routes })
  assert.is(a, b)
})

test('edges nobody measured are dotted grey; a one-sided down is dashed red', () => {
  const links = new Map<string, LinkState>([[X, up(2)], [D, { state: 'unknown', consecutiveFailures: 0, consecutiveSuccesses: 0, rttMs: null, costClass: 0, costRaisedAt: -Infinity, everUp: false, since: 0 }]])
  const reports = new Map([[X, { from: X, seq: 1, at: 0, links: [{ to: S, up: false, rttClass: 0, rttMs: null }] }]])
  const dot = renderGraphDot({ self: S, ownPrefix: OWN_PREFIX, members: MEMBERS, links, reports, routes: new Map() })
  assert.ok(dot.includes('"PeerDest" -- "PeerSelf" [style=dotted, color=grey, label="unmeasured"];'))
  assert.ok(dot.includes('"PeerSelf" -- "PeerXray" [style=dashed, color=red, label="down (2.0 ms)"];'))
  assert.not.match(dot, /color=blue/)
})

test('shortPeer keeps short ids and abbreviates long ones', () => {
  assert.is(shortPeer('PeerSelf'), 'PeerSelf')
  assert.is(shortPeer('12D3KooWAbCdEfGhIjKlMnOpQrStUv'), '12D3KooW…QrStUv')
})

test('graph --json: the same graph as data: nodes, edges with states and both ends, the relays in use', () => {
  const { links, reports } = relayScenario()
  const input = { self: S, ownPrefix: OWN_PREFIX, members: MEMBERS, links, reports, routes: view(links, reports).routes, now: NOW }
  const g = graphView(input)
  assert.is(g.dot, renderGraphDot(input))
  assert.equal(g.nodes.map(n => [n.peerId, n.self]), [[D, false], [S, true], [X, false], [Y, false]])
  assert.is(g.nodes.find(n => n.peerId === D)?.address, 'fd12:3456:789a:12::1')
  const edge = (a: string, b: string): typeof g.edges[number] | undefined => g.edges.find(e => e.a === a && e.b === b)
  assert.equal([edge(D, S)?.state, edge(D, S)?.onRelayPath, edge(D, S)?.ends], ['down', false, [{ up: false, rttMs: 1.2 }, { up: false, rttMs: 1.2 }]])
  assert.equal([edge(D, X)?.state, edge(D, X)?.onRelayPath], ['up', true])
  assert.equal([edge(X, Y)?.state, edge(X, Y)?.onRelayPath], ['up', false])
  assert.is(g.edges.length, 6)
  assert.equal(g.relays, [{ destination: D, via: X, path: [S, X, D] }])
  assert.equal(g.relaying, [], 'S is relayed, it relays nobody')
})

test.run()
