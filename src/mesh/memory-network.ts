/**
 * An in-memory network for tests and simulations: many nodes in one process
 * exchange members-topic messages, DHT records, roster answers and probe
 * datagrams through it, on one injected time, with configurable latency,
 * loss, partitions (libp2p connections cut) and cut links (probe datagrams
 * dropped: the WireGuard underlay between two nodes). Each node's MeshNode
 * is the same port libp2p-node.ts implements. Delivery models gossip as a
 * flood: a message reaches every node its sender is connected to, directly
 * or through others.
 */
import { sleep, type Time } from '../time/clock.ts'
import type { DialOutcome, MeshNode, TopicHandler } from './transport.ts'
import type { ProbeSocketFactory } from '../net/udp.ts'

export interface MemoryNetworkInit {
  readonly time: Time
  /** One-way delay of every message and datagram (default 1 ms). */
  readonly latencyMs?: number
  /** Fraction of messages and datagrams dropped, 0..1 (default 0). */
  readonly loss?: number
  /** Source of randomness for loss (default Math.random). */
  readonly random?: () => number
}

/** What a node's transport needs to judge DHT values (the same rules as its libp2p validator and selector). */
export interface MemoryNodeInit {
  readonly peerId: string
  /** Listen multiaddrs this node reports (its underlay IP goes into its endpoints). */
  readonly addrs: readonly string[]
  readonly validator: (key: Uint8Array, value: Uint8Array) => Promise<void>
  readonly selector: (key: Uint8Array, values: Uint8Array[]) => number | Promise<number>
}

interface Member {
  readonly init: MemoryNodeInit
  up: boolean
  readonly topics: Map<string, TopicHandler>
  readonly subscriberJoin: Map<string, Set<(peer: string) => void>>
  readonly connectCbs: Set<(peer: string) => void>
  readonly disconnectCbs: Set<(peer: string) => void>
  readonly store: Map<string, Uint8Array>
  roster: (() => string[]) | null
}

const text = new TextEncoder()

export class MemoryNetwork {
  latencyMs: number
  loss: number
  private readonly time: Time
  private readonly random: () => number
  private readonly nodes = new Map<string, Member>()
  private readonly links = new Set<string>()
  private readonly blocked = new Set<string>()
  private readonly cutUnderlay = new Set<string>()
  /** Bound probe sockets, by `[address]:port` then owner: every node has its own host, so two may bind the same address. */
  private readonly sockets = new Map<string, Map<string, (buf: Uint8Array, from: { address: string, port: number }) => void>>()

  constructor (init: MemoryNetworkInit) {
    this.time = init.time
    this.latencyMs = init.latencyMs ?? 1
    this.loss = init.loss ?? 0
    this.random = init.random ?? Math.random
  }

  /** node adds a node and connects it to every node it may reach (what bootstrap plus redial achieve). */
  node (init: MemoryNodeInit): MeshNode {
    const m: Member = {
      init, up: true, topics: new Map(), subscriberJoin: new Map(), connectCbs: new Set(), disconnectCbs: new Set(), store: new Map(), roster: null
    }
    this.nodes.set(init.peerId, m)
    this.time.setTimeout(() => { for (const other of this.nodes.keys()) this.connect(init.peerId, other) }, this.latencyMs)
    return this.port(m)
  }

  /** partition cuts every libp2p connection between the two groups until heal(). */
  partition (a: readonly string[], b: readonly string[]): void {
    for (const x of a) for (const y of b) { this.blocked.add(pair(x, y)); this.disconnect(x, y) }
  }

  /** heal lifts every partition; the nodes reconnect (as the redial loop would). */
  heal (): void {
    this.blocked.clear()
    for (const a of this.nodes.keys()) for (const b of this.nodes.keys()) this.connect(a, b)
  }

