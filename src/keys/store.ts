/**
 * The on-disk identity: `<stateDir>/libp2p.key` (the libp2p Ed25519 key in
 * libp2p's protobuf encoding; it defines the PeerId),
 * `<stateDir>/wireguard.key` (the WireGuard private key as base64 plus a
 * newline, exactly what `wg genkey` prints) and `<stateDir>/identity.pub`
 * (the PeerId and WireGuard public key those keys must give: their integrity
 * check). Created on first start, reused on every restart.
 *
 * - A key file that exists but cannot be used, or gives another public key
 *   than identity.pub records (a flipped bit that still decodes), is an
 *   error, never a reason to run as someone else.
 * - A missing key file while the state dir records an identity (identity.pub
 *   or state.json) is an error that says how to reset on purpose.
 * - Key files are opened with O_NOFOLLOW and checked (regular, 0600, ours)
 *   on the opened descriptor.
 * - Creation is race-free: each file appears with link(2), which never
 *   replaces, so two daemons starting on one fresh dir end with one identity
 *   and both use what is on disk. identity.pub is written last; a state dir
 *   from before it gets one on its first load.
 * Key material never appears in errors.
 */
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { decodeEd25519PrivateKey } from './ed25519-key.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { GridmeshError, ErrorCodes, isGridmeshError } from '../errors.ts'
import { createFileExclusive, isErrno, readFileIfExists } from './atomic-file.ts'
import type { ReadFile } from './atomic-file.ts'
import { assertPrivateFile, ensurePrivateDir } from './permissions.ts'
import { generateWgKeyPair, parseWgPrivateKey, wgPublicKeyFromPrivate } from './wg-key.ts'
import type { WgKeyPair } from './types.ts'

/** File name of the libp2p identity key inside the state dir. */
export const LIBP2P_KEY_FILE = 'libp2p.key'

/** File name of the WireGuard private key inside the state dir. */
export const WG_KEY_FILE = 'wireguard.key'

/** File name of the identity's public half (the key files' integrity check). */
export const IDENTITY_FILE = 'identity.pub'

/** state.json: its presence means the node already ran with an identity. */
const NODE_STATE_FILE = 'state.json'

/** A node's long-lived identity: the libp2p key (and its PeerId) and the WireGuard key pair. */
export interface Identity {
  /** Signs records and authenticates libp2p connections. Never logged. */
  readonly libp2pKey: Ed25519PrivateKey
  /** The base58 PeerId string derived from libp2pKey. */
  readonly peerId: string
  readonly wg: WgKeyPair
}

const PERMISSION_ERRNOS: ReadonlySet<string> = new Set(['EACCES', 'EPERM', 'EROFS'])

/** What identity.pub records. */
interface PublicIdentity { peerId: string, wgPublicKey: string }

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

/**
 * ensureStateDir creates (0700) or checks the state dir alone, so the daemon
 * can lock it before the identity is created in it. Same errors as below.
 */
export async function ensureStateDir (stateDir: string): Promise<void> {
  try {
    await ensurePrivateDir(stateDir)
  } catch (err) {
    throw asGridmeshError(err, stateDir)
  }
}

