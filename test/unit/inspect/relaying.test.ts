/** The relay node lists the pairs it relays (issue 18): other members' routes through this node. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { relayedPairs } from '../../../src/daemon/relaying.ts'
import { relayingLine } from '../../../src/cli/status.ts'
import type { LinkReport } from '../../../src/routing/link-report.ts'
import type { LinkState } from '../../../src/routing/link-state.ts'
import { D, MEMBERS, NOW, S, X, Y, relayScenario, report, up } from './fixtures.ts'

const members = MEMBERS.map(m => m.peerId)

test('X–D cut, S fast to both: S relays X > D and D > X', () => {
  const links = new Map<string, LinkState>([[X, up(0.8)], [Y, up(1.5)], [D, up(0.8)]])
  const reports = new Map<string, LinkReport>([
    [X, report(X, [[S, true, 0.8], [Y, true, 1.0], [D, false, null]])],
    [Y, report(Y, [[S, true, 1.5], [X, true, 1.0], [D, true, 40]])],
    [D, report(D, [[S, true, 0.8], [X, false, null], [Y, true, 40]])]
  ])
  assert.equal(relayedPairs({ self: S, members, links, reports, now: NOW }), [{ from: D, to: X }, { from: X, to: D }])
})

test('nobody relays through S when S is the one relayed (relay scenario), or when every link is up', () => {
  const { links, reports } = relayScenario()
  assert.equal(relayedPairs({ self: S, members, links, reports, now: NOW }), [])
  const all = new Map<string, LinkState>([[X, up(1)], [Y, up(1)], [D, up(1)]])
  const healthy = new Map<string, LinkReport>([
    [X, report(X, [[S, true, 1], [Y, true, 1], [D, true, 1]])],
    [Y, report(Y, [[S, true, 1], [X, true, 1], [D, true, 1]])],
    [D, report(D, [[S, true, 1], [X, true, 1], [Y, true, 1]])]
  ])
  assert.equal(relayedPairs({ self: S, members, links: all, reports: healthy, now: NOW }), [])
})

test('status shows the relaying in one row', () => {
  assert.is(relayingLine([]), 'none')
  assert.is(relayingLine([{ from: D, to: X }]), 'PeerDest > PeerXray'.replace(/^/, '1 route: '))
  assert.match(relayingLine(Array.from({ length: 6 }, () => ({ from: D, to: X }))), /^6 routes: .*, …$/)
})

test.run()
