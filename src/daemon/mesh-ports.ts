/**
 * The ports the mesh services run on: the adapters a node needs from the
 * outside world, each small enough to fake. node.ts passes the real ones
 * (libp2p, the UDP prober, the supervised WireGuard driver, the ip driver,
 * the system clock); the component tests pass the in-memory network, the
 * fake drivers and a fake time.
 */
import type { GaterStage, MeshNode } from '../mesh/transport.ts'
import type { LinkProber, ProbeOutcome } from '../routing/prober.ts'
import type { NetDriver } from '../net/ip-driver.ts'
import type { WireGuardDriver } from '../wireguard/types.ts'
import type { Time } from '../time/clock.ts'

/** The WireGuard port: the driver, plus restart notification (wireguard-go) and the backend in use. */
export interface MeshWireGuard extends WireGuardDriver {
  onRestart: (listener: () => void | Promise<void>) => () => void
  readonly backend: string | null
}

/** What the transport needs from the core: the DHT's record rules and, in closed meshes, whom to refuse. */
export interface TransportInit {
  readonly validator: (key: Uint8Array, value: Uint8Array) => Promise<void>
  readonly selector: (key: Uint8Array, values: Uint8Array[]) => number | Promise<number>
  readonly denyPeer?: (peerId: string, stage: GaterStage) => boolean
  readonly onDhtOp: (op: 'put' | 'get', ms: number, ok: boolean) => void
}

/** The adapters a node runs on. node.ts wires the real ones; tests wire fakes. */
export interface MeshPorts {
  readonly time: Time
  /** Builds and starts the transport (libp2p, or an in-memory one). */
  createNode: (init: TransportInit) => Promise<MeshNode>
  /** A prober bound to `bindAddress` (our link address), reporting to `onResult`. */
  createProber: (init: { bindAddress: string, onResult: (peer: string, r: ProbeOutcome) => void }) => LinkProber
  readonly wg: MeshWireGuard
  readonly net: NetDriver
  memory: () => { rssMb: number, heapUsedMb: number }
}
