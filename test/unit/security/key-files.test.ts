/**
 * Key files (issue 19, degraded cases and attack 5): a bit flip that still
 * decodes, a deleted key file while the state dir names an identity, a key
 * file that is a symlink or owned by someone else, two starts racing on one
 * fresh state dir, and a read-only state dir.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chown, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IDENTITY_FILE, LIBP2P_KEY_FILE, WG_KEY_FILE, loadOrCreateIdentity } from '../../../src/keys/store.ts'
import { parseWgPrivateKey } from '../../../src/keys/wg-key.ts'
import { ErrorCodes, GridmeshError, exitCodeFor } from '../../../src/errors.ts'

const run = promisify(execFile)
const isRoot = process.geteuid?.() === 0

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gm-sec-keys-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

async function refused (p: Promise<unknown>, code: string, re: RegExp): Promise<GridmeshError> {
  try { await p } catch (err) {
    assert.instance(err, GridmeshError)
    const e = err as GridmeshError
    assert.is(e.code, code, e.message)
    assert.match(e.message, re)
    assert.not.match(e.message, /\n/)
    return e
  }
  throw new Error(`expected ${code}`)
}

/**
 * A one-bit flip in the base64 text that still decodes to a 32-byte key.
 * Away from the first and last bytes: X25519 clamps bits there, so a flip
 * in them gives the very same key (nothing to detect).
 */
function flipOneBit (b64: string): string {
  for (let i = 8; i < 36; i++) {
    const c = b64[i] ?? 'A'
    const alt = c === 'A' ? 'B' : c === 'B' ? 'A' : String.fromCharCode(c.charCodeAt(0) ^ 1)
    const candidate = b64.slice(0, i) + alt + b64.slice(i + 1)
    try { parseWgPrivateKey(candidate); if (candidate !== b64) return candidate } catch {}
  }
  throw new Error('no flip found')
}

test('a one-bit flip in wireguard.key that still decodes is an error, never a silently different key', () => withDir(async dir => {
  await loadOrCreateIdentity(dir)
  const path = join(dir, WG_KEY_FILE)
  const flipped = flipOneBit((await readFile(path, 'utf8')).trim())
  await writeFile(path, `${flipped}\n`, { mode: 0o600 })
  await refused(loadOrCreateIdentity(dir), ErrorCodes.KEY_CORRUPT, /wireguard\.key.*identity\.pub/)
}))

test('a state dir from before identity.pub keeps working and gets one on its first load', () => withDir(async dir => {
  const first = await loadOrCreateIdentity(dir)
  await rm(join(dir, IDENTITY_FILE))
  const second = await loadOrCreateIdentity(dir)
  assert.is(second.peerId, first.peerId)
  assert.is(second.wg.publicKey, first.wg.publicKey)
  assert.equal(JSON.parse(await readFile(join(dir, IDENTITY_FILE), 'utf8')), { peerId: first.peerId, wgPublicKey: first.wg.publicKey })
}))

for (const file of [LIBP2P_KEY_FILE, WG_KEY_FILE]) {
  test(`a deleted ${file} while the state dir names an identity is an error saying how to reset`, () => withDir(async dir => {
    const first = await loadOrCreateIdentity(dir)
    await rm(join(dir, file))
    const e = await refused(loadOrCreateIdentity(dir), ErrorCodes.KEY_CORRUPT, /missing.*move the state dir away/)
    assert.match(e.message, first.peerId)
    assert.ok(await readFile(join(dir, file)).then(() => false, () => true), 'no new key file was created')
  }))
}

test('an old state dir (no identity.pub) with state.json and a deleted key file is an error too', () => withDir(async dir => {
  await loadOrCreateIdentity(dir)
  await rm(join(dir, IDENTITY_FILE))
  await rm(join(dir, WG_KEY_FILE))
  await writeFile(join(dir, 'state.json'), '{"version":1,"seq":5,"prefix":null,"meshPrefix":null}\n', { mode: 0o600 })
  await refused(loadOrCreateIdentity(dir), ErrorCodes.KEY_CORRUPT, /state\.json/)
}))

test('a key file that is a symlink (even to another 0600 key) is refused, not read', () => withDir(async dir => {
  const other = join(dir, 'other')
  await loadOrCreateIdentity(other)
  const mine = join(dir, 'mine')
  await loadOrCreateIdentity(mine)
  await rm(join(mine, WG_KEY_FILE))
  await symlink(join(other, WG_KEY_FILE), join(mine, WG_KEY_FILE))
  await refused(loadOrCreateIdentity(mine), ErrorCodes.KEY_PERMISSIONS, /symbolic link/)
}))

test('a key file owned by another user is refused', () => withDir(async dir => {
  if (!isRoot) return
  await loadOrCreateIdentity(dir)
  await chown(join(dir, WG_KEY_FILE), 4242, 4242)
  await refused(loadOrCreateIdentity(dir), ErrorCodes.KEY_PERMISSIONS, /owned by uid 4242/)
}))

test('two starts racing on one fresh state dir end with one identity, the one on disk', async () => {
  for (let round = 0; round < 5; round++) {
    await withDir(async dir => {
      const state = join(dir, 's')
      const [a, b] = await Promise.all([loadOrCreateIdentity(state), loadOrCreateIdentity(state)])
      const disk = await loadOrCreateIdentity(state)
      assert.is(a.peerId, disk.peerId, `round ${round}`)
      assert.is(b.peerId, disk.peerId, `round ${round}`)
      assert.is(a.wg.publicKey, disk.wg.publicKey, `round ${round}`)
      assert.is(b.wg.publicKey, disk.wg.publicKey, `round ${round}`)
    })
  }
})

test('a read-only state dir gives a clear error, not ENOENT', () => withDir(async dir => {
  if (!isRoot) return
  const script = join(dir, 'load.mts')
  await writeFile(script, `import { loadOrCreateIdentity } from ${JSON.stringify(join(process.cwd(), 'src/keys/store.ts'))}
for (const d of process.argv.slice(2)) { try { await loadOrCreateIdentity(d); console.log('ok') } catch (e) { console.log((e as any).code, (e as Error).message) } }
`)
  const ro = join(dir, 'ro')
  await run('mkdir', ['-m', '700', ro])
  const { stdout } = await run('unshare', ['-m', 'sh', '-c',
    `mount --bind ${ro} ${ro} && mount -o remount,ro,bind ${ro} && exec ${process.execPath} --import tsx ${script} ${ro} ${join(ro, 'new', 'state')}`])
  const lines = stdout.trim().split('\n')
  assert.is(lines.length, 2, stdout)
  for (const l of lines) {
    assert.match(l, /^ERR_NOT_PERMITTED .*read-only file system; .*--state-dir$/)
    assert.not.match(l, /ENOENT/)
  }
  assert.is(exitCodeFor(new GridmeshError(ErrorCodes.NOT_PERMITTED, 'x')), 1)
}))

test.run()
