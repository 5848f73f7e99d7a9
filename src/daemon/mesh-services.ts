/**
 * The live part of a node, assembled from the protocol core and the ports
 * it is given: membership on a MeshNode, the direct-link prober (direct-links.ts), the link
 * table and our announced links, the reconcile pass (reconcile-plan.ts
 * decides, reconciler.ts applies to the WireGuard port), our own record
 * (own-record-source.ts) and the admin views (node-views.ts). It never
 * builds a driver or a socket itself: node.ts passes the real ports, the
 * component tests pass fakes. Start-up is all-or-nothing: a failure at any
 * step undoes every step before it (undo-stack.ts).
 */
import { choosePrefix, linkAddress, nodeAddress, type Claim } from '../mesh/allocation.ts'
import { createMembership, type Membership } from '../mesh/membership.ts'
import { certCheckMs, REPUBLISH_MS } from '../mesh/own-record.ts'
import { ipsOfMultiaddrs } from '../mesh/own-endpoints.ts'
import { dhtRules, highWaterMarks, recordChecks } from './record-checks.ts'
import type { SeqHighWater } from '../mesh/record-dht.ts'
import { routingKeyOfReport } from '../routing/link-report.ts'
import { LinkTable } from '../routing/link-table.ts'
import { AnnouncedLinks } from '../routing/announced-links.ts'
import { ReconcilePlan, RESYNC_MS } from '../routing/reconcile-plan.ts'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { createReconcileLoop, type ReconcileLoop } from './reconcile-loop.ts'
import { createReconcilePass } from './reconciler.ts'
import { OwnRecordSource } from './own-record-source.ts'
import { createNodeViews, type NodeViews } from './node-views.ts'
import { peersView } from './views.ts'
import { createRevocations, type Revocations } from './revocations.ts'
import { publishRevocation } from './admin-revocation.ts'
import { createUndoStack, type UndoStack } from './undo-stack.ts'
import type { MeshNode } from '../mesh/transport.ts'
import { DirectLinkProbing } from './direct-links.ts'
import type { MeshPorts } from './mesh-ports.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { GridmeshMetrics } from '../metrics/registry.ts'
import type { Config } from '../config/schema.ts'
import type { Identity } from '../keys/store.ts'
import type { Logger } from '../log.ts'
import type { ClosedMesh } from './admission.ts'
import type { LiveChanges } from './reload.ts'
import type { RevocationResult } from '../admin/contract.ts'
import type { RecordRejectReason } from '../mesh/record.ts'
import type { RecordChecks } from './record-checks.ts'

export type { MeshPorts, MeshWireGuard, TransportInit } from './mesh-ports.ts'

export interface MeshServicesInit {
  readonly config: Config
  readonly logger: Logger
  readonly identity: Identity
  readonly meshPrefix: Ipv6Prefix
  readonly requested: Ipv6Prefix | null
  readonly initialPrefix: Ipv6Prefix
  /** Exceptions counted by the process (uncaught, unhandled). */
  readonly counters: { unhandled: number }
  /** Where the node's metrics go (the registry is served only with --metrics). */
  readonly metrics: GridmeshMetrics
  /** Closed mesh material (null: open mesh). */
  readonly closed: ClosedMesh | null
  /** Persists and returns the next record seq. */
  persistSeq: (now: number) => Promise<number>
  /** The per-peer high-water marks the previous run persisted (NodeState.highestSeen). */
  readonly highestSeen: Readonly<Record<string, number>>
  /** Persists the per-peer high-water marks (called debounced, and at stop). */
  persistHighWater: (marks: Readonly<Record<string, number>>) => Promise<void>
  onInterfaceReady: () => void
}

export interface MeshServicesHandle extends NodeViews {
  /** Closed meshes: verify, keep, persist and spread a `gmr1.` revocation. */
  publishRevocation: (text: string) => Promise<RevocationResult>
  /** Live reload (reload.ts): new bootstrap seeds go to the redial loop; a new redemption reissues our certificate and republishes. */
  reload: (changes: LiveChanges) => Promise<void>
  stop: () => Promise<void>
}

/** startMeshServices starts everything, or — on any failure — undoes what it started and rethrows. */
export async function startMeshServices (init: MeshServicesInit, ports: MeshPorts): Promise<MeshServicesHandle> {
  const services = new MeshServices(init, ports)
  await services.undo.guard(async () => { await services.start() })
  return services.handle()
}

class MeshServices {
  readonly undo: UndoStack
  private readonly init: MeshServicesInit
  private readonly ports: MeshPorts
  private readonly log: Logger
  private readonly self: string
  private readonly startedAt: number
  private readonly links = new LinkTable()
  private readonly plan = new ReconcilePlan()
  private readonly announced: AnnouncedLinks
  private readonly own: OwnRecordSource
  private readonly loop: ReconcileLoop
  private readonly revocations: Revocations
  /** What every record passes (record-checks.ts). */
  private readonly checks: RecordChecks
  private node: MeshNode | null = null
  private membership: Membership | null = null
  private readonly probing: DirectLinkProbing

