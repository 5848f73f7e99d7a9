import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { decodeToken, encodeToken, verifyToken, verifyTokenClaims, createToken, MAX_TOKEN_CHARS } from '../../../src/admission/token.ts'
import { TOKEN_FILE, loadToken, saveToken } from '../../../src/admission/token-store.ts'
import { formatAuthorityId, parseAuthorityId, createAuthority, loadAuthority, AUTHORITY_KEY_FILE, AUTHORITY_ID_FILE } from '../../../src/admission/authority.ts'
import { parseDuration, formatDuration } from '../../../src/admission/duration.ts'
import { toBase64url } from '../../../src/admission/codec.ts'
import { DAY, HOUR, MESH, NOW, newAuthority, newPeerId, newToken, reasonOf } from './helpers.ts'

const authority = await newAuthority()
const other = await newAuthority()
const anchor = { mesh: MESH, authority: authority.publicKey }

async function codeOf (fn: () => Promise<unknown> | unknown): Promise<string> {
  try { await fn() } catch (err) {
    assert.ok(isGridmeshError(err), String(err))
    assert.not.match((err as Error).message, /\n/)
    return (err as { code: string }).code
  }
  throw new Error('expected a rejection')
}

async function withTempDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gridmesh-admission-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

test('token string round trip; verifies for its mesh and authority until expiry', async () => {
  const peer = await newPeerId()
  const token = await newToken(authority, { peerId: peer })
  const text = encodeToken(token)
  assert.match(text, /^gmt1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
  assert.ok(text.length < 800, `${text.length} chars`)
  const back = await decodeToken(`  ${text}\n`)
  assert.equal(back.claims, token.claims)
  assert.ok(back.privateKey.equals(token.privateKey))
  assert.equal(await verifyToken(back, { ...anchor, now: NOW }), token.claims)
  assert.is(token.claims.peerId, peer)
  assert.match(token.claims.tokenId, /^[0-9a-f]{32}$/)
  assert.is(await reasonOf(async () => await verifyToken(back, { ...anchor, now: NOW + 7 * DAY })), 'token-expired')
  assert.is(await reasonOf(async () => await verifyToken(back, { mesh: MESH, authority: other.publicKey, now: NOW })), 'token-bad-signature')
  assert.is(await reasonOf(async () => await verifyToken(back, { ...anchor, mesh: 'othermesh', now: NOW })), 'token-wrong-mesh')
})

test('decodeToken rejects junk, swapped keys, oversize, trailing parts', async () => {
  const token = await newToken(authority)
  const other2 = await newToken(authority)
  const [p, c] = encodeToken(token).split('.')
  const dec = (s: unknown) => async () => await decodeToken(s)
  assert.is(await reasonOf(dec(`${p}.${c}.${toBase64url(privateKeyToProtobuf(other2.privateKey))}`)), 'token-malformed')
  assert.is(await reasonOf(dec(`${p}.${c}`)), 'token-malformed')
  assert.is(await reasonOf(dec(`${encodeToken(token)}.x`)), 'token-malformed')
  assert.is(await reasonOf(dec(`gmt2.${c}.AA`)), 'token-malformed')
  assert.is(await reasonOf(dec(`${encodeToken(token)}=`)), 'token-malformed')
  assert.is(await reasonOf(dec('x'.repeat(MAX_TOKEN_CHARS + 1))), 'token-oversized')
  assert.is(await reasonOf(dec(42)), 'token-malformed')
  assert.is(await reasonOf(dec('')), 'token-malformed')
  // the bare claims (as certificates embed them) still verify on their own
  assert.equal((await verifyTokenClaims(token.envelope, anchor)).claims, token.claims)
})

test('createToken refuses out-of-range parameters', async () => {
  const mk = (o: Record<string, unknown>) => async () => await createToken({ authority, mesh: MESH, now: NOW, lifetimeMs: DAY, peerId: null, maxCertTtlMs: HOUR, ...o })
  assert.is(await reasonOf(mk({ lifetimeMs: 0 })), 'token-malformed')
  assert.is(await reasonOf(mk({ lifetimeMs: 400 * DAY })), 'token-malformed')
  assert.is(await reasonOf(mk({ maxCertTtlMs: 31 * DAY })), 'token-malformed')
  assert.is(await reasonOf(mk({ mesh: 'Bad:Mesh' })), 'token-malformed')
  assert.is(await reasonOf(mk({ peerId: 'not a peer id' })), 'token-malformed')
})

test('authority id: format/parse round trip; one clear CONFIG_INVALID line otherwise', async () => {
  const text = formatAuthorityId(MESH, authority.publicKey)
  assert.match(text, /^gm1:testmesh:[A-Za-z0-9_-]+$/)
  const id = parseAuthorityId(text)
  assert.is(id.mesh, MESH)
  assert.ok(id.publicKey.equals(authority.publicKey))
  for (const bad of ['', 'gm1:testmesh', 'gm2:testmesh:AAAA', `gm1:Bad!:${text.split(':')[2] ?? ''}`, 'gm1:testmesh:AAAA', `${text}:x`, `${text}=`, 'gm1:testmesh:' + 'A'.repeat(300)]) {
    assert.is(await codeOf(() => parseAuthorityId(bad)), ErrorCodes.CONFIG_INVALID, bad)
  }
})

test('durations: 90m 12h 30d 45s; nonsense is a USAGE error', async () => {
  assert.is(parseDuration('90m', '--x', 400 * DAY), 90 * 60_000)
  assert.is(parseDuration('12h', '--x', 400 * DAY), 12 * HOUR)
  assert.is(parseDuration('30d', '--x', 400 * DAY), 30 * DAY)
  assert.is(parseDuration('45s', '--x', 400 * DAY), 45_000)
  for (const bad of ['30', '0d', '-1d', '1.5h', '1h30m', 'd', '', '30D', '1w', '99999999d']) {
    assert.is(await codeOf(() => parseDuration(bad, '--x', 400 * DAY)), ErrorCodes.USAGE, bad)
  }
  assert.is(await codeOf(() => parseDuration('2d', '--x', DAY)), ErrorCodes.USAGE)
  assert.is(formatDuration(DAY), '1d')
  assert.is(formatDuration(90 * 60_000), '90m')
})

test('authority key files: 0600 in 0700, never overwritten, permission and corruption checks', async () => {
  await withTempDir(async root => {
    const dir = join(root, 'auth')
    const { key, id, keyFile } = await createAuthority(dir, MESH)
    assert.is((await stat(dir)).mode & 0o777, 0o700)
    assert.is((await stat(keyFile)).mode & 0o777, 0o600)
    assert.is((await readFile(join(dir, AUTHORITY_ID_FILE), 'utf8')).trim(), id.text)
    const before = await readFile(keyFile)
    assert.is(await codeOf(async () => await createAuthority(dir, MESH)), ErrorCodes.CONFIG_INVALID)
    assert.ok((await readFile(keyFile)).equals(before))
    const loaded = await loadAuthority(keyFile, MESH)
    assert.ok(loaded.key.equals(key))
    assert.is(await codeOf(async () => await loadAuthority(keyFile, 'othermesh')), ErrorCodes.CONFIG_INVALID)
    assert.is(await codeOf(async () => await loadAuthority(join(root, 'missing.key'), MESH)), ErrorCodes.CONFIG_INVALID)
    await chmod(keyFile, 0o644)
    assert.is(await codeOf(async () => await loadAuthority(keyFile, MESH)), ErrorCodes.KEY_PERMISSIONS)
    await chmod(keyFile, 0o600)
    await writeFile(keyFile, Buffer.concat([before, Buffer.from([0])]))
    assert.is(await codeOf(async () => await loadAuthority(keyFile, MESH)), ErrorCodes.KEY_CORRUPT)
    await writeFile(keyFile, 'garbage')
    assert.is(await codeOf(async () => await loadAuthority(keyFile, MESH)), ErrorCodes.KEY_CORRUPT)
    assert.is(await codeOf(async () => await createAuthority(join(root, 'x'), 'Bad Mesh')), ErrorCodes.USAGE)
    // a key without its authority.id file still loads for any valid mesh (the id file is a guard, not a requirement)
    const lone = join(root, 'lone'); await mkdir(lone, { mode: 0o700 })
    await writeFile(join(lone, AUTHORITY_KEY_FILE), before, { mode: 0o600 })
    assert.ok((await loadAuthority(join(lone, AUTHORITY_KEY_FILE), 'othermesh')).key.equals(key))
  })
})

test('join.token: saved 0600 atomically, loaded back, refused when readable or corrupt', async () => {
  await withTempDir(async root => {
    const dir = join(root, 'state')
    assert.is(await loadToken(dir), null)
    const token = await newToken(authority)
    await saveToken(dir, token)
    const file = join(dir, TOKEN_FILE)
    assert.is((await stat(file)).mode & 0o777, 0o600)
    assert.is((await stat(dir)).mode & 0o777, 0o700)
    assert.equal((await loadToken(dir))?.claims, token.claims)
    await chmod(file, 0o640)
    assert.is(await codeOf(async () => await loadToken(dir)), ErrorCodes.KEY_PERMISSIONS)
    await chmod(file, 0o600)
    await writeFile(file, 'gmt1.nope.nope')
    assert.is(await codeOf(async () => await loadToken(dir)), ErrorCodes.KEY_CORRUPT)
  })
})

test.run()
