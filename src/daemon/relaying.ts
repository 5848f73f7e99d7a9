/**
 * Which pairs of other members route through this node: the relaying it
 * does, shown in `gridmesh status` and `graph --json`. Link-state routing
 * lets every node compute every other node's routes from the same link
 * reports, so this runs the router once per member from that member's point
 * of view (its own links from its report; ours from our link table). Pure;
 * O(members) route computations, run only when an admin asks.
 */
import { computeRoutes } from '../routing/routes.ts'
import type { LinkReport } from '../routing/link-report.ts'
import type { LinkState } from '../routing/link-state.ts'
import type { OwnLink, PeerIdString } from '../routing/types.ts'

export interface RelayingInput {
  readonly self: PeerIdString
  readonly members: readonly PeerIdString[]
  /** Our own direct links (the link table). */
  readonly links: ReadonlyMap<PeerIdString, LinkState>
  /** The members' validated link reports, keyed by sender. */
  readonly reports: ReadonlyMap<PeerIdString, LinkReport>
  readonly now: number
}

/** One member's route to another that has this node on its path. */
export interface RelayedPair { readonly from: PeerIdString, readonly to: PeerIdString }

/** ownReport renders our link table as the report the others see (a link not measured yet counts as usable). */
function ownReport (input: RelayingInput): LinkReport {
  return {
    from: input.self, seq: 0, at: input.now,
    links: [...input.links].map(([to, s]) => ({ to, up: s.state !== 'down', rttClass: s.costClass, rttMs: s.rttMs }))
  }
}

/** relayedPairs lists (from, to), sorted, where from's route to `to` passes through this node. */
export function relayedPairs (input: RelayingInput): RelayedPair[] {
  const reports = new Map(input.reports)
  reports.set(input.self, ownReport(input))
  const all = [input.self, ...input.members.filter(m => m !== input.self)]
  const out: RelayedPair[] = []
  for (const from of all) {
    if (from === input.self) continue
    const report = reports.get(from)
    if (report === undefined) continue
    const ownLinks = new Map<PeerIdString, OwnLink>(report.links.map(l => [l.to, { state: l.up ? 'up' : 'down', rttClass: l.rttClass }]))
    const routes = computeRoutes({ self: from, members: all.filter(m => m !== from), reports, ownLinks, now: input.now })
    for (const [to, r] of routes) {
      if (r.kind === 'relay' && r.path.slice(1, -1).includes(input.self)) out.push({ from, to })
    }
  }
  return out.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : 1))
}
