/**
 * Our own record, decided: which endpoints we publish (or why we cannot
 * start), the payload we sign, how long it lives, and when a closed mesh's
 * certificate must be (re)issued. Pure; the record publisher
 * (src/daemon/own-record-source.ts) persists the seq, signs and publishes.
 */
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { needsRenewal } from '../admission/certificate.ts'
import { dialableAddrs } from './transport.ts'
import { ownEndpoints } from './own-endpoints.ts'
import type { Certificate } from '../admission/certificate.ts'
import type { NodeRecordPayload } from './record.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'

/** Records live 3 republish intervals, so two lost republishes never drop a member. */
export const REPUBLISH_MS = 10 * 60_000
/** How often a closed-mesh node checks whether its certificate needs renewing. */
export const CERT_CHECK_MS = 30_000

/**
 * publishableEndpoints is what we publish as WireGuard endpoints; a node
 * with none cannot be reached, so it is a config error (exit 2) naming the fix.
 */
export function publishableEndpoints (init: {
  announce: readonly string[], listenAddrs: readonly string[], wgPort: number, meshPrefix: Ipv6Prefix, listen: string
}): string[] {
  const endpoints = ownEndpoints(init.announce, init.listenAddrs, init.wgPort, init.meshPrefix)
  if (endpoints.length === 0) {
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `no underlay address to publish from ${init.listen}; listen on a routable address or set --announce HOST:PORT`)
  }
  return endpoints
}

/** The payload of our record; it never outlives its certificate (nobody would accept it past that). */
export function ownRecordPayload (init: {
  mesh: string, peerId: string, wgPublicKey: string, endpoints: readonly string[], listenAddrs: readonly string[],
  prefix: Ipv6Prefix, seq: number, now: number, cert: { b64: string, expiresAt: number } | null
}): NodeRecordPayload {
  const expiresAt = Math.min(init.now + 3 * REPUBLISH_MS, init.cert?.expiresAt ?? Number.MAX_SAFE_INTEGER)
  return {
    v: 1, mesh: init.mesh, peerId: init.peerId, wgPublicKey: init.wgPublicKey, endpoints: [...init.endpoints],
    addrs: dialableAddrs(init.listenAddrs).slice(0, 8), prefix: init.prefix, seq: init.seq, expiresAt,
    ...(init.cert === null ? {} : { cert: init.cert.b64 })
  }
}

/** The part of a certificate the renewal decisions read. */
export type CertFacts = Pick<Certificate, 'prefix' | 'issuedAt' | 'expiresAt'> & { readonly redeemedAt?: number }

/**
 * certificateDue: issue one when we have none, when our /64 moved (the
 * certificate binds it: after a collision move the old one would get every
 * record refused as cert-mismatch), when our membership changed (a reload
 * redeemed a new token: `redeemedAt` of the current redemption), or when a
 * third of its lifetime is left.
 */
export function certificateDue (cert: CertFacts | null, prefix: Ipv6Prefix, now: number, redeemedAt?: number): boolean {
  if (cert === null || cert.prefix !== prefix || needsRenewal(cert, now)) return true
  return redeemedAt !== undefined && cert.redeemedAt !== undefined && cert.redeemedAt !== redeemedAt
}

/** renewalDue: the periodic check's question — is it time to republish with a fresh certificate? */
export function renewalDue (cert: CertFacts | null, prefix: Ipv6Prefix, now: number, redeemedAt?: number): boolean {
  return cert !== null && certificateDue(cert, prefix, now, redeemedAt)
}

/** certCheckMs: how often to look at our certificate: a sixth of its longest lifetime, between 1 s and 30 s. */
export function certCheckMs (maxCertTtlMs: number): number {
  return Math.max(1000, Math.min(CERT_CHECK_MS, Math.floor(maxCertTtlMs / 6)))
}
