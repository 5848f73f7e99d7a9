import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { explainRoute, renderExplanation, type ExplainInput } from '../../../src/daemon/explain.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { HOP_COST } from '../../../src/routing/weights.ts'
import { D, NOW, OWN_PREFIX, S, X, Y, down, relayScenario, report, up, view } from './fixtures.ts'
import type { LinkReport } from '../../../src/routing/link-report.ts'
import type { LinkState } from '../../../src/routing/link-state.ts'

function input (links: Map<string, LinkState>, reports: Map<string, LinkReport>, handshakes = new Map<string, number | null>()): ExplainInput {
  return { self: S, view: view(links, reports), links, reports, handshakes, now: NOW }
}

test('direct: the direct link is up, with RTT and handshake age', () => {
  const links = new Map<string, LinkState>([[X, up(0.8)], [Y, up(1.5)], [D, up(0.8)]])
  const e = explainRoute(input(links, new Map(), new Map([[D, NOW - 4000]])), 'fd12:3456:789a:12::/64')
  assert.is(e.kind, 'direct')
  assert.is(e.via, D)
  assert.is(e.hops, 1)
  assert.equal(e.path, [S, D])
  assert.is(e.rttCost, (e.metric ?? 0) - HOP_COST)
  assert.equal(e.alternatives, [])
  assert.is(e.reason, 'direct: the direct link is up (RTT 0.8 ms, last handshake 4 s ago)')
  assert.match(renderExplanation(e), /is direct since/)
})

test('relayed: names the down link, the path, the metric and cheaper-first alternatives', () => {
  const { links, reports } = relayScenario()
  const inp = input(links, reports)
  const route = inp.view.routes.get(D)
  const e = explainRoute(inp, 'fd12:3456:789a:12::1')
  assert.is(e.kind, 'relay')
  assert.is(e.via, X, 'the lowest-cost relay')
  assert.is(e.via, route?.via)
  assert.is(e.metric, route?.metric)
  assert.equal(e.path, [S, X, D])
  assert.is(e.hops, 2)
  assert.is(e.direct.state, 'down')
  assert.is(e.direct.failedProbes, 3)
  assert.ok(e.direct.peerReportsDown)
  assert.equal(e.alternatives.map(a => a.via), [Y])
  assert.ok((e.alternatives[0]?.metric ?? 0) > (e.metric ?? 0), 'alternatives cost more than the chosen relay')
  assert.match(e.reason, /^relayed via PeerXray: the direct link is down since \d\d:\d\d:\d\d \(13 s\) \(3 probes unanswered; last RTT 1\.2 ms\)/)
  assert.match(e.reason, /PeerXray was chosen because it is the lowest-cost relay$/)
  const text = renderExplanation(e)
  assert.match(text, /is relayed via PeerXray since \d\d:\d\d:\d\d \(12 s\)/)
  assert.match(text, /path PeerSelf > PeerXray > PeerDest/)
  assert.match(text, new RegExp(`metric ${String(e.metric)} \\(2 hops × 1024 \\+ RTT classes \\d+\\)`))
  assert.match(text, /alternatives: via PeerYank metric \d+/)
})

test('relayed: a relay whose own link to the destination is down is no alternative', () => {
  const { links, reports } = relayScenario()
  reports.set(Y, report(Y, [[S, true, 1.5], [X, true, 1.0], [D, false, null]]))
  const e = explainRoute(input(links, reports), D)
  assert.is(e.kind, 'relay')
  assert.equal(e.alternatives, [])
  assert.match(renderExplanation(e), /alternatives: none/)
})

test('unreachable: no member has a usable link to it', () => {
  const links = new Map<string, LinkState>([[X, up(0.8)], [Y, up(1.5)], [D, down(5, null, NOW - 30_000)]])
  const reports = new Map<string, LinkReport>([
    [X, report(X, [[S, true, 0.8], [D, false, null]])],
    [Y, report(Y, [[S, true, 1.5], [D, false, null]])]
  ])
  const e = explainRoute(input(links, reports), 'fd12:3456:789a:12::/64')
  assert.is(e.kind, 'unreachable')
  assert.is(e.via, null)
  assert.is(e.metric, null)
  assert.match(e.reason, /^unreachable: the direct link is down .*5 probes unanswered; last RTT not measured.*no member has a usable link to it$/)
  assert.match(renderExplanation(e), /is unreachable: no member has a usable link to it/)
})

test('bad and unknown targets are ADMIN_REQUEST (HTTP 400) with the reason', () => {
  const { links, reports } = relayScenario()
  const inp = input(links, reports)
  const cases: Array<[string, RegExp]> = [
    ['', /missing target/],
    ['not-an-address', /neither a PeerId of a member nor an IPv6 prefix or address/],
    ['fd99::/64', /no member owns fd99::\/64/],
    ['fd12:3456:789a:1::5', /inside this node's own prefix/],
    [S, /this node itself/]
  ]
  for (const [target, why] of cases) {
    try {
      explainRoute(inp, target, OWN_PREFIX)
      assert.unreachable(`"${target}" should be refused`)
    } catch (err) {
      if (!isGridmeshError(err)) throw err
      assert.is(err.code, ErrorCodes.ADMIN_REQUEST, target)
      assert.match(err.message, why, target)
    }
  }
})

test('a PeerId and any address inside the /64 resolve to the same member', () => {
  const { links, reports } = relayScenario()
  const inp = input(links, reports)
  for (const t of [D, 'fd12:3456:789a:12::/64', 'fd12:3456:789a:12::abcd', 'fd12:3456:789a:12:8000::/65']) {
    assert.is(explainRoute(inp, t).destinationPeer, D, t)
  }
})

test.run()
