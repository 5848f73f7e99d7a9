/**
 * The pure peer planner: the minimal set of operations that turns the device's
 * current state into the desired config. Keyed by public key. A peer whose
 * config already matches gets no operation at all, so its session, handshake
 * and replay state survive (removing and re-adding a peer discards them).
 * Also re-exports `checkInvariants`, which callers run before planning.
 */
import type { WgPublicKey } from '../keys/types.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { DeviceConfig, DeviceState, PeerChange, PeerConfig, PeerState } from './types.ts'
import { normalizeEndpoint } from './endpoint.ts'
import { parsePrefixBits } from './prefix-math.ts'

export { checkInvariants } from './invariants.ts'

/**
 * One operation for `wg set`. `set` carries only the fields to write: an
 * absent field is left as the device has it (endpoint null = let it roam).
 */
export type PeerOp =
  | { readonly kind: 'remove', readonly publicKey: WgPublicKey }
  | {
    readonly kind: 'set'
    readonly publicKey: WgPublicKey
    readonly endpoint?: string
    readonly allowedIps?: readonly Ipv6Prefix[]
    readonly persistentKeepalive?: number
  }

/** A plan: the changes for logs/tests and the ops for the applier, in the same order. */
export interface PeerPlan {
  readonly changes: PeerChange[]
  readonly ops: PeerOp[]
}

type Field = 'endpoint' | 'allowedIps' | 'persistentKeepalive'

/** planPeers diffs `current` against `desired` (pure). Removes come first, then updates, then adds. */
export function planPeers (current: DeviceState, desired: DeviceConfig): PeerPlan {
  const have = new Map<string, PeerState>(current.peers.map(p => [p.publicKey, p]))
  const want = new Set<string>(desired.peers.map(p => p.publicKey))
  const removes: PeerPlan = { changes: [], ops: [] }
  const updates: PeerPlan = { changes: [], ops: [] }
  const adds: PeerPlan = { changes: [], ops: [] }
  for (const p of current.peers) {
    if (want.has(p.publicKey)) continue
    removes.changes.push({ kind: 'remove', publicKey: p.publicKey })
    removes.ops.push({ kind: 'remove', publicKey: p.publicKey })
  }
  for (const d of desired.peers) {
    const c = have.get(d.publicKey)
    if (c === undefined) {
      adds.changes.push({ kind: 'add', publicKey: d.publicKey })
      adds.ops.push(addOp(d))
      continue
    }
    const fields = changedFields(c, d)
    if (fields.length === 0) continue
    updates.changes.push({ kind: 'update', publicKey: d.publicKey, fields })
    updates.ops.push(updateOp(d, fields))
  }
  return {
    changes: [...removes.changes, ...updates.changes, ...adds.changes],
    ops: [...removes.ops, ...updates.ops, ...adds.ops]
  }
}

/**
 * deviceAfterApply is what the device holds once every op of
 * planPeers(current, desired) went through: the desired peers, each keeping
 * the endpoint the device had where desired says "let it roam" (null), and
 * its handshake and counters when it was already there. Planning against it
 * again yields no ops.
 */
export function deviceAfterApply (current: DeviceState, desired: DeviceConfig, publicKey: WgPublicKey | null): DeviceState {
  const have = new Map<string, PeerState>(current.peers.map(p => [p.publicKey, p]))
  return {
    publicKey,
    listenPort: desired.listenPort,
    peers: desired.peers.map(d => {
      const c = have.get(d.publicKey)
      return {
        ...d,
        endpoint: d.endpoint ?? c?.endpoint ?? null,
        latestHandshake: c?.latestHandshake ?? 0,
        rxBytes: c?.rxBytes ?? 0,
        txBytes: c?.txBytes ?? 0
      }
    })
  }
}

function addOp (d: PeerConfig): PeerOp {
  return {
    kind: 'set',
    publicKey: d.publicKey,
    ...(d.endpoint !== null ? { endpoint: d.endpoint } : {}),
    allowedIps: [...d.allowedIps],
    persistentKeepalive: d.persistentKeepalive
  }
}

function updateOp (d: PeerConfig, fields: readonly Field[]): PeerOp {
  return {
    kind: 'set',
    publicKey: d.publicKey,
    ...(fields.includes('endpoint') && d.endpoint !== null ? { endpoint: d.endpoint } : {}),
    ...(fields.includes('allowedIps') ? { allowedIps: [...d.allowedIps] } : {}),
    ...(fields.includes('persistentKeepalive') ? { persistentKeepalive: d.persistentKeepalive } : {})
  }
}

/** changedFields lists what differs; a null desired endpoint never counts (invariant I6: don't fight roaming). */
export function changedFields (current: PeerConfig, desired: PeerConfig): Field[] {
  const fields: Field[] = []
  if (desired.endpoint !== null &&
    (current.endpoint === null || normalizeEndpoint(current.endpoint) !== normalizeEndpoint(desired.endpoint))) {
    fields.push('endpoint')
  }
  if (!samePrefixSet(current.allowedIps, desired.allowedIps)) fields.push('allowedIps')
  if (current.persistentKeepalive !== desired.persistentKeepalive) fields.push('persistentKeepalive')
  return fields
}

function canonicalSet (list: readonly string[]): Set<string> {
  return new Set(list.map(p => parsePrefixBits(p)?.text ?? p))
}

/** samePrefixSet compares two allowed-ip lists as sets of canonical prefixes (order and spelling ignored). */
export function samePrefixSet (a: readonly string[], b: readonly string[]): boolean {
  const sa = canonicalSet(a); const sb = canonicalSet(b)
  if (sa.size !== sb.size) return false
  for (const p of sa) if (!sb.has(p)) return false
  return true
}
