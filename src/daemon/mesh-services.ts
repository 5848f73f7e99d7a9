/**
 * The live part of a node: libp2p + membership, the direct-link prober, and
 * the reconcile loop that turns (members, links) into WireGuard peers through
 * the pure deriveMeshView. Also renders the admin views. Built by node.ts.
 */
import { encodeRecord } from '../mesh/record.ts'
import { createRecordSelector, createRecordValidator, createSeqHighWater } from '../mesh/record-dht.ts'
import { createDebouncedSave, HIGHEST_SEEN_SAVE_MS } from '../mesh/node-state.ts'
import { createMeshNode, dialableAddrs, type MeshNode } from '../mesh/libp2p-node.ts'
import { createMembership, type Membership } from '../mesh/membership.ts'
import { choosePrefix, linkAddress, nodeAddress, type Claim } from '../mesh/allocation.ts'
import { createLinkProber, type LinkProber } from '../routing/prober.ts'
import { buildLinkReport, ownLinksOfReport, routingKey, routingKeyOfReport, type LinkReport } from '../routing/link-report.ts'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { splitHostPort } from '../net/host-port.ts'
import { LinkTable } from './link-table.ts'
import { deriveMeshView, type MeshView } from './mesh-view.ts'
import { createReconcileLoop, type ReconcileLoop } from './reconcile-loop.ts'
import { ipsOfMultiaddrs, ownEndpoints } from './endpoints.ts'
import { peersView, routesView, statusView } from './views.ts'
import type { Explanation, GraphView, PeerRow, RevocationResult, RouteRow, StatusView } from '../admin/contract.ts'
import { explainRoute, reportsFromMembers } from './explain.ts'
import { graphView } from './graph-dot.ts'
import type { GridmeshMetrics } from '../metrics/registry.ts'
import type { Config } from '../config/schema.ts'
import type { Identity } from '../keys/store.ts'
import type { Logger } from '../log.ts'
import type { NetDriver } from '../net/ip-driver.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { SupervisedWireGuardDriver } from '../wireguard/device.ts'
import type { DeviceState } from '../wireguard/types.ts'
import type { NodeCounters } from './node.ts'
import { needsNewCertificate, type ClosedMesh } from './admission.ts'
import { createRevocations } from './revocations.ts'
import { createRecordAdmission } from '../mesh/record-admission.ts'
import { issueCertificate, needsRenewal, renewalTtl, type Certificate } from '../admission/certificate.ts'
import { toBase64url } from '../admission/codec.ts'
import { isGridmeshError } from '../errors.ts'
import type { RecordAdmission } from '../mesh/record.ts'

/** How often a closed-mesh node checks whether its certificate needs renewing. */
const CERT_CHECK_MS = 30_000

/** Records live 3 republish intervals, so two lost republishes never drop a member. */
const REPUBLISH_MS = 10 * 60_000
/**
 * Handshake ages and drift are re-checked this often even when nothing else
 * happens. Link changes and membership changes trigger a pass at once; this
 * only catches what nobody told us about (each pass spawns `wg show`).
 */
const RESYNC_MS = 3_000

export interface MeshServicesInit {
  readonly config: Config
  readonly logger: Logger
  readonly identity: Identity
  readonly meshPrefix: Ipv6Prefix
  readonly requested: Ipv6Prefix | null
  readonly initialPrefix: Ipv6Prefix
  readonly wg: SupervisedWireGuardDriver
  readonly net: NetDriver
  readonly counters: NodeCounters
  /** Where the node's metrics go (the registry is served only with --metrics). */
  readonly metrics: GridmeshMetrics
  /** Closed mesh material (null: open mesh, today's behaviour). */
  readonly closed: ClosedMesh | null
  /** libp2p private-network key (swarm key file bytes), or null. */
  readonly psk: Uint8Array | null
  /** Persists and returns the next record seq. */
  persistSeq (now: number): Promise<number>
  /** The per-peer high-water marks the previous run persisted (NodeState.highestSeen). */
  readonly highestSeen: Readonly<Record<string, number>>
  /** Persists the per-peer high-water marks (called debounced, and at stop). */
  persistHighWater (marks: Readonly<Record<string, number>>): Promise<void>
  persistPrefix (prefix: Ipv6Prefix): Promise<void>
  onInterfaceReady (): void
}

