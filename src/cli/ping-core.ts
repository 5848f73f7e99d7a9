/**
 * The pure parts of `gridmesh ping`: which member a PEER argument names, the
 * path the node uses to reach it (from the daemon's peers and routes views),
 * and what the system `ping`'s output says about each probe.
 */
import { isIPv6 } from 'node:net'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { matchPeerRef, shortPeerId } from '../admin/peer-ref.ts'
import { parseIpv6Address, parseIpv6Prefix, prefixContains } from '../net/prefix.ts'
import type { PeerRow, RouteRow } from '../admin/contract.ts'

/** resolvePeer finds the member named by a PeerId, the short form, a unique PeerId end, its /64, or an address in it. */
export function resolvePeer (target: string, peers: readonly PeerRow[]): PeerRow {
  const t = target.trim()
  if (isIPv6(t) || (t.includes('/') && isIPv6(t.split('/')[0] ?? ''))) {
    const inner = t.includes('/') ? parseIpv6Prefix(t, ErrorCodes.USAGE) : parseIpv6Address(t, ErrorCodes.USAGE)
    const owner = peers.find(p => prefixContains(parseIpv6Prefix(p.prefix, ErrorCodes.USAGE), inner))
    if (owner === undefined) throw new GridmeshError(ErrorCodes.USAGE, `no member owns ${t}; \`gridmesh peers\` lists every member and its address`)
    return owner
  }
  const ref = matchPeerRef(t, peers.map(p => p.peerId))
  if (ref.kind === 'ambiguous') {
    throw new GridmeshError(ErrorCodes.USAGE, `"${t.slice(0, 80)}" matches ${ref.candidates.length} members (${ref.candidates.map(shortPeerId).join(', ')}); give more characters of the PeerId`)
  }
  const row = ref.kind === 'match' ? peers.find(p => p.peerId === ref.peerId) : undefined
  if (row === undefined) {
    throw new GridmeshError(ErrorCodes.USAGE, `no member is "${t.slice(0, 80)}": give a PeerId, its short form (12D3KooW…abcdef), a unique end of it, or an overlay address; \`gridmesh peers\` lists them`)
  }
  return row
}

/** How the node reaches the peer right now. */
export interface PingPath {
  readonly kind: 'direct' | 'relayed' | 'unreachable'
  readonly via: string | null
  /** Full path self … peer when known (relayed routes). */
  readonly path: readonly string[]
}

export function pathOf (peer: PeerRow, routes: readonly RouteRow[]): PingPath {
  const route = routes.find(r => r.destinationPeer === peer.peerId)
  return { kind: peer.state, via: peer.via, path: route?.path ?? [] }
}

/** describePath is the human form: "direct", "relayed via X (A > X > B)", "unreachable". */
export function describePath (p: PingPath): string {
  if (p.kind === 'direct') return 'direct'
  if (p.kind === 'unreachable') return 'unreachable: no usable path (see `gridmesh routes --explain`)'
  const hops = p.path.length > 0 ? ` (${p.path.map(shortPeerId).join(' > ')})` : ''
  return `relayed via ${p.via === null ? '?' : shortPeerId(p.via)}${hops}`
}

/** One echo: its sequence number and RTT, or null when no reply came. */
export interface Probe { readonly seq: number, readonly rttMs: number | null }

/**
 * parseReply reads one `ping -O` line: a reply (`icmp_seq=N … time=T ms`), a
 * lost probe (`no answer yet for icmp_seq=N`), or null for anything else.
 */
export function parseReply (line: string): Probe | null {
  const m = /icmp_seq=(\d+).*\btime[=<]([\d.]+) ms/.exec(line)
  if (m !== null) return { seq: Number(m[1]), rttMs: Number(m[2]) }
  const lost = /^no answer yet for icmp_seq=(\d+)/.exec(line)
  return lost === null ? null : { seq: Number(lost[1]), rttMs: null }
}

/** Summary of a ping run. */
export interface PingSummary {
  readonly sent: number
  readonly received: number
  readonly lossPct: number
  readonly minMs: number | null
  readonly avgMs: number | null
  readonly maxMs: number | null
}

/** probesOf lists every sent echo in order, the ones without a reply as lost. */
export function probesOf (replies: readonly Probe[], sent: number): Probe[] {
  const bySeq = new Map(replies.filter(r => r.rttMs !== null).map(r => [r.seq, r.rttMs]))
  return Array.from({ length: sent }, (_, i) => ({ seq: i + 1, rttMs: bySeq.get(i + 1) ?? null }))
}

export function summarize (probes: readonly Probe[]): PingSummary {
  const rtts = probes.flatMap(p => p.rttMs === null ? [] : [p.rttMs])
  const round = (n: number): number => Math.round(n * 1000) / 1000
  return {
    sent: probes.length,
    received: rtts.length,
    lossPct: probes.length === 0 ? 0 : Math.round(100 * (probes.length - rtts.length) / probes.length),
    minMs: rtts.length === 0 ? null : round(Math.min(...rtts)),
    avgMs: rtts.length === 0 ? null : round(rtts.reduce((a, b) => a + b, 0) / rtts.length),
    maxMs: rtts.length === 0 ? null : round(Math.max(...rtts))
  }
}

export function describeSummary (s: PingSummary): string {
  const rtt = s.avgMs === null ? '' : `; rtt min/avg/max ${s.minMs ?? '-'}/${s.avgMs}/${s.maxMs ?? '-'} ms`
  return `${s.sent} sent, ${s.received} received, ${s.lossPct}% loss${rtt}`
}
