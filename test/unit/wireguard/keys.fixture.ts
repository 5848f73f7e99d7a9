/** Deterministic test keys: private key n is 32 bytes of value n. */
import type { WgPrivateKey, WgPublicKey } from '../../../src/keys/types.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'
import { wgPublicKeyOf } from '../../../src/wireguard/pubkey.ts'

export function priv (n: number): WgPrivateKey {
  return Buffer.alloc(32, n).toString('base64') as WgPrivateKey
}

export function pub (n: number): WgPublicKey {
  const k = wgPublicKeyOf(priv(n))
  if (k === null) throw new Error('bad test key')
  return k
}

export const p = (s: string): Ipv6Prefix => s as Ipv6Prefix
export const MESH = p('fd5e:1a2b:3c4d::/48')
