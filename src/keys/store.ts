/**
 * The on-disk identity: `<stateDir>/libp2p.key` (the libp2p Ed25519 key in
 * libp2p's protobuf encoding; it defines the PeerId) and
 * `<stateDir>/wireguard.key` (the WireGuard private key as base64 plus a
 * newline, exactly what `wg genkey` prints). Created on first start, reused
 * on every restart. Both files are checked before anything is written; a key
 * file that exists but cannot be used is an error, never a reason to make a
 * new identity. Key material never appears in errors.
 */
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { decodeEd25519PrivateKey } from './ed25519-key.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { GridmeshError, ErrorCodes, isGridmeshError } from '../errors.ts'
import { readFileIfExists, writeFileAtomic } from './atomic-file.ts'
import type { ReadFile } from './atomic-file.ts'
import { assertPrivateFile, ensurePrivateDir } from './permissions.ts'
import { generateWgKeyPair, parseWgPrivateKey, wgPublicKeyFromPrivate } from './wg-key.ts'
import type { WgKeyPair } from './types.ts'

/** File name of the libp2p identity key inside the state dir. */
export const LIBP2P_KEY_FILE = 'libp2p.key'

/** File name of the WireGuard private key inside the state dir. */
export const WG_KEY_FILE = 'wireguard.key'

/** A node's long-lived identity: the libp2p key (and its PeerId) and the WireGuard key pair. */
export interface Identity {
  /** Signs records and authenticates libp2p connections. Never logged. */
  readonly libp2pKey: Ed25519PrivateKey
  /** The base58 PeerId string derived from libp2pKey. */
  readonly peerId: string
  readonly wg: WgKeyPair
}

const PERMISSION_ERRNOS: ReadonlySet<string> = new Set(['EACCES', 'EPERM', 'EROFS'])

/**
 * loadOrCreateIdentity returns the identity stored in `stateDir`, creating
 * the dir (0700) and whichever key file is missing (0600, atomic write).
 * Throws KEY_PERMISSIONS for a dir/file others can access, KEY_CORRUPT for an
 * unusable key file, NOT_PERMITTED when the OS refuses access.
 */
export async function loadOrCreateIdentity (stateDir: string): Promise<Identity> {
  try {
    return await loadOrCreate(stateDir)
  } catch (err) {
    throw asGridmeshError(err, stateDir)
  }
}

async function loadOrCreate (stateDir: string): Promise<Identity> {
  await ensurePrivateDir(stateDir)
  const libp2pPath = join(stateDir, LIBP2P_KEY_FILE)
  const wgPath = join(stateDir, WG_KEY_FILE)
  const libp2pFile = await readKeyFile(libp2pPath)
  const wgFile = await readKeyFile(wgPath)
  const existingLibp2p = libp2pFile === null ? null : await decodeLibp2pKey(libp2pPath, libp2pFile.data)
  const existingWg = wgFile === null ? null : decodeWgKey(wgPath, wgFile.data)
  const libp2pKey = existingLibp2p ?? await createLibp2pKey(libp2pPath)
  const wg = existingWg ?? await createWgKey(wgPath)
  return { libp2pKey, peerId: peerIdFromPrivateKey(libp2pKey).toString(), wg }
}

async function readKeyFile (path: string): Promise<ReadFile | null> {
  const file = await readFileIfExists(path)
  if (file !== null) assertPrivateFile(path, file.stats)
  return file
}

/** Decodes libp2p.key, insisting on the exact canonical encoding of a self-consistent Ed25519 key. */
async function decodeLibp2pKey (path: string, data: Buffer): Promise<Ed25519PrivateKey> {
  const key = await decodeEd25519PrivateKey(data)
  if (typeof key === 'string') throw corrupt(path, key, 'PeerId')
  return key
}

function decodeWgKey (path: string, data: Buffer): WgKeyPair {
  let privateKey
  try {
    privateKey = parseWgPrivateKey(data.toString('utf8').trimEnd())
  } catch (err) {
    throw corrupt(path, 'not a base64 WireGuard private key', 'WireGuard public key', err)
  }
  return { privateKey, publicKey: wgPublicKeyFromPrivate(privateKey) }
}

async function createLibp2pKey (path: string): Promise<Ed25519PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  await writeFileAtomic(path, privateKeyToProtobuf(key))
  return key
}

async function createWgKey (path: string): Promise<WgKeyPair> {
  const pair = generateWgKeyPair()
  await writeFileAtomic(path, `${pair.privateKey}\n`)
  return pair
}

function corrupt (path: string, reason: string, changes: string, cause?: unknown): GridmeshError {
  return new GridmeshError(ErrorCodes.KEY_CORRUPT,
    `key file ${path} is corrupt (${reason}); restore it from a backup, or move it away to create a new one (this changes the node's ${changes})`,
    { path }, { cause })
}

/** Keeps GridmeshErrors; turns fs errors into one clear line (their messages name paths, never keys). */
function asGridmeshError (err: unknown, stateDir: string): unknown {
  if (isGridmeshError(err) || !(err instanceof Error)) return err
  const errno = (err as NodeJS.ErrnoException).code ?? ''
  const code = PERMISSION_ERRNOS.has(errno) ? ErrorCodes.NOT_PERMITTED : ErrorCodes.INTERNAL
  return new GridmeshError(code,
    `cannot use state dir ${stateDir}: ${err.message}; check the path and that gridmesh runs as the user owning it`,
    { path: stateDir }, { cause: err })
}
