/**
 * Derives a WireGuard public key from a private key (X25519), so the
 * invariant check can refuse a peer entry that carries the device's own key
 * (wireguard-go silently ignores such a peer, which would hide a bug).
 */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import type { WgPrivateKey, WgPublicKey } from '../keys/types.ts'

/** PKCS#8 DER header of an X25519 private key; the 32 raw key bytes follow. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')

/** wgPublicKeyOf returns the public key for `privateKey`, or null if it is not 32 base64 bytes. */
export function wgPublicKeyOf (privateKey: WgPrivateKey): WgPublicKey | null {
  const raw = Buffer.from(privateKey, 'base64')
  if (raw.length !== 32) return null
  try {
    const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' })
    const jwk = createPublicKey(key).export({ format: 'jwk' })
    if (typeof jwk.x !== 'string') return null
    return Buffer.from(jwk.x, 'base64url').toString('base64') as WgPublicKey
  } catch {
    return null
  }
}
