/**
 * One reconcile pass, run by the reconcile loop: keep the link table in step
 * with the members, read the device when the plan says so (handshake ages
 * feed the link table), let the plan decide (reconcile-plan.ts), then carry
 * the decision out — move our /64, or apply the desired WireGuard peers and
 * retarget the prober. Logs route transitions and feeds the metrics.
 */
import type { ReconcilePlan } from '../routing/reconcile-plan.ts'
import type { LinkTable } from '../routing/link-table.ts'
import type { AnnouncedLinks } from '../routing/announced-links.ts'
import type { MeshView } from '../routing/mesh-view.ts'
import type { Claim } from '../mesh/allocation.ts'
import type { MemberSnapshot } from '../mesh/member-table.ts'
import type { Ipv6Address, Ipv6Prefix } from '../net/prefix.ts'
import type { WgPrivateKey } from '../keys/types.ts'
import type { WireGuardDriver } from '../wireguard/types.ts'
import type { Clock } from '../time/clock.ts'
import type { Logger } from '../log.ts'

export interface ReconcilerInit {
  readonly self: string
  readonly meshPrefix: Ipv6Prefix
  readonly privateKey: WgPrivateKey
  readonly wgPort: number
  readonly wg: Pick<WireGuardDriver, 'read' | 'apply'>
  readonly plan: ReconcilePlan
  readonly links: LinkTable
  readonly announced: AnnouncedLinks
  readonly clock: Clock
  readonly log: Logger
  members: () => MemberSnapshot
  ownPrefix: () => Ipv6Prefix
  /** When we took our /64 (its claim settles after CLAIM_RACE_WINDOW_MS). */
  ownPrefixSince: () => number
  /** Our underlay IPs (to pick each peer's endpoint on a network we share). */
  ownIps: () => string[]
  /** A link changed state on a handshake age: announce it now. */
  announceLinks: () => void
  setProbeTargets: (targets: ReadonlyMap<string, Ipv6Address>) => void
  /** Our /64 was lost to `owner`: move, then a new pass is scheduled. */
  movePrefix: (claims: readonly Claim[], owner: string) => Promise<void>
  schedule: () => void
  /** After each converged pass (metrics). */
  observe: (view: MeshView, members: MemberSnapshot) => void
}

/** createReconcilePass returns the pass function the reconcile loop runs. */
export function createReconcilePass (init: ReconcilerInit): () => Promise<void> {
  const { plan, links, log } = init
  return async () => {
    const now = init.clock.now()
    const members = init.members()
    links.retain(members.keys(), now)
    const resynced = plan.readDue(now)
    if (resynced) {
      const ages = plan.deviceRead(await init.wg.read(), members, now)
      let changed = false
      for (const [peer, age] of ages) if (links.handshake(peer, age, now)) changed = true
      if (changed) init.announceLinks()
    }
    const decision = plan.decide({
      self: init.self, meshPrefix: init.meshPrefix, ownPrefix: init.ownPrefix(), ownPrefixSince: init.ownPrefixSince(), members,
      ownLinks: init.announced.ownLinks(), ownIps: init.ownIps(), now, resynced
    })
    if (decision.kind === 'move-prefix') {
      await init.movePrefix(decision.claims, decision.owner)
      init.schedule()
      return
    }
    if (decision.apply !== null) {
      const changes = await init.wg.apply({ privateKey: init.privateKey, listenPort: init.wgPort, peers: decision.apply })
      plan.applied(decision.apply, changes)
    }
    init.setProbeTargets(decision.probeTargets)
    for (const t of plan.adopt(decision.view)) {
      if (t.route === null) log.info({ peer: t.peer, prefix: t.prefix }, 'route lost: unreachable')
      else log.info({ peer: t.peer, prefix: t.prefix, kind: t.route.kind, via: t.route.via, metric: t.route.metric }, t.route.kind === 'direct' ? 'route direct' : 'route via relay')
    }
    init.observe(decision.view, members)
  }
}
