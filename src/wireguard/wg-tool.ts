/**
 * Talks to a WireGuard device through the `wg` tool, which works for the
 * kernel module and for wireguard-go alike (it finds the UAPI socket itself).
 * Peer ops go out batched in one `wg set` per chunk; allowed-ips always as the
 * full comma list, because `wg` then sends `replace_allowed_ips`, the only
 * allowed-ip update the installed wireguard-go (2022) understands. The private
 * key goes through stdin (`private-key /dev/stdin`), never argv.
 * Note: `wg set` is not transactional; after a failure the next apply re-reads
 * the device and re-plans, so a partial apply heals itself.
 */
import type { CommandRunner } from '../net/command.ts'
import type { WgPrivateKey } from '../keys/types.ts'
import type { DeviceState } from './types.ts'
import type { PeerOp } from './plan.ts'
import { parseWgDump } from './dump.ts'
import { GridmeshError, ErrorCodes, isGridmeshError } from '../errors.ts'

/** Peers per `wg set` call: keeps argv far below ARG_MAX even with long allowed-ip lists. */
export const PEERS_PER_WG_SET = 200

/** peerOpArgs renders one op as `wg set` arguments (pure). */
export function peerOpArgs (op: PeerOp): string[] {
  if (op.kind === 'remove') return ['peer', op.publicKey, 'remove']
  const args = ['peer', op.publicKey]
  if (op.endpoint !== undefined) args.push('endpoint', op.endpoint)
  if (op.persistentKeepalive !== undefined) {
    args.push('persistent-keepalive', op.persistentKeepalive === 0 ? 'off' : String(op.persistentKeepalive))
  }
  // An empty string makes wg send replace_allowed_ips with no entries: clears the list.
  if (op.allowedIps !== undefined) args.push('allowed-ips', op.allowedIps.join(','))
  return args
}

/** wgSetCommands batches ops into as few `wg set <if> peer …` argument lists as possible (pure). */
export function wgSetCommands (iface: string, ops: readonly PeerOp[], perCall = PEERS_PER_WG_SET): string[][] {
  const out: string[][] = []
  for (let i = 0; i < ops.length; i += perCall) {
    out.push(['set', iface, ...ops.slice(i, i + perCall).flatMap(peerOpArgs)])
  }
  return out
}

/** applyPeerOps runs the ops on `iface`; DRIVER_FAILED names the interface and wg's stderr. */
export async function applyPeerOps (runner: CommandRunner, iface: string, ops: readonly PeerOp[]): Promise<void> {
  for (const args of wgSetCommands(iface, ops)) await runner.run('wg', args)
}

/** setDeviceKeyAndPort sets the private key (via stdin) and the listen port in one `wg set`. */
export async function setDeviceKeyAndPort (runner: CommandRunner, iface: string,
  config: { readonly privateKey: WgPrivateKey, readonly listenPort: number }): Promise<void> {
  await runner.run('wg', ['set', iface, 'listen-port', String(config.listenPort), 'private-key', '/dev/stdin'],
    { stdin: `${config.privateKey}\n` })
}

/** readDeviceState reads and parses `wg show <if> dump`. */
export async function readDeviceState (runner: CommandRunner, iface: string): Promise<DeviceState> {
  const r = await runner.run('wg', ['show', iface, 'dump'])
  try {
    return parseWgDump(r.stdout)
  } catch (err) {
    if (isGridmeshError(err)) throw new GridmeshError(err.code, `reading ${iface}: ${err.message}`, err.meta, { cause: err })
    throw new GridmeshError(ErrorCodes.DRIVER_FAILED, `reading ${iface}: unparseable wg dump`, { iface }, { cause: err })
  }
}

/** readListenPort reads `wg show <if> listen-port`: the port the UAPI socket's device really has. */
export async function readListenPort (runner: CommandRunner, iface: string): Promise<number | null> {
  const r = await runner.run('wg', ['show', iface, 'listen-port'], { allowFail: true })
  if (r.code !== 0) return null
  const n = Number(r.stdout.trim())
  return Number.isInteger(n) ? n : null
}
