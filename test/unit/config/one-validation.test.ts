/**
 * One validation (issue 18): what `up` refuses, `--check-config` (and so the
 * installer) refuses too, with exit 2 and one line; what is valid but
 * suspicious gets one warning line from both.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { loadConfig } from '../../../src/config/load.ts'
import { allWarnings, envWarnings } from '../../../src/config/warnings.ts'
import { preflight } from '../../../src/config/preflight.ts'
import { generateSwarmKey } from '../../../src/keys/swarm-key.ts'
import { formatAuthorityId } from '../../../src/admission/authority.ts'
import { newAuthority, newToken, DAY, NOW } from '../admission/helpers.ts'
import { encodeToken } from '../../../src/admission/token.ts'
import { REDEMPTION_FILE } from '../../../src/admission/redemption.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'

const run = promisify(execFile)
const GRIDMESH = fileURLToPath(new URL('../../../bin/gridmesh', import.meta.url))
const base = { mesh: 'lab', stateDir: '/var/lib/gridmesh' }

function refused (flags: Record<string, unknown>): string {
  try {
    loadConfig({ flags: { ...base, ...flags }, env: {} })
  } catch (err) {
    if (!isGridmeshError(err)) throw err
    assert.is(err.code, ErrorCodes.CONFIG_INVALID)
    return err.message
  }
  assert.unreachable(`${JSON.stringify(flags)} accepted`)
  return ''
}

test('a mesh prefix that is not a /48 and a prefix outside the mesh prefix are refused by the config itself', () => {
  assert.match(refused({ meshPrefix: 'fd00:1:2:3::/64' }), /--mesh-prefix: mesh prefix fd00:1:2:3::\/64 is not a \/48/)
  assert.match(refused({ prefix: 'fd00:1::/64' }), /--prefix: fd00:1::\/64 is not a \/64 inside the mesh prefix fd[0-9a-f:]+::\/48/)
  assert.match(refused({ meshPrefix: 'fd00:1:2::/48', prefix: 'fd00:1:2::/64' }), /subnet ids 0 and ffff are reserved/)
  assert.match(refused({ meshPrefix: 'fd00:1:2::/48', prefix: 'fd00:1:2:5::/56' }), /not a \/64 inside/)
  assert.match(refused({ meshPrefix: 'not-a-prefix' }), /--mesh-prefix: invalid IPv6 prefix/)
  assert.is(loadConfig({ flags: { ...base, meshPrefix: 'fd00:1:2::/48', prefix: 'fd00:1:2:5::/64' }, env: {} }).prefix, 'fd00:1:2:5::/64')
})

test('a non-ULA mesh prefix is valid but warned about; a ULA one is not', () => {
  const warned = allWarnings(loadConfig({ flags: { ...base, meshPrefix: '2001:db8::/48' }, env: {} }), {})
  assert.is(warned.length, 1)
  assert.match(warned[0] ?? '', /2001:db8::\/48 is not a unique local address prefix/)
  assert.equal(allWarnings(loadConfig({ flags: { ...base, meshPrefix: 'fd00:1:2::/48' }, env: {} }), {}), [])
})

test('a misspelled GRIDMESH_* variable gets one warning naming the closest real one', () => {
  assert.equal(envWarnings({ GRIDMESH_PROBE_TIMEOUT: '500', GRIDMESH_MESH: 'x', GRIDMESH_CONFIG: '/c', PATH: '/bin' }),
    ['env GRIDMESH_PROBE_TIMEOUT is not a gridmesh variable and is ignored; did you mean GRIDMESH_PROBE_TIMEOUT_MS?'])
  assert.match(envWarnings({ GRIDMESH_BOOTSTRAPS: 'a:1' })[0] ?? '', /did you mean GRIDMESH_BOOTSTRAP\?$/)
  assert.match(envWarnings({ GRIDMESH_STATEDIR: '/x' })[0] ?? '', /did you mean GRIDMESH_STATE_DIR\?$/)
})

test('gridmesh up --check-config: exit 2 and one line for each refused config, warnings on stderr for suspicious ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gm-onecheck-'))
  try {
    const file = join(dir, 'gridmesh.yaml')
    for (const line of ['meshPrefix: fd00:1:2:3::/64', 'prefix: fd00:1::/64']) {
      await writeFile(file, `mesh: lab\nstateDir: /var/lib/gridmesh\n${line}\n`)
      const r = await run(GRIDMESH, ['up', '--config', file, '--check-config']).then(() => null, (e: { code: number, stderr: string }) => e)
      assert.ok(r !== null, `${line} passed --check-config`)
      assert.is(r.code, 2, line)
      assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
    }
    await writeFile(file, 'mesh: lab\nstateDir: /var/lib/gridmesh\nmeshPrefix: 2001:db8::/48\n')
    const ok = await run(GRIDMESH, ['up', '--config', file, '--check-config'], { env: { ...process.env, GRIDMESH_WG_PROT: '1' } })
    const lines = ok.stderr.trim().split('\n')
    assert.is(lines.length, 2, ok.stderr)
    assert.match(lines[0] ?? '', /^gridmesh: warning: mesh prefix 2001:db8::\/48 is not a unique local/)
    assert.match(lines[1] ?? '', /^gridmesh: warning: env GRIDMESH_WG_PROT .* did you mean GRIDMESH_WG_PORT\?$/)
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('files the config names are checked like up checks them: psk file, join token', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gm-preflight-'))
  try {
    const refusedAsync = async (flags: Record<string, unknown>, why: RegExp): Promise<void> => {
      const err = await preflight(loadConfig({ flags: { ...base, ...flags }, env: {} }), Date.now()).then(() => null, (e: { code?: string, message: string }) => e)
      assert.is(err?.code, ErrorCodes.CONFIG_INVALID, JSON.stringify(flags))
      assert.match(err?.message ?? '', why)
    }
    await refusedAsync({ pskFile: join(dir, 'none.key') }, /psk file .* does not exist/)
    await writeFile(join(dir, 'bad.key'), 'nope', { mode: 0o600 })
    await refusedAsync({ pskFile: join(dir, 'bad.key') }, /is not a swarm key/)
    await writeFile(join(dir, 'good.key'), generateSwarmKey(), { mode: 0o600 })
    await preflight(loadConfig({ flags: { ...base, pskFile: join(dir, 'good.key') }, env: {} }), Date.now())
    const authority = formatAuthorityId('lab', (await newAuthority()).publicKey)
    await writeFile(join(dir, 'join.token'), 'gmt1.garbage.x\n')
    await refusedAsync({ authority, tokenFile: join(dir, 'join.token') }, /join token from --token-file .* refused \(token-malformed\)/)
    await refusedAsync({ authority, tokenFile: join(dir, 'nope.token') }, /cannot read --token-file/)
    const r = await run(GRIDMESH, ['up', '--mesh', 'lab', '--state-dir', dir, '--psk-file', join(dir, 'none.key'), '--check-config']).then(() => null, (e: { code: number }) => e)
    assert.is(r?.code, 2, '--check-config refuses what up refuses')
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('an expired join token is refused only where the node has not redeemed one: a saved membership outlives the redeem-by date', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gm-preflight-'))
  try {
    const key = await newAuthority()
    const authority = formatAuthorityId('testmesh', key.publicKey)
    await writeFile(join(dir, 'join.token'), encodeToken(await newToken(key)) + '\n', { mode: 0o600 })
    const config = loadConfig({ flags: { mesh: 'testmesh', stateDir: dir, authority, tokenFile: join(dir, 'join.token') }, env: {} })
    const late = NOW + 8 * DAY
    const err = await preflight(config, late).then(() => null, (e: { code?: string, message: string }) => e)
    assert.is(err?.code, ErrorCodes.CONFIG_INVALID, 'a fresh node cannot join with an expired token')
    assert.match(err?.message ?? '', /token-expired/)
    await writeFile(join(dir, REDEMPTION_FILE), 'x\n', { mode: 0o600 })
    await preflight(config, late) // the start decides with the saved redemption (daemon/admission.ts settleMembership)
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test.run()
