/**
 * The simulator's network: the MeshNode port (src/mesh/transport.ts) and the
 * probe datagram sockets for many cores in one process, on SimTime, with
 * per-link latency, loss, partitions and cut underlay links, and per-node
 * counters of everything sent and received.
 *
 * It is a sibling of src/mesh/memory-network.ts (the component tests'), not
 * a copy: that one delivers a publish to a node's whole connected component
 * (an O(N²) search per message) and counts nothing. Here a members-topic
 * publish travels as gossipsub sends it (wire.ts GOSSIP_COUNTING): flood
 * publish to every connected subscriber, then forwards over a gossip mesh of
 * degree D, with IHAVE gossip every heartbeat; the DHT stores at the K
 * closest nodes. Connections follow today's redial loop: a joiner dials a
 * few seeds, then every member it learns of (setKnownPeers).
 */
import { createHash } from 'node:crypto'
import { decodeRoster, encodeRoster } from '../../src/mesh/roster.ts'
import { sleep } from '../../src/time/clock.ts'
import { DHT, GOSSIP, PROBE_WIRE_BYTES, graftBytes, gossipPublishBytes, ihaveBytes, streamRequestBytes, streamResponseBytes } from './wire.ts'
import type { DialOutcome, MeshNode, TopicHandler } from '../../src/mesh/transport.ts'
import type { ProbeSocketFactory } from '../../src/net/udp.ts'
import type { MemoryNodeInit } from '../../src/mesh/memory-network.ts'
import type { SimTime } from './sim-time.ts'

/** What one node sent, per kind of traffic. */
export type TrafficKind = 'publish' | 'forward' | 'ihave' | 'graft' | 'probe' | 'roster' | 'dht' | 'connect'
export const TRAFFIC_KINDS: readonly TrafficKind[] = ['publish', 'forward', 'ihave', 'graft', 'probe', 'roster', 'dht', 'connect']

export interface Counters {
  msgsOut: number
  bytesOut: number
  msgsIn: number
  bytesIn: number
  /** Gossipsub message signature checks (one per distinct message received). */
  gossipChecks: number
  /** Out messages and bytes by kind. */
  readonly out: Record<TrafficKind, { msgs: number, bytes: number }>
}

export function zeroCounters (): Counters {
  const out = Object.fromEntries(TRAFFIC_KINDS.map(k => [k, { msgs: 0, bytes: 0 }])) as Counters['out']
  return { msgsOut: 0, bytesOut: 0, msgsIn: 0, bytesIn: 0, gossipChecks: 0, out }
}

export function copyCounters (c: Counters): Counters {
  const out = Object.fromEntries(TRAFFIC_KINDS.map(k => [k, { ...c.out[k] }])) as Counters['out']
  return { ...c, out }
}

/** A connection's set-up, counted as modelled bytes (noise XX handshake, identify both ways, multistream): not steady state. */
const CONNECT_BYTES = 2_500
/** Seeds a joiner dials first (its bootstrap list). */
const SEEDS = 3

export interface SimNetworkInit {
  readonly time: SimTime
  /** One-way latency: base plus a fixed per-pair jitter in [0, jitterMs] (defaults 2 and 3 ms). */
  readonly latencyMs?: number
  readonly jitterMs?: number
  /** Fraction of messages and datagrams dropped (default 0). */
  readonly loss?: number
  /** Seeded randomness (loss, mesh choice). */
  readonly random: () => number
}

interface Peer {
  readonly idx: number
  readonly init: MemoryNodeInit
  up: boolean
  readonly topics: Map<string, TopicHandler>
  readonly subJoin: Map<string, Set<(peer: string) => void>>
  readonly connectCbs: Set<(peer: string) => void>
  readonly disconnectCbs: Set<(peer: string) => void>
  readonly store: Map<string, Uint8Array>
  roster: (() => string[]) | null
  readonly conns: Set<number>
  readonly mesh: Map<string, Set<number>>
  readonly dialing: Set<number>
  /** Message ids seen in the current and the previous gossip heartbeats (IHAVE content). */
  window: number[]
  readonly counters: Counters
  readonly hash: number
}

interface Message { readonly id: number, readonly origin: number, readonly topic: string, readonly data: Uint8Array, readonly wire: number, readonly seen: Set<number> }

export class SimNetwork {
  readonly time: SimTime
  latencyMs: number
  jitterMs: number
  loss: number
  private readonly random: () => number
  private readonly peers: Peer[] = []
  private readonly byId = new Map<string, Peer>()
  private readonly blocked = new Set<string>()
  private readonly cut = new Set<string>()
  private readonly sockets = new Map<string, Map<number, (buf: Uint8Array, from: { address: string, port: number }) => void>>()
  private nextMsg = 0

