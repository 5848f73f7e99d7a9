/**
 * Parser for `wg show <if> dump`. The first line is the device (private key,
 * public key, listen port, fwmark); every further line is one peer (public
 * key, preshared key, endpoint, allowed ips, latest handshake, rx, tx,
 * keepalive), tab-separated. The private key is dropped on the first split
 * and never stored. The parser is total: any malformed input becomes
 * DRIVER_FAILED, never an exception of another kind.
 */
import type { WgPublicKey } from '../keys/types.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { DeviceState, PeerState } from './types.ts'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { parsePrefixBits } from './prefix-math.ts'

const KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/

function bad (line: number, why: string): GridmeshError {
  // The line text is not quoted: the device line holds the private key.
  return new GridmeshError(ErrorCodes.DRIVER_FAILED, `wg show dump: line ${line}: ${why}`, { line })
}

function parseCount (text: string | undefined, line: number, what: string): number {
  if (text === undefined || !/^\d+$/.test(text)) throw bad(line, `${what} is not a number`)
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw bad(line, `${what} is out of range`)
  return n
}

function parseKey (text: string | undefined, line: number, what: string): WgPublicKey {
  if (text === undefined || !KEY_RE.test(text)) throw bad(line, `${what} is not a WireGuard key`)
  return text as WgPublicKey
}

/** `(none)` / `off` in the dump mean "not set". */
function parseKeepalive (text: string | undefined, line: number): number {
  if (text === 'off') return 0
  return parseCount(text, line, 'persistent keepalive')
}

function parseAllowedIps (text: string | undefined, line: number): Ipv6Prefix[] {
  if (text === undefined) throw bad(line, 'allowed ips missing')
  if (text === '(none)') return []
  const out: Ipv6Prefix[] = []
  for (const item of text.split(',')) {
    // IPv4 allowed-ips are never written by gridmesh; keep them visible as-is so
    // the planner sees a difference and replaces the list.
    if (/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(item)) { out.push(item as Ipv6Prefix); continue }
    const p = parsePrefixBits(item)
    if (p === null) throw bad(line, `allowed ip ${JSON.stringify(item)} is not a prefix`)
    out.push(p.text)
  }
  return out.sort()
}

function parsePeer (fields: readonly string[], line: number): PeerState {
  if (fields.length !== 8) throw bad(line, `peer line has ${fields.length} fields, expected 8`)
  const [pub, , endpoint, allowed, handshake, rx, tx, keepalive] = fields
  return {
    publicKey: parseKey(pub, line, 'peer public key'),
    endpoint: endpoint === '(none)' || endpoint === undefined || endpoint === '' ? null : endpoint,
    allowedIps: parseAllowedIps(allowed, line),
    persistentKeepalive: parseKeepalive(keepalive, line),
    latestHandshake: parseCount(handshake, line, 'latest handshake'),
    rxBytes: parseCount(rx, line, 'rx bytes'),
    txBytes: parseCount(tx, line, 'tx bytes')
  }
}

/** parseWgDump turns the dump text into a DeviceState; throws DRIVER_FAILED on malformed input. */
export function parseWgDump (text: string): DeviceState {
  const lines = text.split('\n').filter(l => l.length > 0)
  const first = lines[0]
  if (first === undefined) throw bad(1, 'empty output')
  const device = first.split('\t').slice(1) // drop the private key at once
  if (device.length !== 3) throw bad(1, `device line has ${device.length + 1} fields, expected 4`)
  const [pub, port] = device
  const publicKey = pub === '(none)' ? null : parseKey(pub, 1, 'device public key')
  const listenPort = parseCount(port, 1, 'listen port')
  const peers = lines.slice(1).map((l, i) => parsePeer(l.split('\t'), i + 2))
  return { publicKey, listenPort, peers }
}
