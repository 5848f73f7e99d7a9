/**
 * `gridmesh routes --explain`: why the route to one destination is what it
 * is. Pure: the daemon hands in its MeshView, its own link states, the shared
 * link reports and the clock; the answer is plain data (the `--json` form),
 * and `renderExplanation` turns it into the few human lines the CLI prints.
 *
 * Alternatives are priced with the very graph the route computation uses
 * (routing/graph.ts over weights.ts), so an explanation can never disagree
 * with the metric the router compared.
 */
import { nodeAddress } from '../mesh/allocation.ts'
import { parseIpv6Address, parseIpv6Prefix, prefixContains, type Ipv6Prefix } from '../net/prefix.ts'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { buildGraph, relayEdgeWeight } from '../routing/graph.ts'
import type { LinkReport } from '../routing/link-report.ts'
import { HOP_COST } from '../routing/weights.ts'
import type { MeshView } from '../routing/mesh-view.ts'
import type { MemberSnapshot } from '../mesh/membership.ts'
import { type LinkState } from '../routing/link-state.ts'
import type { MemberInfo } from '../routing/plan.ts'
import type { OwnLink, PeerIdString } from '../routing/types.ts'
import type { Alternative, DirectLinkFacts, Explanation } from '../admin/contract.ts'
import { looksLikePeerRef, matchPeerRef, shortPeerId } from '../admin/peer-ref.ts'

/** How many alternative relays an explanation lists. */
export const MAX_ALTERNATIVES = 3

/** Everything explainRoute reads. */
export interface ExplainInput {
  readonly self: PeerIdString
  readonly view: MeshView
  /** This node's own direct-link states (the link table). */
  readonly links: ReadonlyMap<PeerIdString, LinkState>
  /** Validated link reports of the members, keyed by sender. */
  readonly reports: ReadonlyMap<PeerIdString, LinkReport>
  /** Last WireGuard handshake per member, unix ms (absent or null: never). */
  readonly handshakes: ReadonlyMap<PeerIdString, number | null>
  readonly now: number
}

export type { Alternative, DirectLinkFacts, Explanation }

function badTarget (message: string): GridmeshError {
  return new GridmeshError(ErrorCodes.ADMIN_REQUEST, message)
}

/**
 * resolveTarget finds the member a target names: its PeerId (full, the
 * tables' short form, or a unique end of it, see admin/peer-ref.ts), its /64
 * (or any prefix inside it), or any address inside its /64. Throws
 * ADMIN_REQUEST (HTTP 400) with the reason when the target is malformed, is
 * this node, is ambiguous, or matches no member.
 */
export function resolveTarget (self: PeerIdString, ownPrefix: Ipv6Prefix | null, members: readonly MemberInfo[], target: string): MemberInfo {
  const t = target.trim()
  if (t === '') throw badTarget('missing target: give a member /64, an address inside it, or a PeerId')
  if (t === self) throw badTarget(`${t} is this node itself; it has no route to explain`)
  const exact = members.find(m => m.peerId === t)
  if (exact !== undefined) return exact
  if (looksLikePeerRef(t)) {
    const ref = matchPeerRef(t, [self, ...members.map(m => m.peerId)])
    if (ref.kind === 'ambiguous') {
      throw badTarget(`"${t.slice(0, 80)}" matches ${ref.candidates.length} members (${ref.candidates.map(shortPeerId).join(', ')}); give more characters of the PeerId`)
    }
    if (ref.kind === 'match') {
      if (ref.peerId === self) throw badTarget(`${t} is this node itself; it has no route to explain`)
      const byId = members.find(m => m.peerId === ref.peerId)
      if (byId !== undefined) return byId
    }
    throw badTarget(`no member's PeerId is or ends with "${t.slice(0, 80)}"; \`gridmesh peers\` lists every member`)
  }
  let inner: Ipv6Prefix | string
  try {
    inner = t.includes('/') ? parseIpv6Prefix(t, ErrorCodes.ADMIN_REQUEST) : parseIpv6Address(t, ErrorCodes.ADMIN_REQUEST)
  } catch {
    throw badTarget(`target "${t.slice(0, 80)}" is neither a PeerId of a member nor an IPv6 prefix or address`)
  }
  if (ownPrefix !== null && prefixContains(ownPrefix, inner as Ipv6Prefix)) throw badTarget(`${t} is inside this node's own prefix ${ownPrefix}`)
  const owner = members.find(m => prefixContains(m.prefix, inner as Ipv6Prefix))
  if (owner === undefined) throw badTarget(`no member owns ${t}; \`gridmesh peers\` lists every member and its prefix`)
  return owner
}

