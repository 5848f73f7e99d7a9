/**
 * Closed meshes: the certificate check every accepted record goes through
 * (DHT validator, selector, gossip announces, DHT lookups, our own record).
 * A record is a member's only if it carries a certificate the mesh authority
 * vouches for (verifyCertificate, with the revocation set) AND the
 * certificate binds exactly this record: same PeerId (which decodeRecord
 * already tied to the envelope signer), same WireGuard key, same /64.
 * Without the binding a member could wrap its valid certificate around
 * someone else's key or prefix (T1, T6).
 */
import { verifyCertificate } from '../admission/certificate.ts'
import { fromBase64url } from '../admission/codec.ts'
import { recordInvalid } from './record.ts'
import type { RecordAdmission, NodeRecord } from './record.ts'
import type { TrustAnchor } from '../admission/token.ts'

/** What a closed mesh checks records against. */
export interface ClosedMeshPolicy {
  readonly anchor: TrustAnchor
  /** RevocationSet#isRevoked (or a test double): true when peer or token is revoked. */
  readonly revoked: (peerId: string, tokenId: string) => boolean
}

/** createRecordAdmission returns the closed-mesh check for decodeRecord's `admit` option. */
export function createRecordAdmission (policy: ClosedMeshPolicy): RecordAdmission {
  return async (record: NodeRecord, now: number) => {
    if (record.cert === undefined) throw recordInvalid('cert-missing', 'closed mesh: record carries no membership certificate')
    const bytes = fromBase64url(record.cert)
    if (bytes === null) throw recordInvalid('cert-malformed', 'certificate is not base64url')
    // verifyCertificate throws RECORD_INVALID with an admission reason (also in RECORD_REJECT_REASONS).
    const cert = await verifyCertificate(bytes, { ...policy.anchor, now, revoked: policy.revoked })
    if (cert.peerId !== record.peerId) throw recordInvalid('cert-mismatch', 'certificate names another peer than the record signer')
    if (cert.wgPublicKey !== record.wgPublicKey) throw recordInvalid('cert-mismatch', 'certificate names another WireGuard key')
    if (cert.prefix !== record.prefix) throw recordInvalid('cert-mismatch', 'certificate names another /64')
  }
}

/**
 * refuseOwnWgKey: a record of another peer that carries THIS node's
 * WireGuard key is refused at validation (reason 'wg-key-taken'). Without it
 * the forged peer reached the desired WireGuard config as "a peer with the
 * device's own key" and the invariant check refused every apply (attack 1).
 * Our own record (same PeerId) passes.
 */
export function refuseOwnWgKey (self: { peerId: string, wgPublicKey: string }): RecordAdmission {
  return async (record: NodeRecord) => {
    if (record.wgPublicKey === self.wgPublicKey && record.peerId !== self.peerId) {
      throw recordInvalid('wg-key-taken', 'record carries this node\'s own WireGuard key')
    }
  }
}

/** chainAdmission runs each check in order; the first refusal wins. */
export function chainAdmission (...checks: ReadonlyArray<RecordAdmission | undefined>): RecordAdmission {
  const list = checks.filter((c): c is RecordAdmission => c !== undefined)
  return async (record: NodeRecord, now: number) => {
    for (const check of list) await check(record, now)
  }
}