  constructor (init: SimNetworkInit) {
    this.time = init.time
    this.latencyMs = init.latencyMs ?? 2
    this.jitterMs = init.jitterMs ?? 3
    this.loss = init.loss ?? 0
    this.random = init.random
    init.time.setInterval(() => { this.gossipHeartbeat() }, GOSSIP.heartbeatMs)
  }

  /** counters of node `peerId` (live object). */
  counters (peerId: string): Counters {
    const p = this.byId.get(peerId)
    if (p === undefined) throw new Error(`unknown node ${peerId}`)
    return p.counters
  }

  isUp (peerId: string): boolean { return this.byId.get(peerId)?.up === true }
  isConnected (a: string, b: string): boolean {
    const pa = this.byId.get(a); const pb = this.byId.get(b)
    return pa !== undefined && pb !== undefined && pa.conns.has(pb.idx)
  }

  /** meanMeshDegree: the gossip mesh's average degree over live nodes (for the report). */
  meanMeshDegree (topic: string): number {
    const live = this.peers.filter(p => p.up)
    return live.length === 0 ? 0 : live.reduce((a, p) => a + (p.mesh.get(topic)?.size ?? 0), 0) / live.length
  }

  /** node adds a node; it dials its seeds (the first live nodes) after one latency. */
  node (init: MemoryNodeInit): MeshNode {
    const p: Peer = {
      idx: this.peers.length, init, up: true, topics: new Map(), subJoin: new Map(), connectCbs: new Set(), disconnectCbs: new Set(),
      store: new Map(), roster: null, conns: new Set(), mesh: new Map(), dialing: new Set(), window: [0, 0, 0], counters: zeroCounters(), hash: hash32(init.peerId)
    }
    this.peers.push(p)
    this.byId.set(init.peerId, p)
    const seeds = this.peers.filter(q => q.up && q !== p).slice(0, SEEDS)
    for (const s of seeds) this.dialLater(p, s, this.lat(p, s))
    return this.port(p)
  }

  /** partition cuts connections and the underlay between the two groups until heal(). */
  partition (a: readonly string[], b: readonly string[]): void {
    for (const x of a) for (const y of b) { this.blocked.add(pair(x, y)); this.disconnect(this.get(x), this.get(y)) }
  }

  /** heal lifts every partition; members redial each other within the redial loop's backoff (≤ 2 s). */
  heal (): void {
    const was = [...this.blocked]
    this.blocked.clear()
    for (const key of was) {
      const [x, y] = key.split('|') as [string, string]
      const px = this.get(x); const py = this.get(y)
      this.dialLater(px, py, Math.floor(this.random() * 2_000))
    }
  }

  cutLink (a: string, b: string): void { this.cut.add(pair(a, b)) }
  healLink (a: string, b: string): void { this.cut.delete(pair(a, b)) }

  /** crash: the node vanishes; its connections close, dials to it are refused. */
  crash (peerId: string): void { this.down(this.get(peerId)) }

  probeSockets (owner: string): ProbeSocketFactory {
    const me = this.get(owner)
    return (onMessage) => {
      let bound: { key: string, address: string, port: number } | null = null
      return {
        bind: async (port, address) => {
          const key = `[${address}]:${port}`
          const owners = this.sockets.get(key) ?? new Map()
          if (owners.has(me.idx)) throw Object.assign(new Error(`address in use: ${key}`), { code: 'EADDRINUSE' })
          owners.set(me.idx, onMessage)
          this.sockets.set(key, owners)
          bound = { key, address, port }
        },
        send: (buf, port, address) => {
          if (bound === null || !me.up) return
          const src = { address: bound.address, port: bound.port }
          const key = `[${address}]:${port}`
          me.counters.msgsOut++; me.counters.bytesOut += PROBE_WIRE_BYTES
          me.counters.out.probe.msgs++; me.counters.out.probe.bytes += PROBE_WIRE_BYTES
          for (const [to, deliver] of this.sockets.get(key) ?? []) {
            const target = this.peers[to] as Peer
            if (to === me.idx || this.cut.has(pair(owner, target.init.peerId)) || this.blocked.has(pair(owner, target.init.peerId)) || this.lost()) continue
            const copy = Uint8Array.from(buf)
            this.time.at(this.lat(me, target), () => {
              if (this.sockets.get(key)?.get(to) !== deliver) return
              target.counters.msgsIn++; target.counters.bytesIn += PROBE_WIRE_BYTES
              deliver(copy, src)
            })
          }
        },
        close: () => {
          if (bound !== null && this.sockets.get(bound.key)?.get(me.idx) === onMessage) this.sockets.get(bound.key)?.delete(me.idx)
          bound = null
        }
      }
    }
  }

