/**
 * Decoding a stored Ed25519 private key (libp2p protobuf) strictly: Ed25519
 * only, canonical bytes, and a public half that really belongs to the seed —
 * libp2p trusts the stored public half, so a flipped bit in the seed would
 * otherwise give a key whose signatures never verify. Used for the node's
 * identity and for admission keys (authority, join tokens).
 */
import { generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'

const ED25519_SEED_BYTES = 32

/** decodeEd25519PrivateKey returns the key, or a description of what is wrong with the bytes. Never throws. */
export async function decodeEd25519PrivateKey (bytes: Uint8Array): Promise<Ed25519PrivateKey | string> {
  let key
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch {
    return 'not a libp2p private key'
  }
  if (key.type !== 'Ed25519') return `a ${key.type} key, expected Ed25519`
  if (!Buffer.from(privateKeyToProtobuf(key)).equals(bytes)) return 'trailing or non-canonical bytes'
  const rederived = await generateKeyPairFromSeed('Ed25519', key.raw.subarray(0, ED25519_SEED_BYTES))
  if (!rederived.publicKey.equals(key.publicKey)) return 'public half does not match private half'
  return key
}
