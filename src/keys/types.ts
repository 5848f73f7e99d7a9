/**
 * Key types. Raw strings never travel through the core: a WireGuard key is a
 * branded base64 string created only by the parse functions in wg-key.ts.
 */

/** A WireGuard (X25519) public key, 44-char standard base64 of 32 bytes. */
export type WgPublicKey = string & { readonly __brand: 'WgPublicKey' }

/** A WireGuard (X25519) private key, 44-char standard base64 of 32 bytes. Never logged. */
export type WgPrivateKey = string & { readonly __brand: 'WgPrivateKey' }

export interface WgKeyPair {
  readonly privateKey: WgPrivateKey
  readonly publicKey: WgPublicKey
}

/** A PeerId in its string form (base58btc, or a base32 CID): the name of a member everywhere in gridmesh. */
export type PeerIdString = string