  constructor (init: MeshServicesInit, ports: MeshPorts) {
    this.init = init
    this.ports = ports
    this.log = init.logger.child({ module: 'mesh' })
    this.undo = createUndoStack(this.log)
    this.self = init.identity.peerId
    this.startedAt = ports.time.now()
    this.probing = new DirectLinkProbing(ports.createProber, this.links, this.log, () => { this.members().announceLinks() })
    this.announced = new AnnouncedLinks(this.self)
    this.checks = recordChecks({ peerId: this.self, wgPublicKey: init.identity.wg.publicKey }, init.closed)
    this.own = new OwnRecordSource({
      config: init.config, identity: init.identity, meshPrefix: init.meshPrefix, prefix: init.initialPrefix, closed: init.closed,
      clock: ports.time, log: this.log, listenAddrs: () => this.transport().addrs(), persistSeq: init.persistSeq
    })
    this.revocations = createRevocations({
      closed: init.closed, admit: this.checks.certificateCheck, self: this.self, mesh: init.config.mesh, log: this.log, now: ports.time.now,
      node: () => this.transport(),
      membership: () => this.members()
    })
    this.loop = createReconcileLoop(init.metrics.timePass(createReconcilePass({
      self: this.self, meshPrefix: init.meshPrefix, privateKey: init.identity.wg.privateKey, wgPort: init.config.wgPort, wg: ports.wg,
      plan: this.plan, links: this.links, announced: this.announced, clock: ports.time, log: this.log,
      members: () => this.members().members(),
      ownPrefix: () => this.own.prefix,
      ownPrefixSince: () => this.own.prefixSince,
      ownIps: () => ipsOfMultiaddrs(this.transport().addrs()),
      announceLinks: () => { this.members().announceLinks() },
      setProbeTargets: targets => { this.probing.setTargets(targets) },
      movePrefix: async (claims, owner) => { await this.movePrefix(claims, owner) },
      schedule: () => { this.loop.schedule() },
      observe: (view, members) => {
        const links = this.links.states()
        init.metrics.observePass({ members: members.size + 1, peers: peersView(view, members, links, this.plan.device), links, routes: view.routes })
      }
    })), this.log, ports.time)
  }

  /** The start-up steps, in order; each registers its undo before anything can fail after it. */
  async start (): Promise<void> {
    const { init, ports, undo } = this
    await this.applyInterface()
    init.onInterfaceReady()
    undo.push('wireguard restart hooks', ports.wg.onRestart(async () => { await this.applyInterface() }))
    undo.push('wireguard restart metric', ports.wg.onRestart(() => { init.metrics.wireguardRestarted() }))
    const seqs = highWaterMarks({ initial: init.highestSeen, persist: init.persistHighWater, time: ports.time, log: this.log, undo })
    this.node = await this.createTransport(seqs)
    const node = this.node
    undo.push('transport', async () => { await node.stop() })
    const membership = this.createMembership(seqs)
    this.membership = membership
    undo.push('reconcile loop', () => { this.loop.stop() })
    membership.on('change', () => { this.loop.schedule() })
    init.metrics.setSources({
      rejected: () => membership.counters.rejected,
      unhandled: () => init.counters.unhandled + membership.counters.unhandled
    })
    undo.push('membership', async () => { await membership.stop({ leave: true }) })
    await membership.start()
    undo.push('prober', () => { this.probing.stop() })
    await this.probing.restart(linkAddress(this.own.prefix))
    undo.push('resync timer', ports.time.setInterval(() => { this.loop.schedule() }, RESYNC_MS))
    this.announceLinkReport()
    if (init.closed !== null) {
      undo.push('certificate renewal timer', ports.time.setInterval(() => { this.renewIfDue() }, certCheckMs(init.closed.redemption.token.maxCertTtlMs)))
      // Nodes that were down when a revocation was gossiped read it back from the DHT (revocations.ts): no re-flooding on every join.
      undo.push('revocation read-back', this.revocations.start())
    }
    await this.loop.settle()
  }

  handle (): MeshServicesHandle {
    return {
      ...this.views(),
      publishRevocation: async (text) => await publishRevocation(this.revocations, this.members(), text, this.init.closed),
      reload: async (changes) => { await this.reload(changes) },
      stop: async () => { await this.undo.unwind() }
    }
  }

  private transport (): MeshNode {
    if (this.node === null) throw new GridmeshError(ErrorCodes.INTERNAL, 'transport not started')
    return this.node
  }

  private members (): Membership {
    if (this.membership === null) throw new GridmeshError(ErrorCodes.INTERNAL, 'membership not started')
    return this.membership
  }

