/**
 * libp2p private-network keys in the go-ipfs swarm key file format (what
 * @libp2p/pnet reads): exactly
 *
 *   /key/swarm/psk/1.0.0/\n/base16/\n<64 hex chars>[\n]
 *
 * The file is a secret shared by every node of the mesh, so it gets the key
 * file rules: refused when group/world accessible (KEY_PERMISSIONS).
 */
import { randomBytes } from 'node:crypto'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { isErrno, readFileIfExists } from './atomic-file.ts'
import { assertPrivateFile } from './permissions.ts'

const SWARM_KEY_RE = /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n?$/i

/** generateSwarmKey returns a new swarm key file text (32 random bytes; 95 bytes, as go-ipfs writes it). */
export function generateSwarmKey (): string {
  return `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}`
}

/** parseSwarmKey checks the text and returns it as bytes for createMeshNode's `psk`. */
export function parseSwarmKey (text: string, path: string): Uint8Array {
  if (!SWARM_KEY_RE.test(text)) {
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID,
      `psk file ${path} is not a swarm key (expected "/key/swarm/psk/1.0.0/", "/base16/" and 64 hex chars on three lines); create one with \`gridmesh psk generate --out FILE\``, { path })
  }
  // pnet wants exactly the three lines, without a trailing newline.
  // Lower case: pnet's base16 decoder refuses upper-case hex.
  return new TextEncoder().encode(text.replace(/\n$/, '').toLowerCase())
}

/** loadSwarmKey reads, permission-checks and parses a swarm key file. */
export async function loadSwarmKey (path: string): Promise<Uint8Array> {
  let file
  try {
    file = await readFileIfExists(path)
  } catch (err) {
    const code = isErrno(err, 'EACCES') ? 'EACCES' : (err as NodeJS.ErrnoException).code ?? 'error'
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `cannot read psk file ${path} (${code}); check --psk-file`, { path }, { cause: err })
  }
  if (file === null) throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `psk file ${path} does not exist; check --psk-file or create one with \`gridmesh psk generate --out ${path}\``, { path })
  assertPrivateFile(path, file.stats)
  return parseSwarmKey(file.data.toString('utf8'), path)
}
