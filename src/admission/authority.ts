/**
 * The mesh authority: an offline Ed25519 key that vouches for join tokens and
 * signs revocations. Its public half, with the mesh name, is the mesh's
 * public identity, the "authority id" every node is configured with:
 *
 *   gm1:<mesh>:<base64url(libp2p public key protobuf)>
 *
 * On disk (written by `gridmesh mesh init`): `<dir>/authority.key`, the
 * private key in libp2p's protobuf encoding (0600, dir 0700, never
 * overwritten), and `<dir>/authority.id`, the id text. The id file lets
 * `invite`/`revoke` refuse a `--mesh` that does not belong to the key.
 */
import { join, dirname } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey, Ed25519PublicKey } from '@libp2p/interface'
import { GridmeshError, ErrorCodes, isGridmeshError } from '../errors.ts'
import { isErrno, readFileIfExists, writeFileAtomic } from '../keys/atomic-file.ts'
import { assertPrivateFile, ensurePrivateDir } from '../keys/permissions.ts'
import { MESH_NAME_RE, decodeEd25519PrivateKey, fromBase64url, toBase64url } from './codec.ts'

/** File name of the authority private key inside the `mesh init --out` dir. */
export const AUTHORITY_KEY_FILE = 'authority.key'
/** File name of the public authority id next to it. */
export const AUTHORITY_ID_FILE = 'authority.id'
/** Version prefix of an authority id string. */
export const AUTHORITY_ID_PREFIX = 'gm1'

/** A parsed authority id: the mesh and the key every token must be signed by. */
export interface AuthorityId {
  readonly mesh: string
  readonly publicKey: Ed25519PublicKey
  /** The canonical `gm1:…` text. */
  readonly text: string
}

/** formatAuthorityId renders the `gm1:<mesh>:<key>` string of a mesh authority. */
export function formatAuthorityId (mesh: string, publicKey: Ed25519PublicKey): string {
  return `${AUTHORITY_ID_PREFIX}:${mesh}:${toBase64url(publicKeyToProtobuf(publicKey))}`
}

/** parseAuthorityId parses a `gm1:` string; throws CONFIG_INVALID (it comes from config) with one clear line. */
export function parseAuthorityId (s: string): AuthorityId {
  const bad = (why: string): GridmeshError => new GridmeshError(ErrorCodes.CONFIG_INVALID,
    `authority ${JSON.stringify(s.slice(0, 80))} is not a mesh authority id (${why}); copy the gm1:<mesh>:<key> line printed by \`gridmesh mesh init\``)
  if (typeof s !== 'string' || s.length > 256) throw bad('too long')
  const [prefix, mesh, key, extra] = s.trim().split(':')
  if (prefix !== AUTHORITY_ID_PREFIX || mesh === undefined || key === undefined || extra !== undefined) throw bad('expected gm1:<mesh>:<key>')
  if (!MESH_NAME_RE.test(mesh)) throw bad('invalid mesh name')
  const bytes = fromBase64url(key)
  if (bytes === null) throw bad('key is not base64url')
  let publicKey
  try {
    publicKey = publicKeyFromProtobuf(bytes)
  } catch {
    throw bad('key does not decode')
  }
  if (publicKey.type !== 'Ed25519') throw bad('key is not Ed25519')
  const text = formatAuthorityId(mesh, publicKey)
  if (text !== s.trim()) throw bad('non-canonical key encoding')
  return { mesh, publicKey, text }
}

/**
 * createAuthority generates a new authority key in `dir` (created 0700) for
 * `mesh` and writes authority.key (0600) and authority.id. Refuses with
 * CONFIG_INVALID when a key already exists: overwriting would orphan every
 * node of the mesh.
 */
export async function createAuthority (dir: string, mesh: string): Promise<{ key: Ed25519PrivateKey, id: AuthorityId, keyFile: string }> {
  if (!MESH_NAME_RE.test(mesh)) throw invalidMesh(mesh)
  const keyFile = join(dir, AUTHORITY_KEY_FILE)
  return await withFsErrors(keyFile, async () => {
    await ensurePrivateDir(dir)
    if (await readFileIfExists(keyFile) !== null) {
      throw new GridmeshError(ErrorCodes.CONFIG_INVALID,
        `${keyFile} already exists; refusing to overwrite a mesh authority key (choose another --out dir)`, { path: keyFile })
    }
    const key = await generateKeyPair('Ed25519')
    await writeFileAtomic(keyFile, privateKeyToProtobuf(key))
    const id = parseAuthorityId(formatAuthorityId(mesh, key.publicKey))
    await writeFileAtomic(join(dir, AUTHORITY_ID_FILE), `${id.text}\n`)
    return { key, id, keyFile }
  })
}

/**
 * loadAuthority reads the authority key at `keyFile` for `mesh`. Missing file
 * → CONFIG_INVALID; group/world-readable → KEY_PERMISSIONS; undecodable →
 * KEY_CORRUPT; an authority.id beside it naming another mesh or key →
 * CONFIG_INVALID.
 */
export async function loadAuthority (keyFile: string, mesh: string): Promise<{ key: Ed25519PrivateKey, id: AuthorityId }> {
  if (!MESH_NAME_RE.test(mesh)) throw invalidMesh(mesh)
  return await withFsErrors(keyFile, async () => {
    const file = await readFileIfExists(keyFile)
    if (file === null) {
      throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `authority key ${keyFile} not found; pass the authority.key written by \`gridmesh mesh init\``, { path: keyFile })
    }
    assertPrivateFile(keyFile, file.stats)
    const key = await decodeAuthorityKey(keyFile, file.data)
    const id = parseAuthorityId(formatAuthorityId(mesh, key.publicKey))
    const sibling = await readFileIfExists(join(dirname(keyFile), AUTHORITY_ID_FILE))
    const recorded = sibling?.data.toString('utf8').trim()
    if (recorded !== undefined && recorded !== id.text) {
      throw new GridmeshError(ErrorCodes.CONFIG_INVALID,
        `authority key ${keyFile} does not belong to mesh ${mesh} (its ${AUTHORITY_ID_FILE} says ${recorded.split(':')[1] ?? '?'}); check --mesh`, { path: keyFile })
    }
    return { key, id }
  })
}

/** Insists on the canonical encoding of a self-consistent Ed25519 key, like the node key store does. */
async function decodeAuthorityKey (path: string, data: Buffer): Promise<Ed25519PrivateKey> {
  const key = await decodeEd25519PrivateKey(data)
  if (typeof key === 'string') {
    throw new GridmeshError(ErrorCodes.KEY_CORRUPT, `authority key ${path} is corrupt (${key}); restore it from your offline backup`, { path })
  }
  return key
}

function invalidMesh (mesh: string): GridmeshError {
  return new GridmeshError(ErrorCodes.USAGE, `mesh name ${JSON.stringify(mesh)} is invalid: 1-63 chars of a-z 0-9 . _ - starting with a letter or digit`)
}

/** Keeps GridmeshErrors; an OS refusal is a permissions problem the admin fixes, anything else a clear line. */
async function withFsErrors<T> (path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (isGridmeshError(err) || !(err instanceof Error)) throw err
    const denied = isErrno(err, 'EACCES') || isErrno(err, 'EPERM') || isErrno(err, 'EROFS')
    throw new GridmeshError(denied ? ErrorCodes.KEY_PERMISSIONS : ErrorCodes.CONFIG_INVALID,
      `cannot use authority key ${path}: ${err.message}`, { path }, { cause: err })
  }
}