  private async applyInterface (): Promise<void> {
    const { config, meshPrefix } = this.init
    const prefix = this.own.prefix
    await this.ports.net.applyInterface(config.interface, {
      addresses: [{ address: nodeAddress(prefix), prefixLength: 128 }, { address: linkAddress(prefix), prefixLength: 128 }],
      mtu: config.mtu,
      routes: [{ destination: meshPrefix, src: nodeAddress(prefix) }]
    })
  }

  private async createTransport (seqs: SeqHighWater): Promise<MeshNode> {
    const { config, closed, metrics } = this.init
    return await this.ports.createNode({
      ...dhtRules({
        mesh: config.mesh, closed, recordCheck: this.checks.recordCheck, clock: this.ports.time, seqs,
        // DHT refusals join membership's counters (created right after the node; the few ms before it go uncounted).
        onReject: (reason: RecordRejectReason) => { if (this.membership !== null) this.membership.counters.rejected[reason]++ }
      }),
      ...(closed === null ? {} : { denyPeer: this.revocations.isDenied }),
      onDhtOp: (op, ms, ok) => { metrics.dhtOp(op, ms, ok) }
    })
  }

  private createMembership (seqs: SeqHighWater): Membership {
    const { config, closed, logger } = this.init
    const check = this.checks.certificateCheck
    return createMembership({
      node: this.transport(), ownRecord: async () => await this.own.signNext(), mesh: config.mesh, logger: logger.child({ module: 'membership' }),
      seqs, time: this.ports.time, heartbeatMs: config.heartbeatMs, republishMs: REPUBLISH_MS, linksKey: routingKeyOfReport,
      linkReport: () => this.announceLinkReport(),
      recordCheck: this.checks.recordCheck,
      ...(closed === null || check === undefined
        ? {}
        : {
            // The pure certificate check inside decoding (recordCheck above); after it, a bounded wait for a first-seen member's revocations in the DHT.
            revocationCheck: this.revocations.awaitLookups,
            onRevoke: this.revocations.onRevoke,
            onRefused: (peer, reason) => { if (reason === 'revoked') this.revocations.dropPeer(peer) }
          })
    })
  }

  /**
   * announceLinkReport is the link report our next announce carries. Routes
   * follow what we announce (announced-links.ts), so a report that changed
   * in what routes depend on starts a reconcile pass.
   */
  private announceLinkReport (): unknown {
    const { report, changed } = this.announced.announce(this.links.states(), this.ports.time.now())
    if (changed) this.loop.schedule()
    return report
  }

  /**
   * movePrefix: while our /64 was not yet settled another member claimed it
   * (mesh-view.ts ownClaim); take the next free one and tell everyone. Not
   * saved: a move never outlives the claim that caused it (issue 19, attack
   * 2); the next start takes the saved /64 again and moves only if it is
   * still claimed then.
   */
  private async movePrefix (others: readonly Claim[], owner: string): Promise<void> {
    const { meshPrefix, requested } = this.init
    const choice = choosePrefix({ meshPrefix, peerId: this.self, requested, current: null, others })
    this.log.warn({ from: this.own.prefix, to: choice.prefix, owner }, 'prefix claimed by another member before ours settled; moving (not saved)')
    this.own.prefix = choice.prefix
    this.own.prefixSince = this.ports.time.now()
    await this.applyInterface()
    await this.probing.restart(linkAddress(this.own.prefix))
    await this.members().setOwnRecord(await this.own.signNext())
  }

  private async reload (changes: LiveChanges): Promise<void> {
    if (changes.bootstrap !== undefined) this.transport().setBootstrap(changes.bootstrap)
    const closed = this.init.closed
    if (changes.redemption !== undefined && closed !== null) {
      closed.redemption = changes.redemption
      await this.members().setOwnRecord(await this.own.signNext())
    }
  }

  private renewIfDue (): void {
    if (!this.own.renewalDue()) return
    this.own.signNext().then(async r => { await this.members().setOwnRecord(r) })
      .catch((err: unknown) => { this.log.error({ err: String(err) }, 'certificate renewal failed') })
  }

  private views (): NodeViews {
    const { init, ports, own } = this
    return createNodeViews({
      self: this.self, mesh: init.config.mesh, meshPrefix: init.meshPrefix, iface: init.config.interface,
      wgPublicKey: init.identity.wg.publicKey, startedAt: this.startedAt, closed: init.closed !== null,
      ownPrefix: () => own.prefix, endpoints: () => own.endpoints, seq: () => own.seq,
      certExpiresAt: () => own.cert === null ? null : own.cert.expiresAt,
      revocations: () => init.closed?.revocations.size ?? 0,
      listen: () => this.transport().addrs(), members: () => this.members().members(), links: () => this.links.states(),
      view: () => this.plan.view, device: () => this.plan.device, backend: () => ports.wg.backend, memory: ports.memory,
      counters: () => ({ rejectedRecords: this.members().counters.rejected, unhandled: init.counters.unhandled + this.members().counters.unhandled }),
      now: ports.time.now
    })
  }
}
