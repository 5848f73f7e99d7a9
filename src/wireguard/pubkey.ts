/**
 * Derives a WireGuard public key from a private key without throwing, so the
 * invariant check can refuse a peer entry that carries the device's own key
 * (wireguard-go silently ignores such a peer, which would hide a bug).
 */
import { wgPublicKeyFromPrivate } from '../keys/wg-key.ts'
import type { WgPrivateKey, WgPublicKey } from '../keys/types.ts'

/** wgPublicKeyOf returns the public key for `privateKey`, or null if it is not 32 base64 bytes. */
export function wgPublicKeyOf (privateKey: WgPrivateKey): WgPublicKey | null {
  if (Buffer.from(privateKey, 'base64').length !== 32) return null
  try { return wgPublicKeyFromPrivate(privateKey) } catch { return null }
}