  private get (peerId: string): Peer {
    const p = this.byId.get(peerId)
    if (p === undefined) throw new Error(`unknown node ${peerId}`)
    return p
  }

  private lat (a: Peer, b: Peer): number {
    if (this.jitterMs <= 0) return this.latencyMs
    return this.latencyMs + ((a.hash ^ b.hash) >>> 0) % (this.jitterMs + 1)
  }

  private lost (): boolean { return this.loss > 0 && this.random() < this.loss }

  private reachable (a: Peer, b: Peer): boolean {
    return a !== b && a.up && b.up && !this.blocked.has(pair(a.init.peerId, b.init.peerId))
  }

  private count (from: Peer, to: Peer, kind: TrafficKind, bytes: number): void {
    from.counters.msgsOut++; from.counters.bytesOut += bytes
    from.counters.out[kind].msgs++; from.counters.out[kind].bytes += bytes
    to.counters.msgsIn++; to.counters.bytesIn += bytes
  }

  private dialLater (from: Peer, to: Peer, ms: number): void {
    if (from.dialing.has(to.idx) || from.conns.has(to.idx)) return
    from.dialing.add(to.idx)
    this.time.at(ms, () => {
      from.dialing.delete(to.idx)
      if (this.reachable(from, to)) this.connect(from, to)
    })
  }

  private connect (a: Peer, b: Peer): void {
    if (!this.reachable(a, b) || a.conns.has(b.idx)) return
    a.conns.add(b.idx); b.conns.add(a.idx)
    this.count(a, b, 'connect', CONNECT_BYTES); this.count(b, a, 'connect', CONNECT_BYTES)
    for (const [x, y] of [[a, b], [b, a]] as const) {
      for (const cb of x.connectCbs) cb(y.init.peerId)
      for (const topic of y.topics.keys()) for (const cb of x.subJoin.get(topic) ?? []) cb(y.init.peerId)
    }
  }

  private disconnect (a: Peer, b: Peer): void {
    if (!a.conns.delete(b.idx)) return
    b.conns.delete(a.idx)
    for (const m of a.mesh.values()) m.delete(b.idx)
    for (const m of b.mesh.values()) m.delete(a.idx)
    for (const [x, y] of [[a, b], [b, a]] as const) if (x.up) for (const cb of x.disconnectCbs) cb(y.init.peerId)
  }

  private down (p: Peer): void {
    if (!p.up) return
    p.up = false
    for (const other of [...p.conns]) this.disconnect(p, this.peers[other] as Peer)
    for (const owners of this.sockets.values()) owners.delete(p.idx)
  }

  /** publish: flood publish to every connected subscriber; receivers forward over the gossip mesh. */
  private publish (p: Peer, topic: string, data: Uint8Array): void {
    if (!p.up) return
    const msg: Message = { id: this.nextMsg++, origin: p.idx, topic, data, wire: gossipPublishBytes(data.length, topic.length), seen: new Set([p.idx]) }
    p.window[0] = (p.window[0] ?? 0) + 1
    const targets = GOSSIP.floodPublish ? p.conns : (p.mesh.get(topic) ?? new Set<number>())
    for (const t of targets) {
      const q = this.peers[t] as Peer
      if (!q.topics.has(topic)) continue
      this.send(p, q, msg, 'publish')
    }
  }

  private send (from: Peer, to: Peer, msg: Message, kind: TrafficKind): void {
    this.count(from, to, kind, msg.wire)
    if (this.lost()) return
    this.time.at(this.lat(from, to), () => { this.receive(to, from, msg) })
  }

  private receive (p: Peer, source: Peer, msg: Message): void {
    if (!p.up || !p.conns.has(source.idx) || msg.seen.has(p.idx)) return // a duplicate: counted on arrival, dropped by the seen cache
    msg.seen.add(p.idx)
    const handler = p.topics.get(msg.topic)
    if (handler === undefined) return
    p.counters.gossipChecks++
    const origin = this.peers[msg.origin] as Peer
    handler({ from: origin.init.peerId, data: msg.data }).then(verdict => {
      if (verdict !== 'accept' || !p.up) return
      p.window[0] = (p.window[0] ?? 0) + 1
      for (const t of p.mesh.get(msg.topic) ?? []) {
        if (t === source.idx || t === msg.origin) continue
        this.send(p, this.peers[t] as Peer, msg, 'forward')
      }
    }, () => {})
  }

