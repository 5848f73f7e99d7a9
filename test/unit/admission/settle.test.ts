/**
 * The daemon side of redeem-by tokens (src/daemon/admission.ts): a node
 * redeems once, restarts and reloads without a valid token, migrates the
 * join.token an older version saved, and switches membership only to a token
 * it can redeem. Injected clock; real files in a temp dir.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config/load.ts'
import { formatAuthorityId } from '../../../src/admission/authority.ts'
import { createToken, encodeToken } from '../../../src/admission/token.ts'
import { saveToken } from '../../../src/admission/token-store.ts'
import { REDEMPTION_FILE, prepareAdmission, settleMembership } from '../../../src/daemon/admission.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { newAuthority, newPeerId } from './helpers.ts'

const authority = await newAuthority()
const ID = formatAuthorityId('lab', authority.publicKey)
const dir = await mkdtemp(join(tmpdir(), 'gm-settle-'))
const T0 = 1_800_000_000_000
const DAY = 86_400_000
let n = 0
const stateDir = (): string => join(dir, `s${n++}`)
const config = (sd: string, token?: string) => loadConfig({ flags: { mesh: 'lab', stateDir: sd, authority: ID, ...(token === undefined ? {} : { token }) }, env: {} })
const mint = async (o: { peerId?: string | null, memberForMs?: number } = {}) => await createToken({
  authority, mesh: 'lab', now: T0, lifetimeMs: 7 * DAY, peerId: o.peerId ?? null, maxCertTtlMs: DAY, ...(o.memberForMs === undefined ? {} : { memberForMs: o.memberForMs })
})

async function refusal (fn: () => Promise<unknown>): Promise<string> {
  try { await fn() } catch (err) {
    assert.ok(isGridmeshError(err), String(err))
    assert.is((err as { code: string }).code, ErrorCodes.CONFIG_INVALID)
    assert.not.match((err as Error).message, /\n/)
    return (err as Error).message
  }
  assert.unreachable('expected a refusal')
  return ''
}

test('restart after the token expired, with the expired token still in the config: the membership stays', async () => {
  const sd = stateDir()
  const peer = await newPeerId()
  const text = encodeToken(await mint())
  const first = await prepareAdmission(config(sd, text), peer, T0 + DAY)
  assert.is(first?.redemption.redeemedAt, T0 + DAY)
  assert.is((await stat(join(sd, REDEMPTION_FILE))).mode & 0o777, 0o600)
  const later = await prepareAdmission(config(sd, text), peer, T0 + 300 * DAY)
  assert.is(later?.redemption.redeemedAt, T0 + DAY, 'no new redemption, no token check')
  const bare = await prepareAdmission(config(sd), peer, T0 + 300 * DAY)
  assert.is(bare?.redemption.redeemedAt, T0 + DAY, 'no token configured at all')
})

test('a new node cannot join with an expired token; a bound token refuses another node', async () => {
  const text = encodeToken(await mint())
  assert.match(await refusal(async () => await prepareAdmission(config(stateDir(), text), await newPeerId(), T0 + 8 * DAY)), /token-expired/)
  const bound = encodeToken(await mint({ peerId: await newPeerId() }))
  assert.match(await refusal(async () => await prepareAdmission(config(stateDir(), bound), await newPeerId(), T0)), /token-wrong-peer/)
})

test('migration: the join.token an older version saved is redeemed at the next start and deleted', async () => {
  const sd = stateDir()
  const peer = await newPeerId()
  await saveToken(sd, await mint())
  const closed = await prepareAdmission(config(sd), peer, T0 + 2 * DAY)
  assert.is(closed?.redemption.redeemedAt, T0 + 2 * DAY)
  await assert.not.ok(await stat(join(sd, 'join.token')).then(() => true, () => false), 'the token secret is gone from the state dir')
  // An already expired saved token cannot be migrated: the one-line fix is a new token.
  const sd2 = stateDir()
  await saveToken(sd2, await mint())
  assert.match(await refusal(async () => await prepareAdmission(config(sd2), peer, T0 + 8 * DAY)), /token-expired.*gridmesh invite/)
})

test('reload: a new token id is redeemed; an unusable one keeps the current membership; dry run writes nothing', async () => {
  const sd = stateDir()
  const peer = await newPeerId()
  const closed = (await prepareAdmission(config(sd, encodeToken(await mint())), peer, T0))!
  const fresh = await createToken({ authority, mesh: 'lab', now: T0 + 100 * DAY, lifetimeMs: DAY, peerId: null, maxCertTtlMs: DAY })
  const dry = await settleMembership(config(sd, encodeToken(fresh)), closed.anchor, peer, T0 + 100 * DAY, closed.redemption, true)
  assert.ok(dry.redeemed)
  assert.is((await prepareAdmission(config(sd), peer, T0 + 100 * DAY))?.redemption.redeemedAt, T0, 'dry run saved nothing')
  const applied = await settleMembership(config(sd, encodeToken(fresh)), closed.anchor, peer, T0 + 100 * DAY, closed.redemption)
  assert.is(applied.redemption.token.tokenId, fresh.claims.tokenId)
  assert.is((await prepareAdmission(config(sd), peer, T0 + 101 * DAY))?.redemption.redeemedAt, T0 + 100 * DAY, 'saved')
  const stale = await settleMembership(config(sd, encodeToken(await mint())), closed.anchor, peer, T0 + 200 * DAY, applied.redemption)
  assert.not.ok(stale.redeemed)
  assert.match(stale.note ?? '', /kept the membership/)
  const file = join(sd, 'tok')
  await writeFile(file, 'gmt1.garbage', { mode: 0o600 })
  assert.match(await refusal(async () => await settleMembership(loadConfig({ flags: { mesh: 'lab', stateDir: sd, authority: ID, tokenFile: file }, env: {} }), closed.anchor, peer, T0, null)), /token-malformed/)
})

test('--member-for: a start after the membership ended is refused with the reason', async () => {
  const sd = stateDir()
  const peer = await newPeerId()
  await prepareAdmission(config(sd, encodeToken(await mint({ memberForMs: 30 * DAY }))), peer, T0)
  assert.match(await refusal(async () => await prepareAdmission(config(sd), peer, T0 + 31 * DAY)), /membership-ended/)
})

test.after(async () => { await rm(dir, { recursive: true, force: true }) })
test.run()
