/**
 * Per-node steady-state control-plane cost in N, before (today's code) and
 * after (the scaled design of docs/scale.md). Pure arithmetic from the
 * constants below; every constant names where it comes from. Traffic is
 * symmetric in steady state (every node sends what it receives on average),
 * so each part is computed for the sending side and doubled: the figures are
 * bytes and messages IN + OUT per node per second. (Issue 13 quoted one
 * direction; `out` columns are kept for comparison.)
 *
 *   node_modules/.bin/node --import tsx scripts/cost-model.ts
 */

/** Wire sizes in bytes (measured with the real encoders where marked). */
export const WIRE = {
  /** Announce without links: 438-byte record envelope, base64 in JSON (measured, messages.ts). */
  announce: 621,
  /** `links` object framing inside an announce (measured). */
  linksHeader: 114,
  /** One link-report entry in an announce (measured: 52-char PeerId, rtt figures). */
  linkEntry: 99,
  /** Cap of an announce (messages.ts MAX_MESSAGE_BYTES); past it the links are dropped. */
  announceCap: 12 * 1024,
  /** Gossipsub message envelope: from, seqno, topic, 64-byte signature, framing (protobuf, estimated). */
  gossipEnvelope: 150,
  /** Per frame below gossipsub: yamux 12 + noise 18 + TCP/IPv4 40. */
  transport: 70,
  /** One IHAVE message id: protobuf Ed25519 key 36 + seqno 8 + framing 2 (@libp2p/gossipsub msgIdFnStrictSign). */
  messageId: 46,
  /** IHAVE control framing (topic + RPC framing). */
  ihaveFrame: 40,
  /** A probe or echo on the wire: 16 B payload + inner IPv6/UDP 48 + WireGuard 32 + outer UDP/IPv4 28. */
  probe: 124,
  /** Yamux keepalive ping or pong frame: 12 + transport. */
  keepalive: 82,
  /** DHT FIND_NODE request / response with 20 peers (estimated from kad-dht 16 protobufs). */
  dhtRequest: 80,
  dhtResponse: 1_300,
  /** DHT PUT_VALUE with a record (record + key + framing). */
  dhtPut: 620,
  /** Link-flood delta with one change (measured, link-flood.ts). */
  linkDelta: 163,
  /** Anti-entropy summary (16-hex hash + origin count + framing). */
  digestSummary: 60
} as const

/** Kademlia figures (kad-dht 16.4.5: K = 20, ALPHA = 10; table refresh hard-coded 5 min). */
const DHT_K = 20
/** RPCs a lookup spends per hop beyond the k closest (classic α = 3; js runs 10 paths, so this is a floor). */
const DHT_RPCS_PER_HOP = 3

/** Today's constants, read from the code. */
export const BEFORE = {
  heartbeatS: 2, // config/schema.ts heartbeatMs
  gossipD: 3, // libp2p-node.ts D (floodPublish on: gossipsub default)
  gossipDlazy: 6, // gossipsub default
  gossipFactor: 0.25, // gossipsub default
  gossipWindowHeartbeats: 3, // GossipsubHistoryGossip, 1 s heartbeats
  maxIHaveLength: 5_000,
  probesPerPeerPerS: 1, // prober: 100 ms tick, calm links every 10th tick
  keepaliveS: 30, // yamux default
  dhtQuerySelfS: 60, // libp2p-node.ts querySelfInterval
  dhtRefreshS: 300, // kad-dht TABLE_REFRESH_INTERVAL
  dhtPutS: 600 // mesh-services.ts REPUBLISH_MS
} as const

/** The scaled design's constants (docs/scale.md). */
export const AFTER = {
  gossipD: 4, // Dlo 3, Dhi 6; floodPublish off; Dlazy 0 + gossipFactor 0 (no IHAVE: anti-entropy instead)
  recordRefreshS: 12 * 3600, // a record floods on change, and every 12 h (expiresAt 24 h)
  linkChangesPerNodePerS: 1 / 86_400, // assumed: one link exception change per node per day
  antiEntropyS: 30, // one summary exchange with one gossip peer
  watchers: 4,
  watcherProbeS: 5, // probe + echo to each watched member (crash = RST on the watcher's connection, ms)
  connections: 40, // ≈ DHT contacts in use + gossip mesh + watch links; maxConnections 64
  keepaliveS: 120, // yamux keepAliveInterval
  dhtQuerySelfS: 3_600,
  dhtRefreshS: 3_600, // NOT settable through kadDHT() in 16.4.5 (RoutingTableRefresh.refreshInterval): see docs
  dhtPutS: 1_800
}

/** One cost figure. */
export interface Flow { readonly bytes: number, readonly msgs: number }
/** A node's cost: parts (sending side) and totals (in + out). */
export interface NodeCost {
  readonly n: number
  readonly parts: Readonly<Record<string, Flow>>
  readonly outBytes: number
  readonly bytes: number
  readonly msgs: number
  readonly sigChecks: number
}

