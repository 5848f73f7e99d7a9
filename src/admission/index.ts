/**
 * @packageDocumentation
 * Closed meshes, the pure core: an offline mesh authority vouches for join
 * tokens; a node holding a token issues its own short-lived membership
 * certificate; the authority signs revocations. This module owns the
 * formats, signing and verification (and the small token/authority files).
 * It must not touch the network, the DHT or WireGuard: the daemon wires it in.
 */
export { ADMISSION_REJECT_REASONS, admissionInvalid } from './codec.ts'
export type { AdmissionRejectReason, AdmissionInvalidMeta } from './codec.ts'
export { parseDuration, formatDuration } from './duration.ts'
export { AUTHORITY_KEY_FILE, AUTHORITY_ID_FILE, createAuthority, loadAuthority, formatAuthorityId, parseAuthorityId } from './authority.ts'
export type { AuthorityId } from './authority.ts'
export {
  TOKEN_KIND, MAX_TOKEN_CHARS, MAX_TOKEN_LIFETIME_MS, MAX_CERT_TTL_MS, createToken, encodeToken, decodeToken, verifyToken, verifyTokenClaims,
  memberUntilOf
} from './token.ts'
export type { JoinToken, TokenClaims, VerifiedTokenClaims, TrustAnchor, CreateTokenInit } from './token.ts'
export { TOKEN_FILE, saveToken, loadToken } from './token-store.ts'
export { REDEMPTION_KIND, MAX_REDEMPTION_BYTES, redeemToken, verifyRedemption } from './redemption.ts'
export type { Redemption } from './redemption.ts'
export {
  CERT_KIND, MAX_CERT_BYTES, CLOCK_SKEW_MS, issueCertificate, issueMemberCertificate, verifyCertificate, needsRenewal, renewalTtl, memberCertTtl
} from './certificate.ts'
export type { Certificate, IssueInit, IssueMemberInit, VerifyCertificateOptions } from './certificate.ts'
export {
  REVOCATION_KIND, MAX_REVOCATION_BYTES, createRevocation, encodeRevocation, verifyRevocation, revocationKey, parseRevocationKey, revocationIdOf
} from './revocation.ts'
export type { Revocation, RevocationTarget } from './revocation.ts'
export { RevocationSet, MAX_REVOCATIONS } from './revocation-set.ts'
export type { RevocationSetJson, AddResult } from './revocation-set.ts'
