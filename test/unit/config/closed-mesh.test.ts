/**
 * Closed-mesh and PSK config: the authority must parse and belong to --mesh;
 * tokens need an authority; at start (prepareAdmission) a missing, expired,
 * foreign or bad token is CONFIG_INVALID (exit 2) naming the reason; swarm
 * key files are checked for shape and permissions.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config/load.ts'
import { formatAuthorityId } from '../../../src/admission/authority.ts'
import { createToken, encodeToken } from '../../../src/admission/token.ts'
import { needsNewCertificate, prepareAdmission } from '../../../src/daemon/admission.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'
import { generateSwarmKey, loadSwarmKey } from '../../../src/keys/swarm-key.ts'
import { ErrorCodes, exitCodeFor, isGridmeshError } from '../../../src/errors.ts'
import { newAuthority, newPeerId } from '../admission/helpers.ts'

const authority = await newAuthority()
const ID = formatAuthorityId('lab', authority.publicKey)
const dir = await mkdtemp(join(tmpdir(), 'gm-closed-'))
test.after(async () => { await rm(dir, { recursive: true, force: true }) })
let n = 0
const base = (): { mesh: string, stateDir: string } => ({ mesh: 'lab', stateDir: join(dir, `s${n++}`) })

async function failure (fn: () => unknown): Promise<{ code: string, message: string }> {
  try { await fn() } catch (err) {
    assert.ok(isGridmeshError(err), String(err))
    assert.not.match((err as Error).message, /\n/, 'one line')
    return { code: (err as { code: string }).code, message: (err as Error).message }
  }
  assert.unreachable('expected a failure')
  throw new Error('unreachable')
}

const token = async (over: { mesh?: string, lifetimeMs?: number, now?: number, key?: typeof authority } = {}): Promise<string> => encodeToken(await createToken({
  authority: over.key ?? authority, mesh: over.mesh ?? 'lab', now: over.now ?? Date.now(), lifetimeMs: over.lifetimeMs ?? 86_400_000, peerId: null, maxCertTtlMs: 3_600_000
}))

test('authority: must parse and belong to --mesh; a token needs an authority', async () => {
  const bad = await failure(() => loadConfig({ flags: { ...base(), authority: 'gm1:lab:nope' }, env: {} }))
  assert.is(bad.code, ErrorCodes.CONFIG_INVALID)
  assert.match(bad.message, /--authority/)
  const other = await failure(() => loadConfig({ flags: { ...base(), mesh: 'other', authority: ID }, env: {} }))
  assert.match(other.message, /for mesh "lab", not "other"/)
  const orphan = await failure(() => loadConfig({ flags: { ...base(), token: 'gmt1.x.y' }, env: {} }))
  assert.match(orphan.message, /needs --authority/)
  const c = loadConfig({ flags: { ...base(), authority: ID }, env: { GRIDMESH_TOKEN: 'gmt1.a.b', GRIDMESH_PSK_FILE: '/k' } })
  assert.is(c.token, 'gmt1.a.b')
  assert.is(c.pskFile, '/k')
})

test('start: no token → CONFIG_INVALID with the fix; given token redeemed once, the redemption saved 0600 and reused', async () => {
  const peer = await newPeerId()
  const cfgNone = loadConfig({ flags: { ...base(), authority: ID }, env: {} })
  const none = await failure(() => prepareAdmission(cfgNone, peer, Date.now()))
  assert.is(none.code, ErrorCodes.CONFIG_INVALID)
  assert.match(none.message, /gridmesh invite/)
  const flags = { ...base(), authority: ID }
  const t = await token()
  const closed = await prepareAdmission(loadConfig({ flags: { ...flags, token: t }, env: {} }), peer, Date.now())
  assert.ok(closed !== null)
  const saved = join(flags.stateDir, 'membership.redemption')
  assert.ok((await readFile(saved, 'utf8')).trim().length > 100)
  assert.is((await stat(saved)).mode & 0o777, 0o600)
  const again = await prepareAdmission(loadConfig({ flags, env: {} }), peer, Date.now())
  assert.is(again?.redemption.redeemedAt, closed.redemption.redeemedAt, 'the saved redemption is reused, no token needed')
  assert.is(await prepareAdmission(loadConfig({ flags: base(), env: {} }), peer, Date.now()), null, 'open mesh')
})

test('start: expired, foreign-mesh and foreign-authority tokens are refused naming the reason (exit 2)', async () => {
  const peer = await newPeerId()
  const cases: Array<[string, RegExp]> = [
    [await token({ now: Date.now() - 10_000, lifetimeMs: 1000 }), /token-expired/],
    [await token({ mesh: 'other' }), /token-(wrong-mesh|bad-signature)/],
    [await token({ key: await newAuthority() }), /token-bad-signature/],
    ['gmt1.garbage', /token-malformed/]
  ]
  for (const [t, reason] of cases) {
    const f = await failure(() => prepareAdmission(loadConfig({ flags: { ...base(), authority: ID, token: t }, env: {} }), peer, Date.now()))
    assert.is(f.code, ErrorCodes.CONFIG_INVALID)
    assert.is(exitCodeFor(Object.assign(new Error(), { code: f.code })), exitCodeFor(Object.assign(new Error(), { code: ErrorCodes.CONFIG_INVALID })))
    assert.match(f.message, reason)
    if (t.length > 40) assert.not.ok(f.message.includes(t.slice(10, 40)), 'the token text is not echoed')
  }
})

test('swarm key: generated keys load; malformed or group-readable files are refused', async () => {
  const key = join(dir, 'swarm.key')
  const text = generateSwarmKey()
  assert.is(text.length, 95)
  await writeFile(key, text, { mode: 0o600 })
  assert.is((await loadSwarmKey(key)).length, 95)
  await chmod(key, 0o640)
  assert.is((await failure(() => loadSwarmKey(key))).code, ErrorCodes.KEY_PERMISSIONS)
  const junk = join(dir, 'junk.key')
  await writeFile(junk, 'hello', { mode: 0o600 })
  assert.is((await failure(() => loadSwarmKey(junk))).code, ErrorCodes.CONFIG_INVALID)
  assert.is((await failure(() => loadSwarmKey(join(dir, 'absent')))).code, ErrorCodes.CONFIG_INVALID)
})

test('certificate reissue: none yet, prefix moved, or a third of its lifetime left', () => {
  const p = 'fd00:1:2:3::/64' as Ipv6Prefix
  const cert = { prefix: p, issuedAt: 0, expiresAt: 3000 }
  assert.ok(needsNewCertificate(null, p, 0))
  assert.not.ok(needsNewCertificate(cert, p, 1000))
  assert.ok(needsNewCertificate(cert, 'fd00:1:2:4::/64' as Ipv6Prefix, 1000), 'moved /64 → new certificate')
  assert.ok(needsNewCertificate(cert, p, 2001), 'renewal window')
})

test.run()