  /** gossipHeartbeat: every node's 1 s gossipsub heartbeat: mesh upkeep (GRAFT/PRUNE), then IHAVE, then the history shift. */
  private gossipHeartbeat (): void {
    for (const p of this.peers) {
      if (!p.up) continue
      for (const topic of p.topics.keys()) {
        this.keepMesh(p, topic)
        this.emitGossip(p, topic)
      }
      p.window = [0, p.window[0] ?? 0, p.window[1] ?? 0]
    }
  }

  private subscribers (p: Peer, topic: string): number[] {
    const out: number[] = []
    for (const t of p.conns) if ((this.peers[t] as Peer).topics.has(topic)) out.push(t)
    return out
  }

  private keepMesh (p: Peer, topic: string): void {
    let mesh = p.mesh.get(topic)
    if (mesh === undefined) { mesh = new Set(); p.mesh.set(topic, mesh) }
    if (mesh.size >= GOSSIP.Dlo && mesh.size <= GOSSIP.Dhi) return
    const subs = this.subscribers(p, topic)
    if (mesh.size < GOSSIP.Dlo) {
      const candidates = subs.filter(t => !mesh.has(t))
      while (mesh.size < GOSSIP.D && candidates.length > 0) {
        const t = candidates.splice(Math.floor(this.random() * candidates.length), 1)[0] as number
        const q = this.peers[t] as Peer
        mesh.add(t)
        let theirs = q.mesh.get(topic)
        if (theirs === undefined) { theirs = new Set(); q.mesh.set(topic, theirs) }
        theirs.add(p.idx) // GRAFT: the peer accepts (it may exceed Dhi until its own heartbeat prunes)
        this.count(p, q, 'graft', graftBytes(topic.length))
      }
    } else {
      for (const t of [...mesh].slice(GOSSIP.D)) {
        const q = this.peers[t] as Peer
        mesh.delete(t); q.mesh.get(topic)?.delete(p.idx)
        this.count(p, q, 'graft', graftBytes(topic.length)) // PRUNE
      }
    }
  }

  private emitGossip (p: Peer, topic: string): void {
    const ids = Math.min(GOSSIP.maxIHaveLength, (p.window[0] ?? 0) + (p.window[1] ?? 0) + (p.window[2] ?? 0))
    if (ids === 0) return
    const mesh = p.mesh.get(topic) ?? new Set<number>()
    const nonMesh = this.subscribers(p, topic).filter(t => !mesh.has(t))
    const n = Math.min(nonMesh.length, Math.max(GOSSIP.Dlazy, Math.floor(GOSSIP.gossipFactor * nonMesh.length)))
    const bytes = ihaveBytes(ids, topic.length)
    for (let i = 0; i < n; i++) {
      const t = nonMesh.splice(Math.floor(this.random() * nonMesh.length), 1)[0] as number
      this.count(p, this.peers[t] as Peer, 'ihave', bytes)
    }
  }

  /** closest: the K reachable nodes whose hash is nearest (XOR) to the key's, as the DHT would store at. */
  private closest (from: Peer, key: string): Peer[] {
    const h = hash32(key)
    return this.peers.filter(q => q === from || this.reachable(from, q))
      .map(q => ({ q, d: (q.hash ^ h) >>> 0 })).sort((a, b) => a.d - b.d).slice(0, DHT.K).map(x => x.q)
  }

  private countLookup (p: Peer, targets: readonly Peer[]): void {
    const rpcs = DHT.rpcsPerLookup(this.peers.filter(q => q.up).length)
    for (let i = 0; i < rpcs && targets.length > 0; i++) {
      const q = targets[i % targets.length] as Peer
      if (q === p) continue
      this.count(p, q, 'dht', DHT.findNodeRequest); this.count(q, p, 'dht', DHT.findNodeResponse)
    }
  }

  private async put (p: Peer, key: string, value: Uint8Array): Promise<{ stored: number, failed: number }> {
    const k = new TextEncoder().encode(key)
    await p.init.validator(k, value)
    const targets = this.closest(p, key)
    this.countLookup(p, targets)
    let stored = 0; let failed = 0
    for (const q of targets) {
      if (q !== p) { this.count(p, q, 'dht', value.length + DHT.findNodeRequest); this.count(q, p, 'dht', value.length + DHT.findNodeRequest) }
      try {
        await q.init.validator(k, value)
        const old = q.store.get(key)
        if (old === undefined || await q.init.selector(k, [value, old]) === 0) q.store.set(key, value)
        if (q !== p) stored++
      } catch { failed++ }
    }
    await sleep(this.time, 6 * this.latencyMs)
    return { stored, failed }
  }

