/**
 * `gridmesh graph`: the mesh as Graphviz DOT. Pure: members, this node's own
 * link states, the shared link reports and this node's routes in, a stable
 * DOT string out (nodes and edges in PeerId order, so equal inputs give equal
 * bytes and the unit test can compare against a golden string).
 *
 * One undirected edge per pair. Its look says what the two ends report:
 * solid when both say up, dashed red when either says down, dotted grey when
 * nobody measured it yet. Edges on a relay path this node uses are bold blue.
 * For pairs with self, self's side is its own link table (fresher than its
 * published report), as in routing/graph.ts.
 */
import { nodeAddress } from '../mesh/allocation.ts'
import type { LinkReport } from '../routing/link-report.ts'
import type { LinkState } from '../routing/link-state.ts'
import type { MemberInfo } from '../routing/plan.ts'
import type { PeerIdString, RouteTable } from '../routing/types.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { GraphEdge, GraphView } from '../admin/contract.ts'
import { relayedPairs } from './relaying.ts'

export interface GraphDotInput {
  readonly self: PeerIdString
  readonly ownPrefix: Ipv6Prefix
  readonly members: readonly MemberInfo[]
  readonly links: ReadonlyMap<PeerIdString, LinkState>
  readonly reports: ReadonlyMap<PeerIdString, LinkReport>
  readonly routes: RouteTable
}

/** One end's view of a link: up/down/unmeasured, and its RTT if any. */
interface EndView { readonly up: boolean | null, readonly rttMs: number | null }

/** shortPeer abbreviates a PeerId for labels (same form as the CLI tables). */
export function shortPeer (id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id
}

function quote (s: string): string {
  return `"${s.replace(/[\\"]/g, c => `\\${c}`)}"`
}

function endView (input: GraphDotInput, from: PeerIdString, to: PeerIdString): EndView {
  if (from === input.self) {
    const s = input.links.get(to)
    if (s === undefined || s.state === 'unknown') return { up: null, rttMs: s?.rttMs ?? null }
    return { up: s.state === 'up', rttMs: s.rttMs }
  }
  const e = input.reports.get(from)?.links.find(l => l.to === to)
  return e === undefined ? { up: null, rttMs: null } : { up: e.up, rttMs: e.rttMs }
}

/** relayEdges are the pairs ("a b", a < b) on relay paths of this node's routes. */
function relayEdges (routes: RouteTable): Set<string> {
  const out = new Set<string>()
  for (const r of routes.values()) {
    if (r.kind !== 'relay') continue
    for (let i = 0; i + 1 < r.path.length; i++) out.add(pairKey(r.path[i] as string, r.path[i + 1] as string))
  }
  return out
}

function pairKey (a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`
}

function edgeAttrs (a: EndView, b: EndView, onRelayPath: boolean): string {
  const rtts = [a.rttMs, b.rttMs].filter((x): x is number => x !== null)
  const label = rtts.length === 0 ? '' : `${Math.max(...rtts).toFixed(1)} ms`
  const attrs: string[] = []
  if (a.up === false || b.up === false) attrs.push('style=dashed', 'color=red', `label=${quote(label === '' ? 'down' : `down (${label})`)}`)
  else if (a.up === true && b.up === true) attrs.push(`style=${onRelayPath ? 'bold' : 'solid'}`, `label=${quote(label)}`)
  else attrs.push('style=dotted', 'color=grey', `label=${quote(label === '' ? 'unmeasured' : label)}`)
  if (onRelayPath) attrs.push('color=blue', 'penwidth=2.5', 'fontcolor=blue')
  return attrs.join(', ')
}

/** renderGraphDot returns the DOT text of the mesh as this node sees it. */
export function renderGraphDot (input: GraphDotInput): string {
  const nodes = [{ peerId: input.self, prefix: input.ownPrefix }, ...input.members.map(m => ({ peerId: m.peerId, prefix: m.prefix }))]
    .sort((a, b) => (a.peerId < b.peerId ? -1 : 1))
  const onPath = relayEdges(input.routes)
  const lines = ['graph gridmesh {', '  node [shape=box, fontname="monospace"];', '  edge [fontname="monospace", fontsize=10];']
  for (const n of nodes) {
    const label = `${shortPeer(n.peerId)}\\n${nodeAddress(n.prefix)}`
    const self = n.peerId === input.self ? ', style="filled,bold", fillcolor=lightyellow, xlabel="self"' : ''
    lines.push(`  ${quote(n.peerId)} [label="${label}"${self}];`)
  }
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = (nodes[i] as { peerId: string }).peerId
      const b = (nodes[j] as { peerId: string }).peerId
      const attrs = edgeAttrs(endView(input, a, b), endView(input, b, a), onPath.has(pairKey(a, b)))
      lines.push(`  ${quote(a)} -- ${quote(b)} [${attrs}];`)
    }
  }
  lines.push('}')
  return lines.join('\n') + '\n'
}

/** edgeState is what both ends report: down when either says down, up when both say up, else unmeasured. */
function edgeState (a: EndView, b: EndView): GraphEdge['state'] {
  if (a.up === false || b.up === false) return 'down'
  return a.up === true && b.up === true ? 'up' : 'unmeasured'
}

/**
 * graphView is `GET /v1/graph`: the DOT text and the same graph as data
 * (`gridmesh graph --json`): nodes, one edge per pair with its state and both
 * ends' view, the relay routes this node uses and the relaying it does.
 */
export function graphView (input: GraphDotInput & { readonly now: number }): GraphView {
  const nodes = [{ peerId: input.self, prefix: input.ownPrefix }, ...input.members.map(m => ({ peerId: m.peerId, prefix: m.prefix }))]
    .sort((a, b) => (a.peerId < b.peerId ? -1 : 1))
  const onPath = relayEdges(input.routes)
  const edges: GraphEdge[] = []
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = (nodes[i] as { peerId: string }).peerId
      const b = (nodes[j] as { peerId: string }).peerId
      const ea = endView(input, a, b)
      const eb = endView(input, b, a)
      edges.push({ a, b, state: edgeState(ea, eb), onRelayPath: onPath.has(pairKey(a, b)), ends: [ea, eb] })
    }
  }
  const relays = [...input.routes.entries()].filter(([, r]) => r.kind === 'relay')
    .map(([destination, r]) => ({ destination, via: r.via, path: r.path }))
    .sort((x, y) => (x.destination < y.destination ? -1 : 1))
  return {
    dot: renderGraphDot(input),
    nodes: nodes.map(n => ({ peerId: n.peerId, prefix: n.prefix, address: nodeAddress(n.prefix), self: n.peerId === input.self })),
    edges,
    relays,
    relaying: relayedPairs({ self: input.self, members: input.members.map(m => m.peerId), links: input.links, reports: input.reports, now: input.now })
  }
}