/** The same validated reports the routes were computed from (mesh-view.ts). */
export { reportsFromMembers } from '../routing/mesh-view.ts'

function ownLinksOf (links: ReadonlyMap<PeerIdString, LinkState>): Map<PeerIdString, OwnLink> {
  const out = new Map<PeerIdString, OwnLink>()
  for (const [id, s] of links) {
    out.set(id, { state: s.state, rttClass: s.costClass })
  }
  return out
}

/**
 * alternativesFor prices every two-hop path self → r → dest whose edges are
 * both usable, with the router's own graph: selfWeight[r] is edge (self, r)
 * and relayEdgeWeight is edge (r, dest). Only defined when the direct edge is
 * broken (dest is in the graph's relayed set); otherwise returns [].
 */
function alternativesFor (input: ExplainInput, dest: PeerIdString): Alternative[] {
  const g = buildGraph({
    self: input.self,
    members: input.view.members.map(m => m.peerId),
    reports: input.reports,
    ownLinks: ownLinksOf(input.links)
  })
  const d = g.ids.indexOf(dest)
  const pos = d === -1 ? -1 : (g.relayPos[d] as number)
  if (pos === -1) return []
  const out: Alternative[] = []
  for (let u = 0; u < g.ids.length; u++) {
    if (u === g.self || u === d) continue
    const metric = (g.selfWeight[u] as number) + relayEdgeWeight(g, pos, u)
    if (Number.isFinite(metric)) out.push({ via: g.ids[u] as PeerIdString, metric: Math.round(metric) })
  }
  return out.sort((a, b) => a.metric - b.metric || (a.via < b.via ? -1 : 1))
}

function directFacts (input: ExplainInput, dest: PeerIdString): DirectLinkFacts {
  const s = input.links.get(dest)
  const theirs = input.reports.get(dest)?.links.find(e => e.to === input.self)
  return {
    state: s?.state ?? 'unknown',
    since: s?.since ?? null,
    failedProbes: s?.consecutiveFailures ?? 0,
    rttMs: s?.rttMs === null || s?.rttMs === undefined ? null : Math.round(s.rttMs * 100) / 100,
    lastHandshake: input.handshakes.get(dest) ?? null,
    peerReportsDown: theirs !== undefined && !theirs.up
  }
}

/** age renders a duration compactly ("12 s", "3 min", "2 h"). */
export function age (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  return `${Math.round(s / 3600)} h`
}

function rtt (ms: number | null): string {
  return ms === null ? 'not measured' : `${ms.toFixed(1)} ms`
}

/** downWhy says which evidence made the direct link unusable. */
function downWhy (d: DirectLinkFacts, now: number): string {
  const parts: string[] = []
  if (d.state === 'down') {
    const when = d.since === null ? '' : ` since ${clock(d.since)} (${age(now - d.since)})`
    const probes = d.failedProbes > 0 ? `${d.failedProbes} probes unanswered` : 'WireGuard handshake stale or probes failing'
    parts.push(`the direct link is down${when} (${probes}; last RTT ${rtt(d.rttMs)})`)
  }
  if (d.peerReportsDown) parts.push(`${d.state === 'down' ? 'and the' : 'the'} peer reports its side of the direct link down`)
  return parts.length === 0 ? 'the direct link is not usable' : parts.join(' ')
}