export interface MeshServicesHandle {
  status (): StatusView
  peers (): PeerRow[]
  routes (): RouteRow[]
  /** `routes --explain`; throws ADMIN_REQUEST for a bad or unknown target. */
  explain (target: string): Explanation
  graph (): GraphView
  /** Closed meshes: verify, keep, persist and spread a `gmr1.` revocation. */
  publishRevocation (text: string): Promise<RevocationResult>
  stop (): Promise<void>
}

export async function startMeshServices (init: MeshServicesInit): Promise<MeshServicesHandle> {
  const { config, identity, meshPrefix, wg, net } = init
  const log = init.logger.child({ module: 'mesh' })
  const self = identity.peerId
  const startedAt = Date.now()
  let ownPrefix = init.initialPrefix
  let seq = 0
  let view: MeshView | null = null
  let device: DeviceState | null = null
  let endpoints: string[] = []
  const links = new LinkTable()
  const undo: Array<() => Promise<void> | void> = []

  const applyNet = (): Promise<void> => net.applyInterface(config.interface, {
    addresses: [{ address: nodeAddress(ownPrefix), prefixLength: 128 }, { address: linkAddress(ownPrefix), prefixLength: 128 }],
    mtu: config.mtu,
    routes: [{ destination: meshPrefix, src: nodeAddress(ownPrefix) }]
  })
  await applyNet()
  init.onInterfaceReady()
  undo.push(wg.onRestart(applyNet))
  undo.push(wg.onRestart(() => { init.metrics.wireguardRestarted() }))

  // Replay protection survives restarts (T4): seeded from state.json, saved a moment after a mark rises and at stop.
  const marksSave = createDebouncedSave(async () => { await init.persistHighWater(seqs.entries()) }, HIGHEST_SEEN_SAVE_MS,
    (err) => { log.warn({ err: String(err) }, 'saving the seq high-water marks failed') })
  const seqs = createSeqHighWater({ initial: init.highestSeen, onRaise: marksSave.request })
  undo.push(() => marksSave.flush())
  const clock = { now: Date.now }
  const closed = init.closed
  const admit: RecordAdmission | undefined = closed === null
    ? undefined
    : createRecordAdmission({ anchor: closed.anchor, revoked: closed.revocations.isRevoked })
  const closedOpts = closed === null || admit === undefined ? {} : { admit, anchor: closed.anchor }
  let node: MeshNode | null = null
  let membership: Membership | null = null
  const revocations = createRevocations({
    closed, admit, self, mesh: config.mesh, log,
    node: () => { if (node === null) throw new Error('node not started'); return node },
    membership: () => { if (membership === null) throw new Error('membership not started'); return membership }
  })
  try {
    node = await createMeshNode({
      privateKey: identity.libp2pKey,
      mesh: config.mesh,
      listen: splitHostPort(config.listen),
      bootstrap: [...config.bootstrap],
      validator: createRecordValidator({
        mesh: config.mesh, clock, highWater: p => seqs.get(p), ...closedOpts,
        // DHT refusals join membership's counters (created right after the node; the few ms before it go uncounted).
        onReject: reason => { if (membership !== null) membership.counters.rejected[reason]++ }
      }),
      selector: createRecordSelector({ mesh: config.mesh, clock, ...closedOpts }),
      ...(init.psk === null ? {} : { psk: init.psk }),
      ...(closed === null ? {} : { denyPeer: revocations.isDenied }),
      logger: init.logger.child({ module: 'libp2p' }),
      onDhtOp: (op, ms, ok) => { init.metrics.dhtOp(op, ms, ok) }
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' || /EADDRINUSE/.test(String(err))) {
      throw new GridmeshError(ErrorCodes.ALREADY_RUNNING, `cannot listen on ${config.listen}: address in use; stop whatever uses it or pick another --listen`)
    }
    throw err
  }
  undo.push(() => node.stop())

  let cert: Certificate | null = null
  /**
   * ownCert issues our certificate when we have none, when our /64 moved (the
   * certificate binds it), or when a third of its lifetime is left.
   */
  const ownCert = async (now: number): Promise<Certificate | null> => {
    if (closed === null) return null
    if (needsNewCertificate(cert, ownPrefix, now)) {
      cert = await issueCertificate({
        token: closed.token, peerId: self, wgPublicKey: identity.wg.publicKey, prefix: ownPrefix, now, ttlMs: renewalTtl(closed.token, now)
      })
      log.info({ prefix: ownPrefix, expiresAt: new Date(cert.expiresAt).toISOString() }, 'membership certificate issued')
    }
    return cert
  }

  const ownRecord = async (): Promise<Uint8Array> => {
    endpoints = ownEndpoints(config.announce, node.addrs(), config.wgPort, meshPrefix)
    if (endpoints.length === 0) {
      throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `no underlay address to publish from ${config.listen}; listen on a routable address or set --announce HOST:PORT`)
    }
    const now = Date.now()
    const c = await ownCert(now)
    seq = await init.persistSeq(now)
    // A record never outlives its certificate: nobody would accept it past that.
    const expiresAt = Math.min(now + 3 * REPUBLISH_MS, c?.expiresAt ?? Number.MAX_SAFE_INTEGER)
    return encodeRecord({
      v: 1, mesh: config.mesh, peerId: self, wgPublicKey: identity.wg.publicKey, endpoints,
      addrs: dialableAddrs(node.addrs()).slice(0, 8), prefix: ownPrefix, seq, expiresAt,
      ...(c === null ? {} : { cert: toBase64url(c.bytes) })
    }, identity.libp2pKey)
  }
  membership = createMembership({
    node, ownRecord, mesh: config.mesh, logger: init.logger.child({ module: 'membership' }),
    seqs, heartbeatMs: config.heartbeatMs, republishMs: REPUBLISH_MS, linksKey: routingKeyOfReport, linkReport: () => snapshotLinks(),
    ...(closed === null || admit === undefined
      ? {}
      : {
          // The certificate check, plus a bounded wait for a first-seen member's revocations in the DHT.
          admit: revocations.admitMember,
          onRevoke: revocations.onRevoke,
          onRefused: (peer, reason) => { if (reason === 'revoked') revocations.dropPeer(peer) }
        })
  })

  let prober: LinkProber | null = null
  // Created below, once `pass` exists; snapshotLinks may run before (a heartbeat during start).
  let loop: ReconcileLoop | null = null
  /**
   * Our links as we last announced them. Routes are computed from these, not
   * from the live link table: every other member prices our edges from this
   * same report, and a relay works only when both ends pick the same path
   * (WireGuard drops a relayed packet whose source is not on the relay's
   * entry). Before, only state changes were announced while routes used live
   * RTT classes, so two ends could disagree for as long as no link changed
   * state (measured: a relayed iperf3 got nothing for 20 s). State changes go
   * out at once, RTT classes with the next heartbeat.
   */
  let announced: { report: LinkReport, key: string } | null = null
  const snapshotLinks = (): LinkReport => {
    const report = buildLinkReport({ from: self, seq: Date.now(), at: Date.now(), links: links.states() })
    const key = routingKey(report)
    if (key !== announced?.key) loop?.schedule()
    announced = { report, key }
    return report
  }
  const startProber = async (): Promise<void> => {
    prober?.stop()
    prober = createLinkProber({
      logger: init.logger.child({ module: 'prober' }),
      bindAddress: linkAddress(ownPrefix),
      port: config.probePort,
      intervalMs: config.probeIntervalMs,
      timeoutMs: config.probeTimeoutMs,
      onResult: (peer, r) => {
        if (!links.probe(peer, r)) return
        const l = links.get(peer)
        log.info({ peer, link: l?.state, rttMs: l?.rttMs === null || l?.rttMs === undefined ? null : Math.round(l.rttMs * 10) / 10 }, `direct link ${l?.state ?? 'unknown'}`)
        membership.announceLinks()
      }
    })
    await prober.start()
  }

  /** movePrefix: we lost our /64 to a better claim; take the next free one and tell everyone. */
  const movePrefix = async (others: readonly Claim[], owner: string): Promise<void> => {
    const choice = choosePrefix({ meshPrefix, peerId: self, requested: init.requested, current: null, others })
    log.warn({ from: ownPrefix, to: choice.prefix, owner }, 'prefix claimed by a better-ranked member; moving')
    ownPrefix = choice.prefix
    await init.persistPrefix(ownPrefix)
    await applyNet()
    await startProber()
    await membership.setOwnRecord(await ownRecord())
  }

  /**
   * Passes run on every membership or link change (several per second in a
   * busy mesh, mostly heartbeats whose RTT figures moved), so a pass only
   * touches the device when it must: it reads it (handshake ages, drift) at
   * the resync interval, and applies only when the desired peers differ from
   * what it applied last. Each `wg` call is a process spawn.
   */
  let lastRead = 0
  let lastApplied = ''
  /** Keys we last configured: a cached handshake only counts for a peer that stayed configured. */
  let configured = new Set<string>()
  const readDevice = async (now: number): Promise<void> => {
    device = await wg.read()
    lastRead = now
    const byKey = new Map(device.peers.map(p => [p.publicKey, p]))
    let linksChanged = false
    for (const [id, m] of membership.members()) {
      const p = byKey.get(m.record.wgPublicKey)
      const age = p === undefined || p.latestHandshake === 0 ? null : now - p.latestHandshake * 1000
      if (links.handshake(id, age, now)) linksChanged = true
    }
    if (linksChanged) membership.announceLinks()
  }
  const pass = async (): Promise<void> => {
    const now = Date.now()
    const members = membership.members()
    links.retain(members.keys(), now)
    const resyncDue = device === null || now - lastRead >= RESYNC_MS
    if (resyncDue) await readDevice(now)
    // A peer removed and re-added since the last read must get its endpoint
    // from the record: its old "fresh handshake" belongs to a session that is gone.
    const liveDevice = device === null ? null : { ...device, peers: device.peers.filter(p => configured.has(p.publicKey)) }
    const next = deriveMeshView({
      self, meshPrefix, ownPrefix, members, ownLinks: announced === null ? new Map() : ownLinksOfReport(announced.report),
      ...(view !== null ? { previousRoutes: view.routes } : {}),
      ownIps: ipsOfMultiaddrs(node.addrs()), device: liveDevice, now
    })
    if (next.ownPrefixOwner !== self) {
      await movePrefix([...members].map(([id, m]) => ({ peerId: id, prefix: m.record.prefix })), next.ownPrefixOwner)
      loop?.schedule()
      return
    }
    const desiredKey = JSON.stringify(next.peers)
    if (resyncDue || desiredKey !== lastApplied) {
      const changes = await wg.apply({ privateKey: identity.wg.privateKey, listenPort: config.wgPort, peers: next.peers })
      lastApplied = desiredKey
      configured = new Set(next.peers.map(p => p.publicKey))
      if (changes.some(c => c.kind !== 'update')) lastRead = 0 // peers came or went: re-read at the next pass
    }
    prober?.setTargets(new Map(next.members.map(m => [m.peerId, m.linkAddress])))
    logRouteChanges(view, next)
    view = next
    init.metrics.observePass({ members: members.size + 1, peers: peersView(next, members, links.states(), device), links: links.states(), routes: next.routes })
  }
  /** Route transitions are rare state changes: logged at info, so a relay decision can be explained from the log alone. */
  const logRouteChanges = (prev: MeshView | null, next: MeshView): void => {
    for (const m of next.members) {
      const a = prev?.routes.get(m.peerId)
      const b = next.routes.get(m.peerId)
      if (a?.via === b?.via && a?.kind === b?.kind) continue
      if (b === undefined) log.info({ peer: m.peerId, prefix: m.prefix }, 'route lost: unreachable')
      else log.info({ peer: m.peerId, prefix: m.prefix, kind: b.kind, via: b.via, metric: b.metric }, b.kind === 'direct' ? 'route direct' : 'route via relay')
    }
  }
  loop = createReconcileLoop(init.metrics.timePass(pass), log)
  undo.push(() => { loop.stop() })

  membership.on('change', () => { loop.schedule() })
  init.metrics.setSources({
    rejected: () => membership.counters.rejected,
    unhandled: () => init.counters.unhandled + membership.counters.unhandled
  })
  await membership.start()
  undo.push(() => membership.stop({ leave: true }))
  await startProber()
  undo.push(() => { prober?.stop() })
  const resync = setInterval(() => { loop.schedule() }, RESYNC_MS)
  undo.push(() => { clearInterval(resync) })
  snapshotLinks()
  if (closed !== null) {
    const renew = setInterval(() => {
      if (cert === null || !needsRenewal(cert, Date.now())) return
      ownRecord().then(async r => { await membership.setOwnRecord(r) }).catch((err: unknown) => { log.error({ err: String(err) }, 'certificate renewal failed') })
    }, CERT_CHECK_MS)
    renew.unref()
    undo.push(() => { clearInterval(renew) })
    // Nodes that were down when a revocation was gossiped read it back from the DHT (revocations.ts): no re-flooding on every join.
    undo.push(revocations.start())
  }
  await loop.settle()

  return {
    status: () => statusView({
      peerId: self, mesh: config.mesh, meshPrefix, prefix: ownPrefix, address: nodeAddress(ownPrefix),
      linkAddress: linkAddress(ownPrefix), interface: config.interface, wgPublicKey: identity.wg.publicKey,
      endpoints, listen: node.addrs(), seq, startedAt, members: membership.members().size + 1,
      backend: wg.backend,
      memory: { rssMb: Math.round(process.memoryUsage().rss / 1e5) / 10, heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1e5) / 10 },
      closed: closed !== null, certExpiresAt: cert === null ? null : cert.expiresAt, revocations: closed?.revocations.size ?? 0,
      counters: { rejectedRecords: membership.counters.rejected, unhandled: init.counters.unhandled + membership.counters.unhandled }
    }, Date.now()),
    peers: () => peersView(view, membership.members(), links.states(), device),
    routes: () => routesView(view),
    explain: (target) => {
      if (view === null) throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'no routes yet: the node has not finished its first reconcile pass')
      const handshakes = new Map<string, number | null>()
      const byKey = new Map((device?.peers ?? []).map(p => [p.publicKey, p.latestHandshake]))
      for (const m of view.members) {
        const hs = byKey.get(m.wgPublicKey)
        handshakes.set(m.peerId, hs === undefined || hs === 0 ? null : hs * 1000)
      }
      return explainRoute({
        self, view, links: links.states(), reports: reportsFromMembers(membership.members()), handshakes, now: Date.now()
      }, target, ownPrefix)
    },
    publishRevocation: async (text) => {
      let applied
      try {
        applied = await revocations.apply(text, 'admin')
      } catch (err) {
        if (isGridmeshError(err) && err.code === ErrorCodes.RECORD_INVALID) throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, `revocation refused (${String(err.meta?.reason)}): ${err.message}`)
        throw err
      }
      await membership.publishRevocation(applied.text)
      return { id: applied.id, result: applied.result, revocations: closed?.revocations.size ?? 0 }
    },
    graph: () => graphView({
      self, ownPrefix, members: view?.members ?? [], links: links.states(),
      reports: reportsFromMembers(membership.members()), routes: view?.routes ?? new Map(), now: Date.now()
    }),
    stop: async () => {
      for (const fn of undo.reverse()) {
        try { await fn() } catch (err) { log.warn({ err }, 'stop step failed') }
      }
    }
  }
}