/** Lookups a node runs per refresh round: one per tracked common-prefix length, ≈ log2(N/K) + 1. */
function dhtBuckets (n: number): number {
  return n <= DHT_K ? 1 : Math.ceil(Math.log2(n / DHT_K)) + 1
}

/** RPCs one lookup sends: the k closest plus a few per hop. */
function dhtRpcsPerLookup (n: number): number {
  return n <= DHT_K ? n - 1 : DHT_K + DHT_RPCS_PER_HOP * Math.ceil(Math.log2(n / DHT_K))
}

/** DHT maintenance, sending side: our requests and the answers we serve to others' (same rate, by symmetry). */
function dhtMaintenance (n: number, querySelfS: number, refreshS: number, putS: number): Flow {
  const rpcs = dhtRpcsPerLookup(n) * (1 / querySelfS + dhtBuckets(n) / refreshS)
  const puts = (dhtRpcsPerLookup(n) + Math.min(DHT_K, n - 1)) / putS
  return { msgs: 2 * (rpcs + puts), bytes: rpcs * (WIRE.dhtRequest + WIRE.dhtResponse) + puts * (WIRE.dhtPut + WIRE.dhtRequest) }
}

function total (n: number, parts: Record<string, Flow>, sigChecks: number): NodeCost {
  const out = Object.values(parts).reduce((a, f) => ({ bytes: a.bytes + f.bytes, msgs: a.msgs + f.msgs }), { bytes: 0, msgs: 0 })
  return { n, parts, outBytes: out.bytes, bytes: 2 * out.bytes, msgs: 2 * out.msgs, sigChecks }
}

/**
 * costBefore: today. Every node announces record + link report every H with
 * floodPublish (to all N−1) and each receiver forwards to its D mesh peers;
 * IHAVE gossip every 1 s lists the ids of the last 3 s to max(Dlazy, ¼ of the
 * non-mesh peers); every peer is probed once a second; one connection per member.
 */
export function costBefore (n: number): NodeCost {
  const b = BEFORE
  const peers = n - 1
  const links = peers <= 0 ? 0 : WIRE.linksHeader + peers * WIRE.linkEntry
  const withLinks = WIRE.announce + links <= WIRE.announceCap ? WIRE.announce + links : WIRE.announce // silently dropped past the cap
  const announceBytes = withLinks + WIRE.gossipEnvelope + WIRE.transport
  const forwards = Math.max(0, Math.min(b.gossipD, n - 2))
  const announceMsgs = peers * (1 + forwards) / b.heartbeatS
  const nonMesh = Math.max(0, peers - b.gossipD)
  const ihavePeers = Math.min(nonMesh, Math.max(b.gossipDlazy, b.gossipFactor * nonMesh))
  const ids = Math.min(b.maxIHaveLength, b.gossipWindowHeartbeats * n / b.heartbeatS)
  const parts: Record<string, Flow> = {
    announce: { msgs: announceMsgs, bytes: announceMsgs * announceBytes },
    ihave: { msgs: ihavePeers, bytes: ihavePeers * (WIRE.ihaveFrame + WIRE.transport + ids * WIRE.messageId) },
    probes: { msgs: 2 * peers * b.probesPerPeerPerS, bytes: 2 * peers * b.probesPerPeerPerS * WIRE.probe },
    keepalive: { msgs: 2 * peers / b.keepaliveS, bytes: 2 * peers / b.keepaliveS * WIRE.keepalive },
    dht: dhtMaintenance(n, b.dhtQuerySelfS, b.dhtRefreshS, b.dhtPutS)
  }
  // Gossipsub checks each distinct message's signature once; identical records skip the envelope check.
  return total(n, parts, peers / b.heartbeatS + DHT_K / b.dhtPutS)
}

/**
 * costAfter: the scaled design. Mesh-wide flood rate r = N·(1/T_rec + λ);
 * each flooded message crosses every gossip-mesh edge about once, so a node
 * sends ≈ D−1 copies of it (and receives as many). Watchers probe K members
 * and are probed by K; connections are bounded; the DHT refreshes hourly.
 */