/** clock renders unix ms as local HH:MM:SS. */
export function clock (ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8)
}

/**
 * explainRoute explains the route to `target` (see resolveTarget). Pure.
 * `ownPrefix` only refines the error for a target inside our own /64.
 */
export function explainRoute (input: ExplainInput, target: string, ownPrefix: Ipv6Prefix | null = null): Explanation {
  const m = resolveTarget(input.self, ownPrefix, input.view.members, target)
  const route = input.view.routes.get(m.peerId)
  const direct = directFacts(input, m.peerId)
  const base = { destination: m.prefix, destinationPeer: m.peerId, address: nodeAddress(m.prefix), direct, now: input.now }
  if (route === undefined) {
    return {
      ...base, kind: 'unreachable', via: null, since: null, metric: null, path: [], hops: 0, rttCost: null, alternatives: [],
      reason: `unreachable: ${downWhy(direct, input.now)}, and no member has a usable link to it`
    }
  }
  const hops = route.path.length - 1
  const common = { ...base, via: route.via, since: route.since, metric: route.metric, path: route.path, hops, rttCost: route.metric - hops * HOP_COST }
  if (route.kind === 'direct') {
    const hs = direct.lastHandshake === null ? 'no handshake yet' : `last handshake ${age(input.now - direct.lastHandshake)} ago`
    const state = direct.state === 'unknown' ? 'not measured yet (a new link counts as usable)' : 'up'
    return { ...common, kind: 'direct', alternatives: [], reason: `direct: the direct link is ${state} (RTT ${rtt(direct.rttMs)}, ${hs})` }
  }
  const all = alternativesFor(input, m.peerId)
  const alternatives = all.filter(a => a.via !== route.via).slice(0, MAX_ALTERNATIVES)
  const lowest = all.length > 0 && all[0]?.via === route.via
  const choice = hops > 2
    ? `no two-hop relay is usable, so the shortest ${hops}-hop path is used`
    : lowest ? `${route.via} was chosen because it is the lowest-cost relay` : `${route.via} is the relay on the shortest path`
  return {
    ...common, kind: 'relay', alternatives,
    reason: `relayed via ${route.via}: ${downWhy(direct, input.now)}; ${choice}`
  }
}

/** renderExplanation is the human form: a few lines, full PeerIds (they are what other commands accept). */
export function renderExplanation (e: Explanation): string {
  const head = `${e.destination} (peer ${e.destinationPeer}, ${e.address})`
  const lines: string[] = []
  if (e.kind === 'unreachable') {
    lines.push(`${head} is unreachable: no member has a usable link to it`)
    lines.push(`  why: ${downWhy(e.direct, e.now)}`)
  } else if (e.kind === 'direct') {
    lines.push(`${head} is direct since ${clock(e.since ?? e.now)} (${age(e.now - (e.since ?? e.now))})`)
    lines.push(`  why: ${e.reason.replace(/^direct: /, '')}`)
    lines.push(`  metric ${e.metric ?? '-'} (1 hop × ${HOP_COST} + RTT classes ${e.rttCost ?? 0})`)
  } else {
    lines.push(`${head} is relayed via ${e.via ?? '-'} since ${clock(e.since ?? e.now)} (${age(e.now - (e.since ?? e.now))})`)
    lines.push(`  why: ${downWhy(e.direct, e.now)}`)
    lines.push(`  path ${e.path.join(' > ')}`)
    lines.push(`  metric ${e.metric ?? '-'} (${e.hops} hops × ${HOP_COST} + RTT classes ${e.rttCost ?? 0})`)
    lines.push(`  choice: ${e.reason.split('; ').slice(-1)[0] ?? ''}`)
    lines.push(e.alternatives.length === 0
      ? '  alternatives: none (no other relay has usable links to both ends)'
      : `  alternatives: ${e.alternatives.map(a => `via ${a.via} metric ${a.metric}`).join(', ')}`)
  }
  return lines.join('\n') + '\n'
}
