/**
 * WireGuard (X25519) keys with node:crypto, in the same text form as
 * `wg genkey` / `wg pubkey`: 44-char standard base64 of 32 raw bytes.
 * The parse functions are the only way to obtain a WgPublicKey/WgPrivateKey,
 * and their errors never contain key material.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import type { ErrorCode } from '../errors.ts'
import type { WgKeyPair, WgPrivateKey, WgPublicKey } from './types.ts'

/** Raw length of every X25519 key. */
export const WG_KEY_BYTES = 32

/** PKCS#8 DER header for a raw X25519 private key (RFC 8410), followed by the 32 key bytes. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')

/** generateWgKeyPair creates a fresh clamped X25519 key pair, like `wg genkey | wg pubkey`. */
export function generateWgKeyPair (): WgKeyPair {
  const jwk = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' })
  if (jwk.d === undefined) throw new GridmeshError(ErrorCodes.INTERNAL, 'node:crypto returned an X25519 key without private bytes')
  const raw = clamp(Buffer.from(jwk.d, 'base64url'))
  const privateKey = raw.toString('base64') as WgPrivateKey
  return { privateKey, publicKey: wgPublicKeyFromPrivate(privateKey) }
}

/** wgPublicKeyFromPrivate derives the public key exactly as `wg pubkey` does. */
export function wgPublicKeyFromPrivate (privateKey: WgPrivateKey): WgPublicKey {
  const der = Buffer.concat([PKCS8_X25519_PREFIX, Buffer.from(privateKey, 'base64')])
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  const { x } = createPublicKey(key).export({ format: 'jwk' })
  if (x === undefined) throw new GridmeshError(ErrorCodes.INTERNAL, 'node:crypto returned an X25519 public key without bytes')
  return Buffer.from(x, 'base64url').toString('base64') as WgPublicKey
}

/**
 * parseWgPublicKey accepts a 44-char canonical base64 string of 32 non-zero
 * bytes. Default code RECORD_INVALID: public keys usually come from peers.
 */
export function parseWgPublicKey (s: string, code: ErrorCode = ErrorCodes.RECORD_INVALID): WgPublicKey {
  if (!isWgKeyText(s)) {
    throw new GridmeshError(code, 'invalid WireGuard public key: expected 44 base64 characters encoding 32 non-zero bytes, as printed by `wg pubkey`')
  }
  return s as WgPublicKey
}

/**
 * parseWgPrivateKey accepts a 44-char canonical base64 string of 32 non-zero
 * bytes. Default code KEY_CORRUPT: private keys come from our own key file.
 */
export function parseWgPrivateKey (s: string, code: ErrorCode = ErrorCodes.KEY_CORRUPT): WgPrivateKey {
  if (!isWgKeyText(s)) {
    throw new GridmeshError(code, 'invalid WireGuard private key: expected 44 base64 characters encoding 32 non-zero bytes, as printed by `wg genkey`')
  }
  return s as WgPrivateKey
}

/** wgKeyToHex renders a key as the 64 lower-case hex characters the UAPI protocol uses. */
export function wgKeyToHex (key: WgPublicKey | WgPrivateKey): string {
  return Buffer.from(key, 'base64').toString('hex')
}

/**
 * wgPublicKeyFromHex parses a UAPI `public_key=<hex>` value (as read back
 * from a device) into a WgPublicKey. Default code DRIVER_FAILED.
 */
export function wgPublicKeyFromHex (hex: string, code: ErrorCode = ErrorCodes.DRIVER_FAILED): WgPublicKey {
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new GridmeshError(code, 'invalid WireGuard public key in hex: expected 64 lower-case hex characters')
  }
  return parseWgPublicKey(Buffer.from(hex, 'hex').toString('base64'), code)
}

/** True for canonical base64 of exactly 32 bytes that are not all zero (WireGuard's "no key"). */
function isWgKeyText (s: string): boolean {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(s)) return false
  const raw = Buffer.from(s, 'base64')
  return raw.length === WG_KEY_BYTES && raw.toString('base64') === s && raw.some((b) => b !== 0)
}

/** X25519 clamping as in `wg genkey` (RFC 7748 §5); a no-op on keys OpenSSL generated. */
function clamp (raw: Buffer): Buffer {
  if (raw.length !== WG_KEY_BYTES) throw new GridmeshError(ErrorCodes.INTERNAL, 'X25519 private key is not 32 bytes')
  raw[0] = raw[0]! & 248
  raw[31] = (raw[31]! & 127) | 64
  return raw
}
