/**
 * Wire format of link probes: exactly 16 bytes.
 *
 *   byte 0      kind: 1 = probe, 2 = echo
 *   bytes 1..7  nonce (56 bits, random per prober + counter)
 *   bytes 8..15 sender's send time, float64 big-endian ms (informational)
 *
 * The kind byte is part of the 8-byte nonce field. It exists so an echo that
 * arrives after its probe timed out is recognised and dropped; without it the
 * late echo would look like a fresh probe, be echoed back, and two nodes
 * could bounce one datagram forever.
 */

/** Size of every probe datagram. */
export const PROBE_SIZE = 16

/** Datagram kinds. */
export const ProbeKind = { PROBE: 1, ECHO: 2 } as const
export type ProbeKindValue = typeof ProbeKind[keyof typeof ProbeKind]

/** A decoded probe datagram. `nonce` is a 14-hex-digit string, usable as a map key. */
export interface ProbePacket {
  readonly kind: ProbeKindValue
  readonly nonce: string
  readonly sentAt: number
}

/** encodeProbe builds a datagram; `nonce` must be 14 hex digits. */
export function encodeProbe (p: ProbePacket): Buffer {
  const buf = Buffer.alloc(PROBE_SIZE)
  buf[0] = p.kind
  buf.write(p.nonce, 1, 7, 'hex')
  buf.writeDoubleBE(p.sentAt, 8)
  return buf
}

/** decodeProbe parses a datagram, or returns null for anything that is not exactly a probe or echo. */
export function decodeProbe (buf: Uint8Array): ProbePacket | null {
  if (buf.length !== PROBE_SIZE) return null
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const kind = b[0]
  if (kind !== ProbeKind.PROBE && kind !== ProbeKind.ECHO) return null
  return { kind, nonce: b.toString('hex', 1, 8), sentAt: b.readDoubleBE(8) }
}

/** echoOf turns a received probe into its echo: same nonce and send time, kind flipped. */
export function echoOf (buf: Uint8Array): Buffer {
  const out = Buffer.from(buf)
  out[0] = ProbeKind.ECHO
  return out
}