export function costAfter (n: number, a: typeof AFTER = AFTER): NodeCost {
  const recordRate = n / a.recordRefreshS
  const linkRate = n * a.linkChangesPerNodePerS
  const copies = Math.max(0, Math.min(a.gossipD, n - 1) - 1) + 1 / Math.max(1, n) * Math.min(a.gossipD, n - 1)
  const floodBytes = (rate: number, size: number): number => rate * copies * (size + WIRE.gossipEnvelope + WIRE.transport)
  const k = Math.min(a.watchers, n - 1)
  const watch = 2 * k / a.watcherProbeS
  const conns = Math.min(a.connections, n - 1)
  const parts: Record<string, Flow> = {
    records: { msgs: recordRate * copies, bytes: floodBytes(recordRate, WIRE.announce) },
    links: { msgs: linkRate * copies, bytes: floodBytes(linkRate, WIRE.linkDelta) },
    antiEntropy: { msgs: n > 1 ? 2 / a.antiEntropyS : 0, bytes: n > 1 ? 2 / a.antiEntropyS * (WIRE.digestSummary + WIRE.transport) : 0 },
    watchers: { msgs: watch, bytes: watch * WIRE.probe },
    keepalive: { msgs: 2 * conns / a.keepaliveS, bytes: 2 * conns / a.keepaliveS * WIRE.keepalive },
    dht: dhtMaintenance(n, a.dhtQuerySelfS, a.dhtRefreshS, a.dhtPutS)
  }
  return total(n, parts, recordRate * 2 + linkRate + DHT_K / a.dhtPutS)
}

/** The after design with kad-dht's own refresh (5 min, not settable through kadDHT() in 16.4.5) and query-self every 5 min. */
export function costAfterDefaultDhtRefresh (n: number): NodeCost {
  return costAfter(n, { ...AFTER, dhtRefreshS: 300, dhtQuerySelfS: 300 })
}

/**
 * churnCost: what 1 %/min of members joining or leaving adds per node (in +
 * out), not part of steady state: half the events flood a record (join),
 * half a leave or a death verdict; copies as for any flood.
 */
export function churnCost (n: number, fractionPerMinute = 0.01, a: typeof AFTER = AFTER): Flow {
  const rate = n * fractionPerMinute / 60
  const copies = Math.max(0, Math.min(a.gossipD, n - 1) - 1)
  const size = (WIRE.announce + WIRE.linkDelta) / 2 + WIRE.gossipEnvelope + WIRE.transport
  return { msgs: 2 * rate * copies, bytes: 2 * rate * copies * size }
}

/**
 * maxLinkChangesPerNodePerDay: the per-node link-exception change rate at
 * which the after design reaches `budget` bytes/s (in + out) at size n.
 */
export function maxLinkChangesPerNodePerDay (n: number, budget: number): number {
  const base = costAfter(n, { ...AFTER, linkChangesPerNodePerS: 0 }).bytes
  const perUnit = costAfter(n, { ...AFTER, linkChangesPerNodePerS: 1 / 86_400 }).bytes - base
  return (budget - base) / perUnit
}

/** The table rows for a list of mesh sizes. */
export function costTable (sizes: readonly number[] = [10, 100, 1_000, 10_000]): Array<{ before: NodeCost, after: NodeCost }> {
  return sizes.map(n => ({ before: costBefore(n), after: costAfter(n) }))
}

function human (bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(2)} KB`
  return `${bytes.toFixed(0)} B`
}

/** formatCostTable renders the table quoted in docs/scale.md. */
export function formatCostTable (rows: ReadonlyArray<{ before: NodeCost, after: NodeCost }>): string {
  const head = '| N | before B/s | (out only) | before msg/s | before sig/s | after B/s | after msg/s | after sig/s | after, DHT refresh 5 min | churn 1 %/min adds |'
  const lines = rows.map(({ before: b, after: a }) => {
    const d = costAfterDefaultDhtRefresh(a.n)
    const c = churnCost(a.n)
    return `| ${a.n.toLocaleString('en-US')} | ${human(b.bytes)} | ${human(b.outBytes)} | ${b.msgs.toFixed(0)} | ${b.sigChecks.toFixed(1)} | ` +
      `${human(a.bytes)} | ${a.msgs.toFixed(1)} | ${a.sigChecks.toFixed(2)} | ${human(d.bytes)}, ${d.msgs.toFixed(1)} msg/s | ${human(c.bytes)}, ${c.msgs.toFixed(1)} msg/s |`
  })
  return [head, '|---|---|---|---|---|---|---|---|---|---|', ...lines].join('\n')
}

/** formatParts: one design's breakdown at one N (sending side). */
export function formatParts (c: NodeCost): string {
  return Object.entries(c.parts).map(([k, f]) => `${k}: ${human(f.bytes)}/s, ${f.msgs.toFixed(2)} msg/s`).join('; ')
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const rows = costTable()
  console.log(formatCostTable(rows))
  for (const { before, after } of rows) {
    console.log(`\nN=${before.n} before (out): ${formatParts(before)}`)
    console.log(`N=${after.n} after  (out): ${formatParts(after)}`)
  }
  for (const [n, budget] of [[1_000, 2_000], [10_000, 3_000]] as const) {
    console.log(`\nN=${n}: link-exception changes per node per day that reach ${budget} B/s: ${maxLinkChangesPerNodePerDay(n, budget).toFixed(1)}`)
  }
}
