import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IDENTITY_FILE, LIBP2P_KEY_FILE, WG_KEY_FILE, loadOrCreateIdentity } from '../../../src/keys/store.ts'
import { ErrorCodes, GridmeshError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'

async function withTempDir (fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'gridmesh-keys-'))
  try {
    await fn(root)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

async function rejectsWith (promise: Promise<unknown>, code: ErrorCode, mustMention: readonly string[]): Promise<GridmeshError> {
  try {
    await promise
  } catch (err) {
    assert.instance(err, GridmeshError)
    const e = err as GridmeshError
    assert.is(e.code, code, e.message)
    for (const s of mustMention) assert.ok(e.message.includes(s), `message should mention ${s}: ${e.message}`)
    assert.not.match(e.message, /\n/)
    return e
  }
  throw new Error(`expected ${code}`)
}

async function modeOf (path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

async function keyTexts (dir: string): Promise<string[]> {
  const libp2p = await readFile(join(dir, LIBP2P_KEY_FILE))
  const wg = await readFile(join(dir, WG_KEY_FILE), 'utf8')
  return [libp2p.toString('base64'), wg.trim()]
}

test('first start creates the dir 0700 and both key files 0600', () => withTempDir(async (root) => {
  const dir = join(root, 'nested', 'state')
  const id = await loadOrCreateIdentity(dir)
  assert.is(await modeOf(dir), 0o700)
  assert.is(await modeOf(join(dir, LIBP2P_KEY_FILE)), 0o600)
  assert.is(await modeOf(join(dir, WG_KEY_FILE)), 0o600)
  assert.match(id.peerId, /^12D3KooW/)
  assert.is(id.libp2pKey.type, 'Ed25519')
  assert.match(await readFile(join(dir, WG_KEY_FILE), 'utf8'), /^[A-Za-z0-9+/]{43}=\n$/)
  assert.equal((await readdir(dir)).sort(), [IDENTITY_FILE, LIBP2P_KEY_FILE, WG_KEY_FILE].sort())
}))

test('a restart returns the same PeerId and WireGuard keys and rewrites nothing', () => withTempDir(async (root) => {
  const first = await loadOrCreateIdentity(root)
  const before = await keyTexts(root)
  const second = await loadOrCreateIdentity(root)
  assert.is(second.peerId, first.peerId)
  assert.is(second.wg.publicKey, first.wg.publicKey)
  assert.is(second.wg.privateKey, first.wg.privateKey)
  assert.ok(second.libp2pKey.equals(first.libp2pKey))
  assert.equal(await keyTexts(root), before)
}))

for (const umask of [0o000, 0o277]) {
  test(`umask 0${umask.toString(8)} still gives exactly a 0700 dir and 0600 files`, () => withTempDir(async (root) => {
    const previous = process.umask(umask)
    try {
      const dir = join(root, 'state')
      await loadOrCreateIdentity(dir)
      assert.is(await modeOf(dir), 0o700)
      assert.is(await modeOf(join(dir, LIBP2P_KEY_FILE)), 0o600)
      assert.is(await modeOf(join(dir, WG_KEY_FILE)), 0o600)
    } finally {
      process.umask(previous)
    }
  }))
}

for (const file of [LIBP2P_KEY_FILE, WG_KEY_FILE]) {
  for (const mode of [0o644, 0o640, 0o604, 0o620]) {
    test(`${file} with mode 0${mode.toString(8)} is refused with the chmod 600 fix`, () => withTempDir(async (root) => {
      await loadOrCreateIdentity(root)
      const path = join(root, file)
      await chmod(path, mode)
      await rejectsWith(loadOrCreateIdentity(root), ErrorCodes.KEY_PERMISSIONS, [path, `chmod 600 ${path}`])
    }))
  }
}

for (const mode of [0o755, 0o750, 0o701, 0o770]) {
  test(`a state dir with mode 0${mode.toString(8)} is refused with the chmod 700 fix`, () => withTempDir(async (root) => {
    const dir = join(root, 'state')
    await mkdir(dir)
    await chmod(dir, mode)
    await rejectsWith(loadOrCreateIdentity(dir), ErrorCodes.KEY_PERMISSIONS, [dir, `chmod 700 ${dir}`])
    assert.equal(await readdir(dir), [], 'nothing is created in a refused dir')
  }))
}

test('a state dir path that is a file is a config error', () => withTempDir(async (root) => {
  const path = join(root, 'file')
  await writeFile(path, 'x')
  await rejectsWith(loadOrCreateIdentity(path), ErrorCodes.CONFIG_INVALID, [path])
}))

type Damage = (bytes: Buffer) => Buffer | string
const damages: ReadonlyArray<[string, string, Damage]> = [
  [LIBP2P_KEY_FILE, 'empty', () => ''],
  [LIBP2P_KEY_FILE, 'truncated', (b) => b.subarray(0, b.length - 5)],
  [LIBP2P_KEY_FILE, 'cut to its header', (b) => b.subarray(0, 4)],
  [LIBP2P_KEY_FILE, 'garbage', () => 'this is not a key\n'],
  [LIBP2P_KEY_FILE, 'followed by trailing bytes', (b) => Buffer.concat([b, Buffer.from([0x0a])])],
  [LIBP2P_KEY_FILE, 'with a flipped public-key byte', (b) => { const c = Buffer.from(b); c[c.length - 1] = c[c.length - 1]! ^ 1; return c }],
  [WG_KEY_FILE, 'empty', () => ''],
  [WG_KEY_FILE, 'truncated', (b) => b.subarray(0, 20)],
  [WG_KEY_FILE, 'garbage', () => 'hello world\n'],
  [WG_KEY_FILE, 'all zeros', () => `${Buffer.alloc(32).toString('base64')}\n`],
  [WG_KEY_FILE, 'two keys', (b) => `${b.toString().trim()}${b.toString().trim()}\n`]
]

for (const [file, name, damage] of damages) {
  test(`${file} that is ${name} is refused as corrupt and never replaced`, () => withTempDir(async (root) => {
    await loadOrCreateIdentity(root)
    const path = join(root, file)
    const damaged = damage(await readFile(path))
    await writeFile(path, damaged, { mode: 0o600 })
    const secret = (await keyTexts(root))[file === WG_KEY_FILE ? 1 : 0]!
    const err = await rejectsWith(loadOrCreateIdentity(root), ErrorCodes.KEY_CORRUPT, [path])
    if (secret.length > 8) assert.not.ok(err.message.includes(secret))
    assert.equal(await readFile(path), Buffer.from(damaged), 'the damaged file is left as it was')
  }))
}

test('corruption is reported before a missing sibling key is created', () => withTempDir(async (root) => {
  await writeFile(join(root, LIBP2P_KEY_FILE), 'junk', { mode: 0o600 })
  await chmod(root, 0o700)
  await rejectsWith(loadOrCreateIdentity(root), ErrorCodes.KEY_CORRUPT, [LIBP2P_KEY_FILE])
  assert.equal(await readdir(root), [LIBP2P_KEY_FILE])
}))

for (const missing of [LIBP2P_KEY_FILE, WG_KEY_FILE]) {
  test(`when only ${missing} is missing from a state dir without ${IDENTITY_FILE} or state.json, only it is created`, () => withTempDir(async (root) => {
    const first = await loadOrCreateIdentity(root)
    const kept = missing === LIBP2P_KEY_FILE ? WG_KEY_FILE : LIBP2P_KEY_FILE
    const keptBytes = await readFile(join(root, kept))
    await rm(join(root, missing))
    await rm(join(root, IDENTITY_FILE))
    const second = await loadOrCreateIdentity(root)
    assert.equal(await readFile(join(root, kept)), keptBytes)
    assert.is(await modeOf(join(root, missing)), 0o600)
    if (missing === LIBP2P_KEY_FILE) {
      assert.is.not(second.peerId, first.peerId)
      assert.is(second.wg.publicKey, first.wg.publicKey)
    } else {
      assert.is(second.peerId, first.peerId)
      assert.is.not(second.wg.publicKey, first.wg.publicKey)
    }
  }))
}

test('a key file written by `wg genkey` with its newline is accepted', () => withTempDir(async (root) => {
  const priv = 'YAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk='
  await chmod(root, 0o700)
  await writeFile(join(root, WG_KEY_FILE), `${priv}\n`, { mode: 0o600 })
  const id = await loadOrCreateIdentity(root)
  assert.is(id.wg.privateKey, priv)
}))

test.run()
