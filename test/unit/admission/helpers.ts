/** Fixtures for the admission tests: authorities, tokens, raw sealing (the attacker's toolbox). */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { isGridmeshError } from '../../../src/errors.ts'
import { CERT_KIND } from '../../../src/admission/certificate.ts'
import { sealJson, toBase64url } from '../../../src/admission/codec.ts'
import { createToken } from '../../../src/admission/token.ts'
import type { JoinToken } from '../../../src/admission/token.ts'
import type { WgPublicKey } from '../../../src/keys/types.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'

export const MESH = 'testmesh'
export const NOW = 1_700_000_000_000
export const HOUR = 3_600_000
export const DAY = 24 * HOUR
export const WG = 'q2Ahv8bq8Dd1VZJkpsPj5nRSfnDP6sWy7jUIxt9rV1I=' as WgPublicKey
export const PREFIX = 'fd5e:1a2b:3c4d:12::/64' as Ipv6Prefix

/** A fresh PeerId string. */
export async function newPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

/** A fresh authority key. */
export async function newAuthority (): Promise<Ed25519PrivateKey> {
  return await generateKeyPair('Ed25519')
}

/** A token issued at NOW for 7 days, certs up to 24 h, with overrides. */
export async function newToken (authority: Ed25519PrivateKey, over: { mesh?: string, peerId?: string | null, lifetimeMs?: number, maxCertTtlMs?: number } = {}): Promise<JoinToken> {
  return await createToken({
    authority,
    mesh: over.mesh ?? MESH,
    now: NOW,
    lifetimeMs: over.lifetimeMs ?? 7 * DAY,
    peerId: over.peerId ?? null,
    maxCertTtlMs: over.maxCertTtlMs ?? DAY
  })
}

/** Seals any certificate payload with any key, skipping issueCertificate's own refusals. */
export async function rawCert (token: JoinToken, over: Record<string, unknown>, key: Ed25519PrivateKey = token.privateKey): Promise<Uint8Array> {
  return await sealJson(CERT_KIND, {
    v: 1,
    mesh: token.claims.mesh,
    peerId: over.peerId ?? 'missing',
    wgPublicKey: WG,
    prefix: PREFIX,
    issuedAt: NOW,
    expiresAt: NOW + HOUR,
    token: toBase64url(token.envelope),
    ...over
  }, key)
}

/** reasonOf runs `fn` and returns meta.reason of the GridmeshError it throws (fails on anything else). */
export async function reasonOf (fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
  } catch (err) {
    if (!isGridmeshError(err)) throw new Error(`expected a GridmeshError, got ${String(err)}`)
    const reason = (err.meta as { reason?: unknown } | undefined)?.reason
    return typeof reason === 'string' ? reason : `code:${err.code}`
  }
  throw new Error('expected a rejection')
}
