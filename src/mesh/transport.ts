/**
 * The transport port of the protocol core: what membership needs from the
 * peer-to-peer network (DHT put/get, the members topic, roster streams,
 * connection events, dials). The real adapter is libp2p-node.ts; an
 * in-memory one shared by many nodes in one process is memory-network.ts.
 * Nothing here imports libp2p.
 */

/** What a topic handler decides: deliver+forward, drop quietly, or drop and penalise the sender. */
export type TopicVerdict = 'accept' | 'ignore' | 'reject'

/** A received message: authenticated origin and raw data. */
export interface TopicMessage { from: string, data: Uint8Array }

/** Handles one message; must not throw (a throw counts as 'ignore'). */
export type TopicHandler = (msg: TopicMessage) => Promise<TopicVerdict>

/** Where the connection gater asks about a peer: before we dial it, or on a connection it opened (inbound) or we opened (outbound). */
export type GaterStage = 'dial' | 'inbound' | 'outbound'

/** Outcome of a DHT put: how many peers stored it, how many refused or failed. */
export interface PutResult { stored: number, failed: number }

/**
 * How a dial ended. `refused` (the host answered with a TCP RST: nothing
 * listens there) is evidence that the daemon is gone; `failed` (a timeout, a
 * gater refusal, a handshake error) says nothing about the peer: on a busy
 * machine a live peer's dial can take seconds.
 */
export type DialOutcome = 'connected' | 'refused' | 'failed'

/** The thin surface the rest of gridmesh uses. */
export interface MeshNode {
  readonly peerId: string
  putRecord: (key: string, value: Uint8Array, options?: { timeoutMs?: number }) => Promise<PutResult>
  /** The selected value, or null when nobody has one (or the lookup failed). */
  getRecord: (key: string, options?: { timeoutMs?: number }) => Promise<Uint8Array | null>
  publish: (topic: string, data: Uint8Array) => Promise<void>
  /** Subscribes; `handler` runs as the topic validator, its verdict decides forwarding. Returns unsubscribe. */
  subscribe: (topic: string, handler: TopicHandler) => () => void
  onSubscriberJoin: (topic: string, cb: (peerId: string) => void) => () => void
  onPeerConnect: (cb: (peerId: string) => void) => () => void
  onPeerDisconnect: (cb: (peerId: string) => void) => () => void
  isConnected: (peerId: string) => boolean
  /** One dial to a peer (record addrs, else the peer store), and how it ended. */
  dialPeer: (peerId: string, addrs: readonly string[], options?: { timeoutMs?: number }) => Promise<DialOutcome>
  /** Members the redial loop keeps connections to (PeerId → record addrs). */
  setKnownPeers: (peers: ReadonlyMap<string, readonly string[]>) => void
  /** Replaces the bootstrap seeds the redial loop keeps dialing (config reload). */
  setBootstrap: (bootstrap: readonly string[]) => void
  /** Our dialable multiaddrs without /p2p/ (what goes into the record's `addrs`). */
  addrs: () => string[]
  /** Answers roster requests with `provide()` (roster.ts); returns the unregister function. */
  serveRoster: (provide: () => string[]) => Promise<() => Promise<void>>
  /** Asks a connected peer for its roster; null on any failure. */
  fetchRoster: (peer: string) => Promise<string[] | null>
  /** Closes every connection to a peer (a revoked one; the gater refuses it afterwards). */
  hangUp: (peerId: string) => Promise<void>
  stop: () => Promise<void>
}

/**
 * dialableAddrs drops loopback addresses when there are others: from another
 * host they reach that host's own daemon, never the node that listed them. A
 * record therefore carries none (and no loopback address takes one of its 8
 * slots), and a dial skips any a record still lists: a redial that hit
 * ourselves failed with an identity mismatch instead of the refusal that
 * proves a killed peer gone (measured: purge took the 6.5 s heartbeat timeout
 * instead of ~1 s). A loopback-only lab keeps them.
 */
export function dialableAddrs (addrs: readonly string[]): readonly string[] {
  const isLoopback = (a: string): boolean => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/')
  const others = addrs.filter(a => !isLoopback(a))
  return others.length > 0 ? others : addrs
}

/** errText keeps logs to the error's one line (stack traces are debug noise here). */
export function errText (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
