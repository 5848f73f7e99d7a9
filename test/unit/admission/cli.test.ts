/** The admin commands as child processes: exit codes, one-line errors, file modes, and outputs that verify. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { chmod, copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAuthorityId, loadAuthority } from '../../../src/admission/authority.ts'
import { decodeToken, verifyToken } from '../../../src/admission/token.ts'
import { verifyRevocation } from '../../../src/admission/revocation.ts'
import { issueCertificate, verifyCertificate } from '../../../src/admission/certificate.ts'
import { HOUR, PREFIX, WG, newPeerId } from './helpers.ts'

const ROOT = new URL('../../../', import.meta.url).pathname
const NODE = join(ROOT, 'node_modules/.bin/node')
const MAIN = join(ROOT, 'src/cli/main.ts')

interface Run { code: number, stdout: string, stderr: string }

function gridmesh (...args: string[]): Promise<Run> {
  return new Promise(resolve => {
    execFile(NODE, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, timeout: 300_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

const root = await mkdtemp(join(tmpdir(), 'gridmesh-cli-admission-'))
const out = join(root, 'authority')
const keyFile = join(out, 'authority.key')

test('mesh init writes a 0600 key in a 0700 dir and prints the authority id; never overwrites', async () => {
  const r = await gridmesh('mesh', 'init', '--mesh', 'demo', '--out', out)
  assert.is(r.code, 0, r.stderr)
  const id = parseAuthorityId(r.stdout.trim())
  assert.is(id.mesh, 'demo')
  assert.match(r.stderr, /offline/)
  assert.is((await stat(keyFile)).mode & 0o777, 0o600)
  assert.is((await stat(out)).mode & 0o777, 0o700)
  assert.ok(id.publicKey.equals((await loadAuthority(keyFile, 'demo')).key.publicKey))
  const [again, missing, badMesh] = await Promise.all([
    gridmesh('mesh', 'init', '--mesh', 'demo', '--out', out),
    gridmesh('mesh', 'init', '--mesh', 'demo'),
    gridmesh('mesh', 'init', '--mesh', 'Not Valid', '--out', join(root, 'other'))
  ])
  for (const bad of [again, missing, badMesh]) {
    assert.is(bad.code, 2, bad.stderr)
    assert.is(bad.stdout, '')
    assert.match(bad.stderr, /^gridmesh/)
  }
  assert.match(again.stderr, /refusing to overwrite/)
})

test('invite prints a token that verifies and issues certificates; bad input exits 2 with one line', async () => {
  const peer = await newPeerId()
  const id = parseAuthorityId((await gridmesh('mesh', 'init', '--mesh', 'demo2', '--out', join(root, 'a2'))).stdout.trim())
  const key2 = join(root, 'a2', 'authority.key')
  const [ok, badExpires, wrongMesh, badPeer, tooLongTtl] = await Promise.all([
    gridmesh('invite', '--authority-key', key2, '--mesh', 'demo2', '--expires', '12h', '--peer-id', peer, '--max-cert-ttl', '90m'),
    gridmesh('invite', '--authority-key', key2, '--mesh', 'demo2', '--expires', 'soon'),
    gridmesh('invite', '--authority-key', key2, '--mesh', 'demo'),
    gridmesh('invite', '--authority-key', key2, '--mesh', 'demo2', '--peer-id', 'nope'),
    gridmesh('invite', '--authority-key', key2, '--mesh', 'demo2', '--max-cert-ttl', '90d')
  ])
  assert.is(ok.code, 0, ok.stderr)
  assert.match(ok.stderr, /SECRET/)
  const token = await decodeToken(ok.stdout)
  const now = Date.now()
  const claims = await verifyToken(token, { mesh: 'demo2', authority: id.publicKey, now })
  assert.is(claims.peerId, peer)
  assert.is(claims.maxCertTtlMs, 90 * 60_000)
  assert.ok(Math.abs(claims.expiresAt - (now + 12 * HOUR)) < 5 * 60_000)
  const cert = await issueCertificate({ token, peerId: peer, wgPublicKey: WG, prefix: PREFIX, now, ttlMs: HOUR })
  assert.is((await verifyCertificate(cert.bytes, { mesh: 'demo2', authority: id.publicKey, now })).peerId, peer)
  for (const bad of [badExpires, wrongMesh, badPeer, tooLongTtl]) {
    assert.is(bad.code, 2, bad.stderr)
    assert.is(bad.stdout, '')
    assert.is(bad.stderr.trim().split('\n').length, 1, bad.stderr)
  }
})

test('invite --member-for sets when memberships end (signed in the token); shorter than --expires is refused', async () => {
  const id = parseAuthorityId((await gridmesh('mesh', 'init', '--mesh', 'demo3', '--out', join(root, 'a3'))).stdout.trim())
  const key3 = join(root, 'a3', 'authority.key')
  const [ok, plain, tooShort] = await Promise.all([
    gridmesh('invite', '--authority-key', key3, '--mesh', 'demo3', '--expires', '2d', '--member-for', '365d'),
    gridmesh('invite', '--authority-key', key3, '--mesh', 'demo3'),
    gridmesh('invite', '--authority-key', key3, '--mesh', 'demo3', '--expires', '7d', '--member-for', '1d')
  ])
  assert.is(ok.code, 0, ok.stderr)
  const now = Date.now()
  const claims = await verifyToken(await decodeToken(ok.stdout), { mesh: 'demo3', authority: id.publicKey, now })
  assert.is(claims.v, 2)
  assert.ok(claims.v === 2 && claims.memberUntil !== null && Math.abs(claims.memberUntil - (now + 365 * 24 * HOUR)) < 5 * 60_000)
  assert.match(ok.stderr, /members until 20/)
  const open = await verifyToken(await decodeToken(plain.stdout), { mesh: 'demo3', authority: id.publicKey, now })
  assert.ok(open.v === 2 && open.memberUntil === null)
  assert.match(plain.stderr, /members until revoked/)
  assert.is(tooShort.code, 2, tooShort.stderr)
  assert.match(tooShort.stderr, /--member-for/)
})

test('invite refuses a group-readable or missing authority key (exit 2)', async () => {
  const dir = join(root, 'loose'); await mkdir(dir, { mode: 0o700 })
  const loose = join(dir, 'authority.key')
  await copyFile(keyFile, loose)
  await chmod(loose, 0o640)
  const [perm, missing] = await Promise.all([
    gridmesh('invite', '--authority-key', loose, '--mesh', 'demo'),
    gridmesh('invite', '--authority-key', join(root, 'nope.key'), '--mesh', 'demo')
  ])
  assert.is(perm.code, 2); assert.match(perm.stderr, /chmod 600/)
  assert.is(missing.code, 2); assert.match(missing.stderr, /not found/)
})

test('revoke prints a revocation that verifies; needs exactly one target', async () => {
  const peer = await newPeerId()
  const id = parseAuthorityId((await import('node:fs')).readFileSync(join(out, 'authority.id'), 'utf8'))
  const [byPeer, byToken, none, both] = await Promise.all([
    gridmesh('revoke', peer, '--authority-key', keyFile, '--mesh', 'demo', '--reason', 'lost disk'),
    gridmesh('revoke', '--token-id', '0123456789abcdef0123456789abcdef', '--authority-key', keyFile, '--mesh', 'demo'),
    gridmesh('revoke', '--authority-key', keyFile, '--mesh', 'demo'),
    gridmesh('revoke', peer, '--token-id', '0123456789abcdef0123456789abcdef', '--authority-key', keyFile, '--mesh', 'demo')
  ])
  assert.is(byPeer.code, 0, byPeer.stderr)
  const rev = await verifyRevocation(byPeer.stdout.trim(), { mesh: 'demo', authority: id.publicKey })
  assert.is(rev.peerId, peer); assert.is(rev.reason, 'lost disk')
  assert.is(byToken.code, 0, byToken.stderr)
  assert.is((await verifyRevocation(byToken.stdout.trim(), { mesh: 'demo', authority: id.publicKey })).tokenId, '0123456789abcdef0123456789abcdef')
  assert.is(none.code, 2); assert.is(both.code, 2)
})

test.after(async () => { await rm(root, { recursive: true, force: true }) })

test.run()