  /** cutLink drops probe datagrams between two nodes (their direct WireGuard link is down); libp2p traffic still flows. */
  cutLink (a: string, b: string): void { this.cutUnderlay.add(pair(a, b)) }
  healLink (a: string, b: string): void { this.cutUnderlay.delete(pair(a, b)) }

  /** crash makes a node vanish: its connections close and dials to it are refused from now on. */
  crash (peerId: string): void {
    const m = this.nodes.get(peerId)
    if (m === undefined) return
    m.up = false
    for (const other of this.nodes.keys()) this.disconnect(peerId, other)
    for (const owners of this.sockets.values()) owners.delete(peerId)
  }

  /**
   * probeSockets is the datagram side for `owner`'s prober (addresses are
   * the nodes' link addresses). A datagram reaches every other node bound to
   * the address, unless the link between the two is cut.
   */
  probeSockets (owner: string): ProbeSocketFactory {
    return (onMessage) => {
      let bound: { key: string, address: string, port: number } | null = null
      return {
        bind: async (port, address) => {
          const key = `[${address}]:${port}`
          const owners = this.sockets.get(key) ?? new Map()
          if (owners.has(owner)) throw Object.assign(new Error(`address in use: ${key}`), { code: 'EADDRINUSE' })
          owners.set(owner, onMessage)
          this.sockets.set(key, owners)
          bound = { key, address, port }
        },
        send: (buf, port, address) => {
          if (bound === null || this.nodes.get(owner)?.up !== true) return
          const src = { address: bound.address, port: bound.port }
          const copy = Uint8Array.from(buf)
          for (const [to, deliver] of this.sockets.get(`[${address}]:${port}`) ?? []) {
            if (to === owner || this.cutUnderlay.has(pair(owner, to)) || this.lost()) continue
            this.time.setTimeout(() => { if (this.sockets.get(`[${address}]:${port}`)?.get(to) === deliver) deliver(copy, src) }, this.latencyMs)
          }
        },
        close: () => {
          if (bound !== null && this.sockets.get(bound.key)?.get(owner) === onMessage) this.sockets.get(bound.key)?.delete(owner)
          bound = null
        }
      }
    }
  }

  isConnected (a: string, b: string): boolean { return this.links.has(pair(a, b)) }

  private lost (): boolean { return this.loss > 0 && this.random() < this.loss }
  private reachable (a: string, b: string): boolean {
    return a !== b && this.nodes.get(a)?.up === true && this.nodes.get(b)?.up === true && !this.blocked.has(pair(a, b))
  }

  private connect (a: string, b: string): void {
    if (!this.reachable(a, b) || this.links.has(pair(a, b))) return
    this.links.add(pair(a, b))
    const ma = this.nodes.get(a) as Member
    const mb = this.nodes.get(b) as Member
    for (const [x, y] of [[ma, mb], [mb, ma]] as const) {
      for (const cb of x.connectCbs) cb(y.init.peerId)
      for (const topic of y.topics.keys()) for (const cb of x.subscriberJoin.get(topic) ?? []) cb(y.init.peerId)
    }
  }

