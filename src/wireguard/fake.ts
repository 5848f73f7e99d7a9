/**
 * In-memory WireGuardDriver for unit and component tests. It runs the SAME
 * `checkInvariants` and `planPeers` as the real driver, keeps peers in memory
 * and prints them as stable sorted text:
 * `peer <key> endpoint 10.0.0.2:51820 allowed-ips fd..:1::/64,fd..:1::2/128 keepalive 25`.
 * It throws on calls the real driver could not satisfy (apply/read before up),
 * and drops invariant-breaking peers from an apply like the real driver.
 */
import type { WgPublicKey } from '../keys/types.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { DeviceConfig, DeviceState, PeerChange, PeerState, WireGuardDriver } from './types.ts'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { planPeers } from './plan.ts'
import { isolateViolations } from './invariants.ts'
import type { PeerOp } from './plan.ts'
import { wgPublicKeyOf } from './pubkey.ts'

/** FakeWireGuardDriver adds inspection and handshake simulation to the driver. */
export interface FakeWireGuardDriver extends WireGuardDriver {
  /** The device as sorted text (`down` when there is no interface). */
  text (): string
  /** Simulates a handshake with a peer (tests of "session survives"). */
  handshake (peer: WgPublicKey, unixSeconds: number): void
  /** Simulates WireGuard roaming: the device learns a new endpoint for a peer. */
  roam (peer: WgPublicKey, endpoint: string): void
}

/** createFakeWireGuardDriver builds a fake for one interface in `meshPrefix`. */
export function createFakeWireGuardDriver (init: { meshPrefix: Ipv6Prefix }): FakeWireGuardDriver {
  let device: { publicKey: WgPublicKey | null, listenPort: number } | null = null
  let droppedPeers = 0
  const peers = new Map<string, PeerState>()

  const requireUp = (): { publicKey: WgPublicKey | null, listenPort: number } => {
    if (device === null) throw new GridmeshError(ErrorCodes.DRIVER_FAILED, 'fake wireguard: interface is down', {})
    return device
  }
  const state = (): DeviceState => {
    const d = requireUp()
    return { ...d, peers: [...peers.values()].sort((a, b) => a.publicKey.localeCompare(b.publicKey)) }
  }
  const applyOp = (op: PeerOp): void => {
    if (op.kind === 'remove') { peers.delete(op.publicKey); return }
    const old = peers.get(op.publicKey) ??
      { publicKey: op.publicKey, endpoint: null, allowedIps: [], persistentKeepalive: 0, latestHandshake: 0, rxBytes: 0, txBytes: 0 }
    peers.set(op.publicKey, {
      ...old,
      ...(op.endpoint !== undefined ? { endpoint: op.endpoint } : {}),
      ...(op.allowedIps !== undefined ? { allowedIps: [...op.allowedIps].sort() } : {}),
      ...(op.persistentKeepalive !== undefined ? { persistentKeepalive: op.persistentKeepalive } : {})
    })
  }
  const peerLine = (p: PeerState): string =>
    `peer ${p.publicKey} endpoint ${p.endpoint ?? '(none)'} allowed-ips ${p.allowedIps.join(',') || '(none)'}` +
    (p.persistentKeepalive > 0 ? ` keepalive ${p.persistentKeepalive}` : '')

  return {
    up: async config => {
      device = { publicKey: wgPublicKeyOf(config.privateKey), listenPort: config.listenPort }
    },
    read: async () => state(),
    get droppedPeers () { return droppedPeers },
    apply: async (wanted: DeviceConfig): Promise<readonly PeerChange[]> => {
      const { config: desired, dropped } = isolateViolations(wanted, init.meshPrefix)
      droppedPeers += dropped.length
      requireUp()
      device = { publicKey: wgPublicKeyOf(desired.privateKey), listenPort: desired.listenPort }
      const { changes, ops } = planPeers(state(), desired)
      for (const op of ops) applyOp(op)
      return changes
    },
    down: async () => { device = null; peers.clear() },
    text: () => device === null
      ? 'down'
      : [`device ${device.publicKey ?? '(none)'} port ${device.listenPort}`, ...state().peers.map(peerLine)].join('\n'),
    handshake: (peer, t) => {
      const p = peers.get(peer)
      if (p !== undefined) peers.set(peer, { ...p, latestHandshake: t })
    },
    roam: (peer, endpoint) => {
      const p = peers.get(peer)
      if (p !== undefined) peers.set(peer, { ...p, endpoint })
    }
  }
}
