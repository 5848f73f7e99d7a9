/**
 * The roster protocol: a newcomer that connects to any member asks it for
 * every signed node record it holds, so it learns the whole mesh in one round
 * trip instead of waiting for each member's next heartbeat to be forwarded to
 * it. Point-to-point request/response on a mesh-private libp2p protocol, not
 * gossip: the records are the owners' own signed envelopes, and the receiver
 * verifies each one exactly as if it came from the DHT — the responder is
 * trusted for nothing.
 */
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from '../log.ts'

/** At most this many records per roster (a full mesh of this size is far beyond our target). */
export const ROSTER_MAX_RECORDS = 256
/** Record envelopes are ≤ 4 KiB, so ≤ ~5.5 KB in base64. */
const MAX_RECORD_B64 = 6 * 1024
/** Cap on the whole response, checked before decoding. */
export const ROSTER_MAX_BYTES = ROSTER_MAX_RECORDS * MAX_RECORD_B64 + 1024

const rosterSchema = z.strictObject({
  v: z.literal(1),
  records: z.array(z.string().min(1).max(MAX_RECORD_B64)).max(ROSTER_MAX_RECORDS)
})

/** rosterProtocol is the protocol id; the mesh name keeps meshes apart. */
export function rosterProtocol (mesh: string): string {
  return `/gridmesh/${mesh}/roster/1.0.0`
}

export function encodeRoster (records: readonly string[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 1, records: records.slice(0, ROSTER_MAX_RECORDS) }))
}

/** decodeRoster is total: null for anything that is not a well-formed roster. */
export function decodeRoster (bytes: Uint8Array): string[] | null {
  if (bytes.length > ROSTER_MAX_BYTES) return null
  try {
    const parsed = rosterSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)))
    return parsed.success ? parsed.data.records : null
  } catch { return null }
}

/** serveRoster answers roster requests with `provide()`; returns the unregister function. */
export async function serveRoster (libp2p: Libp2p, mesh: string, provide: () => string[], log: Logger): Promise<() => Promise<void>> {
  const protocol = rosterProtocol(mesh)
  await libp2p.handle(protocol, async (stream) => {
    try {
      const lp = lpStream(stream, { maxDataLength: ROSTER_MAX_BYTES })
      await lp.write(encodeRoster(provide()), { signal: AbortSignal.timeout(5_000) })
      await stream.close()
    } catch (err) {
      log.debug({ err }, 'roster request failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  })
  return async () => { await libp2p.unhandle(protocol) }
}

/** fetchRoster asks a connected peer for its roster; null on any failure (the caller falls back to gossip). */
export async function fetchRoster (libp2p: Libp2p, mesh: string, peer: string, timeoutMs = 5_000): Promise<string[] | null> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const stream = await libp2p.dialProtocol(peerIdFromString(peer), rosterProtocol(mesh), { signal })
    const lp = lpStream(stream, { maxDataLength: ROSTER_MAX_BYTES })
    const data = await lp.read({ signal })
    await stream.close({ signal }).catch(() => {})
    return decodeRoster(data.subarray())
  } catch {
    return null
  }
}
