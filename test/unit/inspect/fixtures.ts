/**
 * A small mesh for the inspection tests: self S and members X, Y, D, with
 * link states and shared reports chosen per case, and the routes the real
 * router computes from them (so explanations are checked against it).
 */
import { computeRoutes } from '../../../src/routing/routes.ts'
import { linkAddress } from '../../../src/mesh/allocation.ts'
import type { MeshView } from '../../../src/routing/mesh-view.ts'
import type { LinkReport } from '../../../src/routing/link-report.ts'
import type { LinkState } from '../../../src/routing/link-state.ts'
import type { MemberInfo } from '../../../src/routing/plan.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'
import type { WgPublicKey } from '../../../src/keys/types.ts'
import { rttClass } from '../../../src/routing/link-state.ts'

export const NOW = Date.UTC(2025, 0, 1, 21, 4, 17)
export const S = 'PeerSelf'
export const X = 'PeerXray'
export const Y = 'PeerYank'
export const D = 'PeerDest'
export const OWN_PREFIX = 'fd12:3456:789a:1::/64' as Ipv6Prefix

const prefixes: Record<string, Ipv6Prefix> = {
  [X]: 'fd12:3456:789a:2::/64' as Ipv6Prefix,
  [Y]: 'fd12:3456:789a:3::/64' as Ipv6Prefix,
  [D]: 'fd12:3456:789a:12::/64' as Ipv6Prefix
}

export function member (id: string): MemberInfo {
  const prefix = prefixes[id] as Ipv6Prefix
  return { peerId: id, wgPublicKey: `${id}${'A'.repeat(43 - id.length)}=` as WgPublicKey, endpoint: null, prefix, linkAddress: linkAddress(prefix) }
}

export const MEMBERS = [member(X), member(Y), member(D)]

export function up (rttMs: number, since = NOW - 60_000): LinkState {
  return { state: 'up', consecutiveFailures: 0, consecutiveSuccesses: 50, rttMs, costClass: rttClass(rttMs), costRaisedAt: -Infinity, everUp: true, since }
}

export function down (failures: number, rttMs: number | null, since: number): LinkState {
  return { state: 'down', consecutiveFailures: failures, consecutiveSuccesses: 0, rttMs, costClass: rttClass(rttMs), costRaisedAt: -Infinity, everUp: true, since }
}

/** report builds `from`'s report: [to, up, rttMs] per link. */
export function report (from: string, links: Array<[string, boolean, number | null]>): LinkReport {
  return { from, seq: 1, at: NOW, links: links.map(([to, isUp, rtt]) => ({ to, up: isUp, rttClass: rttClass(rtt), rttMs: rtt })) }
}

/** view computes the routes with the real router, `since` = sinceAt for every route. */
export function view (links: ReadonlyMap<string, LinkState>, reports: ReadonlyMap<string, LinkReport>, sinceAt = NOW - 12_000): MeshView {
  const ownLinks = new Map([...links].map(([id, s]) => [id, { state: s.state, rttClass: rttClass(s.rttMs) }]))
  const routes = computeRoutes({ self: S, members: MEMBERS.map(m => m.peerId), reports, ownLinks, now: sinceAt })
  return { members: MEMBERS, excluded: [], ownPrefixOwner: S, routes, peers: [] }
}

/** The relay scenario: S–D down both ways; X fast to D, Y slower to D. */
export function relayScenario (): { links: Map<string, LinkState>, reports: Map<string, LinkReport> } {
  const links = new Map<string, LinkState>([[X, up(0.8)], [Y, up(1.5)], [D, down(3, 1.2, NOW - 13_000)]])
  const reports = new Map<string, LinkReport>([
    [X, report(X, [[S, true, 0.8], [Y, true, 1.0], [D, true, 0.9]])],
    [Y, report(Y, [[S, true, 1.5], [X, true, 1.0], [D, true, 40]])],
    [D, report(D, [[S, false, 1.2], [X, true, 0.9], [Y, true, 40]])]
  ])
  return { links, reports }
}

/** parseProm reads Prometheus text into `name{labels}` → value (comments dropped). */
export function parseProm (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const i = line.lastIndexOf(' ')
    out.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return out
}
