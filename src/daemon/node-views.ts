/**
 * The admin views of a running node (status, peers, routes, explain, graph),
 * rendered from a read-only picture of its state. Pure: the node passes its
 * state, the time and its memory figures in.
 */
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { linkAddress, nodeAddress } from '../mesh/allocation.ts'
import { peersView, routesView, statusView } from './views.ts'
import { explainRoute, reportsFromMembers } from './explain.ts'
import { graphView } from './graph-dot.ts'
import type { MemberSnapshot } from '../mesh/member-table.ts'
import type { MeshView } from '../routing/mesh-view.ts'
import type { LinkState } from '../routing/link-state.ts'
import type { DeviceState } from '../wireguard/types.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { Explanation, GraphView, PeerRow, RouteRow, StatusView } from '../admin/contract.ts'

/** What the views read; every function answers for the moment it is called. */
export interface ViewSource {
  readonly self: string
  readonly mesh: string
  readonly meshPrefix: Ipv6Prefix
  readonly iface: string
  readonly wgPublicKey: string
  readonly startedAt: number
  readonly closed: boolean
  ownPrefix: () => Ipv6Prefix
  endpoints: () => readonly string[]
  seq: () => number
  certExpiresAt: () => number | null
  revocations: () => number
  listen: () => string[]
  members: () => MemberSnapshot
  links: () => ReadonlyMap<string, LinkState>
  view: () => MeshView | null
  device: () => DeviceState | null
  backend: () => string | null
  memory: () => { rssMb: number, heapUsedMb: number }
  counters: () => Record<string, unknown>
  now: () => number
}

/** The admin views, typed by the admin contract the CLI reads them through. */
export interface NodeViews {
  status: () => StatusView
  peers: () => PeerRow[]
  routes: () => RouteRow[]
  /** `routes --explain`; throws ADMIN_REQUEST for a bad or unknown target. */
  explain: (target: string) => Explanation
  graph: () => GraphView
}

export function createNodeViews (s: ViewSource): NodeViews {
  return {
    status: () => {
      const prefix = s.ownPrefix()
      return statusView({
        peerId: s.self, mesh: s.mesh, meshPrefix: s.meshPrefix, prefix, address: nodeAddress(prefix),
        linkAddress: linkAddress(prefix), interface: s.iface, wgPublicKey: s.wgPublicKey,
        endpoints: s.endpoints(), listen: s.listen(), seq: s.seq(), startedAt: s.startedAt, members: s.members().size + 1,
        backend: s.backend(), memory: s.memory(),
        closed: s.closed, certExpiresAt: s.certExpiresAt(), revocations: s.revocations(),
        counters: s.counters()
      }, s.now())
    },
    peers: () => peersView(s.view(), s.members(), s.links(), s.device()),
    routes: () => routesView(s.view()),
    explain: (target) => {
      const view = s.view()
      if (view === null) throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'no routes yet: the node has not finished its first reconcile pass')
      const handshakes = new Map<string, number | null>()
      const byKey = new Map((s.device()?.peers ?? []).map(p => [p.publicKey, p.latestHandshake]))
      for (const m of view.members) {
        const hs = byKey.get(m.wgPublicKey)
        handshakes.set(m.peerId, hs === undefined || hs === 0 ? null : hs * 1000)
      }
      return explainRoute({
        self: s.self, view, links: s.links(), reports: reportsFromMembers(s.members()), handshakes, now: s.now()
      }, target, s.ownPrefix())
    },
    graph: () => {
      const view = s.view()
      return graphView({
        self: s.self, ownPrefix: s.ownPrefix(), members: view?.members ?? [], links: s.links(),
        reports: reportsFromMembers(s.members()), routes: view?.routes ?? new Map(), now: s.now()
      })
    }
  }
}
