/**
 * What the simulator counts on the wire, and why. Sizes of the messages the
 * cores really encode (announces, leaves, roster answers) come from the
 * encoders; what libp2p wraps them in is computed here from the protobuf
 * schemas of @libp2p/gossipsub 17 and the framing below it. Constants that
 * are libp2p defaults name their source.
 */

/** Gossipsub (libp2p-options.ts and @libp2p/gossipsub 17 constants.js). */
export const GOSSIP = {
  /** Mesh degree and bounds (libp2p-options.ts). */
  D: 3,
  Dlo: 2,
  Dhi: 5,
  /** IHAVE gossip: at least Dlazy peers, or gossipFactor of the non-mesh peers (GossipsubDlazy, GossipsubGossipFactor). */
  Dlazy: 6,
  gossipFactor: 0.25,
  /** Heartbeats of message ids an IHAVE lists (GossipsubHistoryGossip) and the cap per IHAVE (GossipsubMaxIHaveLength). */
  historyGossip: 3,
  maxIHaveLength: 5_000,
  heartbeatMs: 1_000,
  /** floodPublish: gossipsub's default (true); libp2p-options.ts leaves it on. */
  floodPublish: true
} as const

/** Below gossipsub, per frame: yamux header 12 + noise length 2 + tag 16 + TCP/IPv4 headers 40 (no options, no ACKs). */
export const TRANSPORT_BYTES = 12 + 18 + 40
/** A probe or its echo on the underlay: 16 B payload + inner IPv6/UDP 48 + WireGuard data header and tag 32 + outer UDP/IPv4 28. */
export const PROBE_WIRE_BYTES = 16 + 48 + 32 + 28
/** PeerId bytes of an Ed25519 key (identity multihash of the 36-byte protobuf key). */
const PEER_ID_BYTES = 38
/** A gossipsub message id under StrictSign: from (38) + seqno (8). */
export const MESSAGE_ID_BYTES = PEER_ID_BYTES + 8
/** A new libp2p stream (roster): multistream-select protocol negotiation, about this much each way. */
const STREAM_OPEN_BYTES = 60

function varintLen (n: number): number {
  let len = 1
  while (n >= 0x80) { n = Math.floor(n / 128); len++ }
  return len
}
function field (len: number): number { return 1 + varintLen(len) + len }

/**
 * gossipPublishBytes: one RPC carrying one message, on the wire. Message =
 * from, data, seqno (8), topic, signature (64); the Ed25519 key is inlined
 * in `from`, so no `key` field. RPC = publish[1] field; length-prefixed.
 */
export function gossipPublishBytes (dataLen: number, topicLen: number): number {
  const msg = field(PEER_ID_BYTES) + field(dataLen) + field(8) + field(topicLen) + field(64)
  const rpc = field(msg)
  return varintLen(rpc) + rpc + TRANSPORT_BYTES
}

/** ihaveBytes: one control RPC with one IHAVE of `ids` message ids for one topic. */
export function ihaveBytes (ids: number, topicLen: number): number {
  const ihave = field(topicLen) + ids * field(MESSAGE_ID_BYTES)
  const control = field(ihave)
  const rpc = field(control)
  return varintLen(rpc) + rpc + TRANSPORT_BYTES
}

/** graftBytes: one GRAFT or PRUNE control RPC (topic only). */
export function graftBytes (topicLen: number): number {
  const rpc = field(field(field(topicLen)))
  return varintLen(rpc) + rpc + TRANSPORT_BYTES
}

/** streamRequestBytes / streamResponseBytes: a roster request and its answer (length-prefixed body). */
export function streamRequestBytes (): number { return STREAM_OPEN_BYTES + TRANSPORT_BYTES }
export function streamResponseBytes (bodyLen: number): number { return STREAM_OPEN_BYTES + varintLen(bodyLen) + bodyLen + TRANSPORT_BYTES }

/**
 * The DHT is not simulated message by message (no kad-dht runs): a put stores
 * the record at the K closest reachable nodes (XOR of hashes) and is counted
 * as the lookup's RPCs plus K PUT_VALUE exchanges, with the cost model's
 * sizes (scripts/cost-model.ts on branch scale: FIND_NODE 80 / 1,300 B).
 */
export const DHT = {
  K: 20,
  findNodeRequest: 80,
  findNodeResponse: 1_300,
  /** RPCs one lookup sends: the k closest plus 3 per hop (a floor: js-kad-dht runs 10 paths). */
  rpcsPerLookup: (n: number): number => n <= 20 ? Math.max(0, n - 1) : 20 + 3 * Math.ceil(Math.log2(n / 20))
} as const

/** How a members-topic publish is counted (printed with the results). */
export const GOSSIP_COUNTING = [
  `members-topic publish: floodPublish sends one copy to every connected subscriber (N−1 in a full mesh);`,
  `every receiver that accepts forwards one copy to each of its gossip-mesh peers (D=${GOSSIP.D}, kept in [${GOSSIP.Dlo}, ${GOSSIP.Dhi}] by a 1 s heartbeat with symmetric GRAFTs)`,
  `except the peer it came from and the origin; duplicates are counted as received bytes and dropped before any check.`,
  `Each gossip heartbeat (1 s) a node sends IHAVE to max(Dlazy=${GOSSIP.Dlazy}, ${GOSSIP.gossipFactor}·non-mesh peers) with the ids it saw in the last ${GOSSIP.historyGossip} heartbeats (≤ ${GOSSIP.maxIHaveLength}, ${MESSAGE_ID_BYTES + 2} B each); IWANT and IDONTWANT are not sent (IDONTWANT is off in libp2p-options.ts; nothing is missing in steady state).`,
  `A gossip signature check is counted once per distinct message received; record signature checks are counted where the core verifies an envelope.`,
  `Frames: gossipsub protobuf + ${TRANSPORT_BYTES} B (yamux 12, noise 18, TCP/IPv4 40); probes ${PROBE_WIRE_BYTES} B on the underlay.`
].join(' ')