  private async getRecord (p: Peer, key: string): Promise<Uint8Array | null> {
    const k = new TextEncoder().encode(key)
    const targets = this.closest(p, key)
    this.countLookup(p, targets)
    const candidates = targets.map(q => q.store.get(key)).filter(v => v !== undefined)
    await sleep(this.time, 6 * this.latencyMs)
    const valid: Uint8Array[] = []
    for (const v of candidates) { try { await p.init.validator(k, v); valid.push(v) } catch { /* refused */ } }
    if (valid.length === 0) return null
    return valid[await p.init.selector(k, valid)] ?? null
  }

  private async fetchRoster (p: Peer, peer: string): Promise<string[] | null> {
    const q = this.byId.get(peer)
    if (q === undefined || !p.up || !p.conns.has(q.idx) || q.roster === null) { await sleep(this.time, 2 * this.latencyMs); return null }
    this.count(p, q, 'roster', streamRequestBytes())
    const body = encodeRoster(q.roster())
    this.count(q, p, 'roster', streamResponseBytes(body.length))
    await sleep(this.time, 2 * this.lat(p, q))
    if (!p.up || !p.conns.has(q.idx)) return null
    return decodeRoster(body)
  }

  private async dial (p: Peer, peer: string, timeoutMs: number): Promise<DialOutcome> {
    const q = this.byId.get(peer)
    if (q === undefined || !q.up) { await sleep(this.time, 2 * this.latencyMs); return 'refused' }
    if (!this.reachable(p, q)) { await sleep(this.time, timeoutMs); return 'failed' }
    await sleep(this.time, 2 * this.lat(p, q))
    this.connect(p, q)
    return p.conns.has(q.idx) ? 'connected' : 'failed'
  }

  private port (p: Peer): MeshNode {
    const on = (set: Set<(peer: string) => void>) => (cb: (peer: string) => void): () => void => { set.add(cb); return () => { set.delete(cb) } }
    return {
      peerId: p.init.peerId,
      publish: async (topic, data) => { this.publish(p, topic, data) },
      subscribe: (topic, handler) => {
        p.topics.set(topic, handler)
        for (const t of p.conns) { const q = this.peers[t] as Peer; for (const cb of q.subJoin.get(topic) ?? []) cb(p.init.peerId) }
        return () => { p.topics.delete(topic) }
      },
      onSubscriberJoin: (topic, cb) => {
        const set = p.subJoin.get(topic) ?? new Set()
        p.subJoin.set(topic, set)
        return on(set)(cb)
      },
      onPeerConnect: on(p.connectCbs),
      onPeerDisconnect: on(p.disconnectCbs),
      isConnected: peer => { const q = this.byId.get(peer); return q !== undefined && p.conns.has(q.idx) },
      dialPeer: async (peer, _addrs, o) => await this.dial(p, peer, o?.timeoutMs ?? 5_000),
      // The redial loop (redial.ts) keeps a connection to every member it knows: dial the ones we lack.
      setBootstrap: () => {},
      setKnownPeers: peers => {
        if (!p.up) return
        for (const id of peers.keys()) {
          const q = this.byId.get(id)
          if (q !== undefined && !p.conns.has(q.idx) && this.reachable(p, q)) this.dialLater(p, q, 2 * this.lat(p, q))
        }
      },
      addrs: () => [...p.init.addrs],
      putRecord: async (key, value) => await this.put(p, key, value),
      getRecord: async (key) => await this.getRecord(p, key),
      serveRoster: async provide => { p.roster = provide; return async () => { p.roster = null } },
      fetchRoster: async peer => await this.fetchRoster(p, peer),
      hangUp: async peer => { const q = this.byId.get(peer); if (q !== undefined) this.disconnect(p, q) },
      stop: async () => { this.down(p) }
    }
  }
}

function pair (a: string, b: string): string { return a < b ? `${a}|${b}` : `${b}|${a}` }

/** hash32: the first 32 bits of SHA-256 (node and key positions in the DHT's XOR space, per-pair jitter). */
export function hash32 (s: string): number { return createHash('sha256').update(s).digest().readUInt32BE(0) }
