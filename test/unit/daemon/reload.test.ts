/**
 * Live reload, in-process: the same loader as start re-reads a config file;
 * live keys are applied, restart-only keys reported and kept, a bad config or
 * a refused token changes nothing, a dry run changes nothing.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config/load.ts'
import { createRootLogger } from '../../../src/log.ts'
import { formatAuthorityId } from '../../../src/admission/authority.ts'
import { createToken, encodeToken } from '../../../src/admission/token.ts'
import { prepareAdmission } from '../../../src/daemon/admission.ts'
import { createReloader, describeReload, diffConfig, pinnedKeys, type LiveChanges } from '../../../src/daemon/reload.ts'
import { envName } from '../../../src/config/load.ts'
import { newAuthority, newPeerId } from '../admission/helpers.ts'
import { startRedialLoop } from '../../../src/mesh/redial.ts'
import { closeAdmin, listenAdmin } from '../../../src/admin/server.ts'
import type { StatusView } from '../../../src/admin/contract.ts'
import { adminRequest } from '../../../src/admin/client.ts'

const dir = await mkdtemp(join(tmpdir(), 'gm-reload-'))
const file = join(dir, 'gridmesh.yaml')
const stateDir = join(dir, 'state')
const sources = { flags: { config: file }, env: {} }
const newAuthorityKey = newAuthority()

async function writeConfig (lines: string[]): Promise<void> {
  await writeFile(file, [`mesh: lab`, `stateDir: ${stateDir}`, ...lines].join('\n') + '\n')
}

function harness (closed: Awaited<ReturnType<typeof prepareAdmission>> = null, peerId = 'self') {
  const applied: LiveChanges[] = []
  const logger = createRootLogger({ level: 'info' })
  const child = logger.child({ module: 'x' })
  const reloader = createReloader({
    load: () => loadConfig(sources), current: loadConfig(sources), logger,
    target: { peerId, closed, reload: async (c) => { applied.push(c) } }
  })
  return { applied, logger, child, reloader }
}

test('diffConfig splits live and restart-only keys and never shows a token', async () => {
  const authority = formatAuthorityId('lab', (await newAuthorityKey).publicKey)
  const a = loadConfig({ flags: { mesh: 'lab', stateDir: '/s', authority, token: 'gmt1.a.b' }, env: {} })
  const b = loadConfig({ flags: { mesh: 'lab', stateDir: '/s', authority, token: 'gmt1.c.d', logLevel: 'debug', wgPort: '51999' }, env: {} })
  const d = diffConfig(a, b)
  assert.equal(d.live.map(c => c.key), ['logLevel', 'token'])
  assert.equal(d.fixed.map(c => c.key), ['wgPort'])
  assert.not.ok(JSON.stringify(d).includes('gmt1'), 'token redacted')
})

test('log level and bootstrap apply live; interface needs a restart and keeps its value; dry run changes nothing', async () => {
  await writeConfig(['logLevel: info', 'bootstrap: ["10.0.0.1:7700"]'])
  const h = harness()
  await writeConfig(['logLevel: debug', 'bootstrap: ["10.0.0.1:7700", "10.0.0.2:7700"]', 'interface: gm9'])
  const dry = await h.reloader.reload(true)
  assert.ok(dry.ok)
  assert.equal(dry.applied.map(c => c.key), ['bootstrap', 'logLevel'])
  assert.equal(dry.needsRestart.map(c => c.key), ['interface'])
  assert.equal(h.applied, [], 'dry run applies nothing')
  assert.is(h.logger.level, 'info')
  assert.match(describeReload(dry).join('\n'), /would apply: logLevel info -> debug/)
  const r = await h.reloader.reload(false)
  assert.ok(r.ok)
  assert.equal(h.applied, [{ bootstrap: ['10.0.0.1:7700', '10.0.0.2:7700'] }])
  assert.is(h.logger.level, 'debug')
  assert.is(h.child.level, 'debug', 'module loggers follow the root level')
  // Applied keys are now the running values; the interface change is still pending.
  const again = await h.reloader.reload(true)
  assert.equal(again.applied, [])
  assert.equal(again.needsRestart.map(c => c.key), ['interface'])
})

test('keys a flag or env var fixed at start are named: the file cannot change them', () => {
  assert.equal(pinnedKeys({ bootstrap: ['a:1'], config: '/f' }, { GRIDMESH_LOG_LEVEL: 'info' }, envName), ['logLevel', 'bootstrap'])
  assert.equal(pinnedKeys({ config: '/f' }, {}, envName), [])
})

test('a bad config changes nothing and says why', async () => {
  await writeConfig(['logLevel: info'])
  const h = harness()
  await writeConfig(['logLevel: loud'])
  const r = await h.reloader.reload(false)
  assert.not.ok(r.ok)
  assert.match(r.error ?? '', /logLevel/)
  assert.is(h.logger.level, 'info')
  assert.equal(h.applied, [])
  await writeFile(file, 'mesh: [unclosed\n')
  assert.match((await h.reloader.reload(false)).error ?? '', /YAML/)
})

test('closed mesh: a new token in the same token file is redeemed live; a garbage one changes nothing', async () => {
  const authority = await newAuthority()
  const id = formatAuthorityId('lab', authority.publicKey)
  const tokenFile = join(dir, 'token')
  const mint = async (): Promise<string> => encodeToken(await createToken({ authority, mesh: 'lab', now: Date.now(), lifetimeMs: 3_600_000, peerId: null, maxCertTtlMs: 600_000 }))
  await writeFile(tokenFile, await mint(), { mode: 0o600 })
  await writeConfig([`authority: ${id}`, `tokenFile: ${tokenFile}`])
  const peer = await newPeerId()
  const closed = await prepareAdmission(loadConfig(sources), peer, Date.now())
  const h = harness(closed, peer)
  const first = closed!.redemption.token.tokenId
  assert.equal((await h.reloader.reload(false)).applied, [], 'same token: nothing to do')
  await writeFile(tokenFile, await mint())
  const r = await h.reloader.reload(false)
  assert.ok(r.ok)
  assert.equal(r.applied.map(c => c.key), ['membership'])
  assert.is(h.applied.length, 1)
  assert.not.equal(h.applied[0]?.redemption?.token.tokenId, first)
  await writeFile(tokenFile, 'gmt1.garbage')
  const bad = await h.reloader.reload(false)
  assert.not.ok(bad.ok)
  assert.match(bad.error ?? '', /token-malformed/)
  assert.is(h.applied.length, 1, 'nothing applied')
})

test('redial loop: setSeeds dials a new seed at once and forgets a removed one', async () => {
  const dialed: string[] = []
  let now = 0
  const loop = startRedialLoop({ dial: async (id) => { dialed.push(id); throw new Error('refused') }, isConnected: () => false, now: () => now }, ['a:1'], { tickMs: 1e9 })
  loop.tick()
  await new Promise(resolve => setTimeout(resolve, 10))
  loop.setSeeds(['b:2'])
  await new Promise(resolve => setTimeout(resolve, 10))
  now = 60_000 // every backoff over: a seed still known would be dialed again
  loop.tick()
  await new Promise(resolve => setTimeout(resolve, 10))
  loop.stop()
  assert.ok(dialed.includes('b:2'), 'new seed dialed on the spot')
  assert.is(dialed.filter(d => d === 'a:1').length, 1, 'removed seed no longer dialed')
})

test('admin POST /v1/reload passes dryRun and refuses other fields', async () => {
  const path = join(dir, 'admin.sock')
  const calls: boolean[] = []
  const server = await listenAdmin(path, {
    status: () => ({}) as StatusView, peers: () => [], routes: () => [], leave: async () => {},
    reload: async (dryRun) => { calls.push(dryRun); return { ok: true, dryRun, applied: [], needsRestart: [], notes: [] } }
  })
  try {
    assert.equal(await adminRequest(path, 'POST', '/v1/reload', { dryRun: true }), { ok: true, dryRun: true, applied: [], needsRestart: [], notes: [] })
    assert.equal(await adminRequest(path, 'POST', '/v1/reload'), { ok: true, dryRun: false, applied: [], needsRestart: [], notes: [] })
    await adminRequest(path, 'POST', '/v1/reload', { dryRun: 'yes' }).then(() => assert.unreachable(), (e: Error) => { assert.match(e.message, /dryRun/) })
    assert.equal(calls, [true, false])
  } finally { await closeAdmin(server, path) }
})

test.after(async () => { await rm(dir, { recursive: true, force: true }) })
test.run()
