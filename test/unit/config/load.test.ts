import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadConfig, envName, flagName } from '../../../src/config/load.ts'
import { DEFAULTS } from '../../../src/config/schema.ts'
import { ErrorCodes, exitCodeFor, isGridmeshError } from '../../../src/errors.ts'

const base = { mesh: 'lab', stateDir: '/var/lib/gridmesh' }

function rejects (flags: Record<string, unknown>, pattern: RegExp, env: Record<string, string> = {}, file?: string): void {
  try {
    loadConfig({ flags, env, readFile: () => { if (file === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' }); return file } })
  } catch (err) {
    assert.ok(isGridmeshError(err), 'a GridmeshError')
    assert.is((err as { code: string }).code, ErrorCodes.CONFIG_INVALID)
    assert.is(exitCodeFor(err), 2)
    assert.not.match((err as Error).message, /\n/, 'one line')
    assert.match((err as Error).message, pattern)
    return
  }
  assert.unreachable(`expected rejection matching ${String(pattern)}`)
}

test('defaults fill every optional key', () => {
  const c = loadConfig({ flags: base, env: {} })
  assert.is(c.interface, DEFAULTS.interface)
  assert.is(c.wgPort, DEFAULTS.wgPort)
  assert.equal(c.bootstrap, [])
  assert.ok(Object.isFrozen(c))
})

test('flags win over env, env wins over the config file', () => {
  const file = 'mesh: filemesh\nstateDir: /from/file\nwgPort: 1000\ninterface: gmfile\n'
  const c = loadConfig({
    flags: { config: '/etc/gridmesh.yaml', wgPort: '3000' },
    env: { GRIDMESH_WG_PORT: '2000', GRIDMESH_INTERFACE: 'gmenv' },
    readFile: () => file
  })
  assert.is(c.mesh, 'filemesh')
  assert.is(c.interface, 'gmenv')
  assert.is(c.wgPort, 3000)
})

test('env lists are split on commas and whitespace', () => {
  const c = loadConfig({ flags: base, env: { GRIDMESH_BOOTSTRAP: '10.0.0.1:7700, 10.0.0.2:7700' } })
  assert.equal(c.bootstrap, ['10.0.0.1:7700', '10.0.0.2:7700'])
})

test('bootstrap accepts host:port, [v6]:port and multiaddrs', () => {
  const c = loadConfig({ flags: { ...base, bootstrap: ['10.0.0.1:7700', '[fd00::1]:7700', '/ip4/10.0.0.3/tcp/7700', '/ip6/fd00::4/tcp/7700/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X'] }, env: {} })
  assert.is(c.bootstrap.length, 4)
})

test('env and flag names follow one rule', () => {
  assert.is(envName('wgPort'), 'GRIDMESH_WG_PORT')
  assert.is(flagName('stateDir'), '--state-dir')
  assert.is(envName('adminSocket'), 'GRIDMESH_ADMIN_SOCKET')
})

const BAD: [string, Record<string, unknown>, RegExp][] = [
  ['missing mesh', { stateDir: '/x' }, /--mesh/],
  ['missing state dir', { mesh: 'lab' }, /--state-dir/],
  ['relative state dir', { ...base, stateDir: 'rel/dir' }, /absolute/],
  ['mesh name with bad chars', { ...base, mesh: 'Lab Mesh!' }, /mesh name/],
  ['interface name too long', { ...base, interface: 'averyverylongifname' }, /interface name/],
  ['port out of range', { ...base, wgPort: '70000' }, /--wg-port/],
  ['port not a number', { ...base, wgPort: 'abc' }, /--wg-port: expected a whole number/],
  ['negative port', { ...base, wgPort: '-1' }, /--wg-port/],
  ['listen without port', { ...base, listen: '0.0.0.0' }, /--listen/],
  ['bootstrap garbage', { ...base, bootstrap: ['not an address'] }, /neither HOST:PORT nor/],
  ['mtu below IPv6 minimum', { ...base, mtu: '1000' }, /--mtu/],
  ['unknown log level', { ...base, logLevel: 'loud' }, /--log-level/],
  ['probe port equal to wg port', { ...base, probePort: '51820' }, /probe port must differ/],
  ['relative admin socket', { ...base, adminSocket: 'admin.sock' }, /absolute/]
]
for (const [name, flags, pattern] of BAD) {
  test(`rejects ${name}`, () => { rejects(flags, pattern) })
}

test('rejects a bad env value naming the env var', () => {
  rejects(base, /env GRIDMESH_WG_PORT/, { GRIDMESH_WG_PORT: 'x' })
})

test('rejects an unknown key in the config file, listing valid keys', () => {
  rejects({ config: '/c.yaml' }, /unknown config key "wgport".*valid keys/, {}, 'mesh: a\nstateDir: /x\nwgport: 1\n')
})

test('rejects a wrong type in the config file naming the file and key', () => {
  rejects({ config: '/c.yaml' }, /config file \/c.yaml: key "wgPort"/, {}, 'mesh: a\nstateDir: /x\nwgPort: "many"\n')
})

test('rejects invalid YAML with its line', () => {
  rejects({ config: '/c.yaml' }, /not valid YAML at line/, {}, 'mesh: a\n  stateDir: [unclosed\n')
})

test('rejects a config file that is a list', () => {
  rejects({ config: '/c.yaml' }, /must be a mapping/, {}, '- a\n- b\n')
})

test('rejects a missing config file naming it', () => {
  rejects({ config: '/nope.yaml' }, /cannot read config file \/nope.yaml \(ENOENT\)/)
})

test.run()
