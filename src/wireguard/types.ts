/**
 * The WireGuard driver contract. Configuration (what we want) is kept apart
 * from state (what the device reports, with handshake times and counters).
 * Prefixes are canonical IPv6 CIDR strings (see src/net/prefix.ts).
 */
import type { WgPrivateKey, WgPublicKey } from '../keys/types.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'

/** One peer as we want it on the device. */
export interface PeerConfig {
  readonly publicKey: WgPublicKey
  /** `host:port` / `[v6]:port`, or null to let WireGuard learn it (roaming). */
  readonly endpoint: string | null
  /** Exactly the prefixes this peer may source (invariant I1), sorted. */
  readonly allowedIps: readonly Ipv6Prefix[]
  /** Seconds; 0 = off. */
  readonly persistentKeepalive: number
}

/** The whole device as we want it. Peers not listed are removed. */
export interface DeviceConfig {
  readonly privateKey: WgPrivateKey
  readonly listenPort: number
  readonly peers: readonly PeerConfig[]
}

/** One peer as the device reports it now. */
export interface PeerState extends PeerConfig {
  /** Unix seconds of the latest handshake; 0 = never. */
  readonly latestHandshake: number
  readonly rxBytes: number
  readonly txBytes: number
}

/** The device as it reports itself now (the private key is never read back). */
export interface DeviceState {
  readonly publicKey: WgPublicKey | null
  readonly listenPort: number
  readonly peers: readonly PeerState[]
}

/** Per-peer change, for logs and tests ("endpoint a => b"). */
export type PeerChange =
  | { readonly kind: 'add', readonly publicKey: WgPublicKey }
  | { readonly kind: 'remove', readonly publicKey: WgPublicKey }
  | { readonly kind: 'update', readonly publicKey: WgPublicKey, readonly fields: readonly ('endpoint' | 'allowedIps' | 'persistentKeepalive')[] }

/**
 * WireGuardDriver owns one interface. Every method is idempotent.
 * `apply` makes the device match `desired` with a minimal diff: peers whose
 * config is unchanged are not touched, so their sessions survive.
 */
export interface WireGuardDriver {
  /** Creates the interface if missing (kernel, else supervised wireguard-go) and sets key and port. */
  up (config: Pick<DeviceConfig, 'privateKey' | 'listenPort'>): Promise<void>
  /** Reads the device as it is now. */
  read (): Promise<DeviceState>
  /**
   * Checks invariants, then applies the diff against `read()`. A peer that
   * breaks one is dropped (logged, counted in droppedPeers), the rest applied.
   * Returns what changed.
   */
  apply (desired: DeviceConfig): Promise<readonly PeerChange[]>
  /** Removes the interface and stops wireguard-go. */
  down (): Promise<void>
  /**
   * Peers left out of an apply because they broke an invariant (each is
   * logged; the rest of the config is applied). Counts drops, one per peer per apply.
   */
  readonly droppedPeers: number
}