  private disconnect (a: string, b: string): void {
    if (!this.links.delete(pair(a, b))) return
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const m = this.nodes.get(x)
      if (m?.up === true) for (const cb of m.disconnectCbs) cb(y)
    }
  }

  /** component: every node `from` reaches through connections (gossip floods it). */
  private component (from: string): Member[] {
    const seen = new Set([from])
    const queue = [from]
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      for (const other of this.nodes.keys()) {
        if (!seen.has(other) && this.links.has(pair(n, other))) { seen.add(other); queue.push(other) }
      }
    }
    seen.delete(from)
    return [...seen].map(id => this.nodes.get(id) as Member)
  }

  private deliverLater (fn: () => void): void {
    if (this.lost()) return
    this.time.setTimeout(fn, this.latencyMs)
  }

  private port (m: Member): MeshNode {
    const self = m.init.peerId
    const on = (set: Set<(peer: string) => void>) => (cb: (peer: string) => void): () => void => { set.add(cb); return () => { set.delete(cb) } }
    return {
      peerId: self,
      publish: async (topic, data) => {
        if (!m.up) return
        for (const target of this.component(self)) {
          this.deliverLater(() => { if (target.up) void target.topics.get(topic)?.({ from: self, data }) })
        }
      },
      subscribe: (topic, handler) => {
        m.topics.set(topic, handler)
        for (const other of this.nodes.values()) {
          if (this.links.has(pair(self, other.init.peerId))) for (const cb of other.subscriberJoin.get(topic) ?? []) cb(self)
        }
        return () => { m.topics.delete(topic) }
      },
      onSubscriberJoin: (topic, cb) => {
        const set = m.subscriberJoin.get(topic) ?? new Set()
        m.subscriberJoin.set(topic, set)
        return on(set)(cb)
      },
      onPeerConnect: on(m.connectCbs),
      onPeerDisconnect: on(m.disconnectCbs),
      isConnected: peer => this.links.has(pair(self, peer)),
      dialPeer: async (peer, _addrs, o) => await this.dial(self, peer, o?.timeoutMs ?? 5_000),
      setKnownPeers: () => {},
      setBootstrap: () => {},
      addrs: () => [...m.init.addrs],
      putRecord: async (key, value) => await this.put(m, key, value),
      getRecord: async (key) => await this.get(m, key),
      serveRoster: async provide => { m.roster = provide; return async () => { m.roster = null } },
      fetchRoster: async peer => {
        const target = this.nodes.get(peer)
        await sleep(this.time, 2 * this.latencyMs)
        if (target === undefined || !m.up || !this.links.has(pair(self, peer)) || target.roster === null) return null
        return target.roster()
      },
      hangUp: async peer => { this.disconnect(self, peer) },
      stop: async () => {
        m.up = false
        for (const other of this.nodes.keys()) this.disconnect(self, other)
        for (const owners of this.sockets.values()) owners.delete(self)
      }
    }
  }

  private async dial (from: string, to: string, timeoutMs: number): Promise<DialOutcome> {
    const target = this.nodes.get(to)
    if (target === undefined || !target.up) { await sleep(this.time, 2 * this.latencyMs); return 'refused' }
    if (!this.reachable(from, to)) { await sleep(this.time, timeoutMs); return 'failed' }
    await sleep(this.time, 2 * this.latencyMs)
    this.connect(from, to)
    return this.links.has(pair(from, to)) ? 'connected' : 'failed'
  }

  /** put stores the value at every reachable node whose validator accepts it (the DHT's closest peers are all of them here). */
  private async put (m: Member, key: string, value: Uint8Array): Promise<{ stored: number, failed: number }> {
    const k = text.encode(key)
    let stored = 0
    let failed = 0
    await m.init.validator(k, value)
    m.store.set(key, value)
    for (const target of this.component(m.init.peerId)) {
      try {
        await target.init.validator(k, value)
        const old = target.store.get(key)
        if (old === undefined || await target.init.selector(k, [value, old]) === 0) target.store.set(key, value)
        stored++
      } catch { failed++ }
    }
    await sleep(this.time, 2 * this.latencyMs)
    return { stored, failed }
  }

  /** get collects the value from every reachable node, keeps the valid ones and selects as libp2p would. */
  private async get (m: Member, key: string): Promise<Uint8Array | null> {
    const k = text.encode(key)
    const candidates = [m, ...this.component(m.init.peerId)].map(n => n.store.get(key)).filter(v => v !== undefined)
    await sleep(this.time, 2 * this.latencyMs)
    const valid: Uint8Array[] = []
    for (const v of candidates) { try { await m.init.validator(k, v); valid.push(v) } catch { /* refused */ } }
    if (valid.length === 0) return null
    return valid[await m.init.selector(k, valid)] ?? null
  }
}

function pair (a: string, b: string): string { return a < b ? `${a}|${b}` : `${b}|${a}` }