async function loadOrCreate (stateDir: string): Promise<Identity> {
  await ensurePrivateDir(stateDir)
  const libp2pPath = join(stateDir, LIBP2P_KEY_FILE)
  const wgPath = join(stateDir, WG_KEY_FILE)
  const idPath = join(stateDir, IDENTITY_FILE)
  const recorded = await readPublicIdentity(idPath)
  const libp2pFile = await readKeyFile(libp2pPath)
  const wgFile = await readKeyFile(wgPath)
  const existingLibp2p = libp2pFile === null ? null : await decodeLibp2pKey(libp2pPath, libp2pFile.data)
  const existingWg = wgFile === null ? null : decodeWgKey(wgPath, wgFile.data)
  if (existingLibp2p === null || existingWg === null) {
    const named = recorded !== null ? idPath : await hasFile(join(stateDir, NODE_STATE_FILE)) ? join(stateDir, NODE_STATE_FILE) : null
    if (named !== null) throw missingKey(stateDir, existingLibp2p === null ? libp2pPath : wgPath, named, recorded)
  }
  const libp2pKey = existingLibp2p ?? await createLibp2pKey(libp2pPath)
  const wg = existingWg ?? await createWgKey(wgPath)
  const identity = { libp2pKey, peerId: peerIdFromPrivateKey(libp2pKey).toString(), wg }
  const mine: PublicIdentity = { peerId: identity.peerId, wgPublicKey: wg.publicKey }
  const expected = recorded ?? await recordPublicIdentity(idPath, mine)
  if (expected.wgPublicKey !== mine.wgPublicKey) throw corrupt(wgPath, `its public key is not the one ${idPath} records`, 'WireGuard public key')
  if (expected.peerId !== mine.peerId) throw corrupt(libp2pPath, `its PeerId is not the one ${idPath} records`, 'PeerId')
  return identity
}

async function readKeyFile (path: string): Promise<ReadFile | null> {
  const file = await readFileIfExists(path, { noFollow: true }).catch((err: unknown) => {
    if (isErrno(err, 'ELOOP')) {
      throw new GridmeshError(ErrorCodes.KEY_PERMISSIONS, `key file ${path} is a symbolic link; gridmesh reads key files only in place: replace the link with the file itself`, { path })
    }
    throw err
  })
  if (file !== null) assertPrivateFile(path, file.stats)
  return file
}

async function hasFile (path: string): Promise<boolean> {
  return await readFileIfExists(path, { noFollow: true }).then(f => f !== null, () => true)
}

/** readPublicIdentity reads identity.pub, or null when absent (a state dir from before it). */
async function readPublicIdentity (path: string): Promise<PublicIdentity | null> {
  const file = await readKeyFile(path)
  if (file === null) return null
  try {
    const v = JSON.parse(file.data.toString('utf8')) as Partial<PublicIdentity>
    if (typeof v.peerId === 'string' && typeof v.wgPublicKey === 'string') return { peerId: v.peerId, wgPublicKey: v.wgPublicKey }
  } catch {}
  throw new GridmeshError(ErrorCodes.KEY_CORRUPT,
    `${path} is corrupt; restore it from a backup, or move it away to have it rewritten from the key files on the next start`, { path })
}

/** recordPublicIdentity writes identity.pub unless another process just did; returns what the file now says. */
async function recordPublicIdentity (path: string, mine: PublicIdentity): Promise<PublicIdentity> {
  if (await createFileExclusive(path, `${JSON.stringify(mine)}\n`)) return mine
  return await readPublicIdentity(path) ?? mine
}

function missingKey (stateDir: string, path: string, namedBy: string, recorded: PublicIdentity | null): GridmeshError {
  const who = recorded === null ? 'an identity' : `PeerId ${recorded.peerId}`
  return new GridmeshError(ErrorCodes.KEY_CORRUPT,
    `key file ${path} is missing but ${namedBy} records ${who}; restore the key from a backup, or to start as a new node on purpose move the state dir away (or delete ${join(stateDir, '{libp2p.key,wireguard.key,identity.pub,state.json}')})`,
    { path })
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

/** createLibp2pKey creates libp2p.key, or reads the one a concurrent start created first. */
async function createLibp2pKey (path: string): Promise<Ed25519PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  if (await createFileExclusive(path, privateKeyToProtobuf(key))) return key
  const file = await readKeyFile(path)
  if (file === null) throw corrupt(path, 'it vanished while being created', 'PeerId')
  return await decodeLibp2pKey(path, file.data)
}

/** createWgKey creates wireguard.key, or reads the one a concurrent start created first. */
async function createWgKey (path: string): Promise<WgKeyPair> {
  const pair = generateWgKeyPair()
  if (await createFileExclusive(path, `${pair.privateKey}\n`)) return pair
  const file = await readKeyFile(path)
  if (file === null) throw corrupt(path, 'it vanished while being created', 'WireGuard public key')
  return decodeWgKey(path, file.data)
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
