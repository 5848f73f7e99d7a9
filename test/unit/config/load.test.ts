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

test('bootstrap keeps every dialable form: IPs, [v6], DNS names, dns multiaddrs, /p2p/ with a real PeerId', () => {
  const ok = ['10.0.0.1:7700', '[fd00::1]:7700', '[::ffff:10.0.0.1]:7700', 'seed.example.org:7700', 'localhost:7700', 'example.org.:7700',
    '/ip4/10.0.0.3/tcp/7700', '/ip6/fd00::4/tcp/7700', '/dns/seed.example.org/tcp/7700', '/dns4/seed/tcp/1', '/dns6/seed/tcp/65535',
    '/ip4/10.0.0.3/tcp/7700/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X', '/ip4/10.0.0.3/tcp/7700/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N']
  const c = loadConfig({ flags: { ...base, bootstrap: ok }, env: {} })
  assert.equal(c.bootstrap, ok)
})

test('listen keeps IPv4 and bracketed IPv6 literals', () => {
  for (const listen of ['0.0.0.0:7700', '10.0.0.1:7700', '127.0.0.1:1', '[::]:7700', '[fd00::1]:65535', '[::ffff:10.0.0.1]:7700']) {
    assert.is(loadConfig({ flags: { ...base, listen }, env: {} }).listen, listen)
  }
})

const BAD_BOOTSTRAP: [string, RegExp][] = [
  ['/ip4/999.1.1.1/tcp/7700', /"999\.1\.1\.1" is not an IPv4 address/],
  ['/ip4/010.0.0.1/tcp/7700', /not an IPv4 address/],
  ['/ip6/zz/tcp/1', /"zz" is not an IPv6 address/],
  ['/ip4/1.2.3.4/tcp/99999', /port 99999 is not 1-65535/],
  ['/ip4/1.2.3.4/tcp/0', /port 0 is not 1-65535/],
  ['/ip4/1.2.3.4/tcp/07700', /port 07700 is not 1-65535/],
  ['/dns/a..b/tcp/1', /"a\.\.b" is not a valid host name/],
  ['/dns/-x-/tcp/1', /not a valid host name/],
  ['/ip4/1.2.3.4/tcp/7700/p2p/12D3KooW', /"12D3KooW" is not a peer id/],
  ['/ip4/1.2.3.4/udp/7700', /neither HOST:PORT nor/],
  ['999.1.1.1:7700', /"999\.1\.1\.1" is not an IPv4 address/],
  ['10.0.0.1:99999', /port 99999 is not 1-65535/],
  ['10.0.0.1:07700', /port 07700 is not 1-65535/],
  ['[zz::1]:7700', /"zz::1" is not an IPv6 address/],
  ['[10.0.0.1]:7700', /"10\.0\.0\.1" is not an IPv6 address/],
  ['bad_host:7700', /"bad_host" is not a valid host name/]
]
for (const [entry, pattern] of BAD_BOOTSTRAP) {
  test(`rejects bootstrap ${entry} naming the flag, env var or file key`, () => {
    rejects({ ...base, bootstrap: [entry] }, new RegExp(`^invalid --bootstrap: .*${pattern.source}`))
    rejects(base, new RegExp(`^invalid env GRIDMESH_BOOTSTRAP: .*${pattern.source}`), { GRIDMESH_BOOTSTRAP: `10.0.0.1:7700,${entry}` })
    rejects({ config: '/c.yaml' }, new RegExp(`^invalid config file /c.yaml: key "bootstrap": .*${pattern.source}`), {}, `mesh: a\nstateDir: /x\nbootstrap: ['${entry}']\n`)
  })
}

for (const listen of ['localhost:7700', 'node1.example.org:7700', '999.1.1.1:7700', '[zz::1]:7700', '[10.0.0.1]:7700', '10.0.0.1:0']) {
  test(`rejects listen ${listen} naming the flag, env var or file key`, () => {
    rejects({ ...base, listen }, /^invalid --listen: /)
    rejects(base, /^invalid env GRIDMESH_LISTEN: /, { GRIDMESH_LISTEN: listen })
    rejects({ config: '/c.yaml' }, /^invalid config file \/c.yaml: key "listen": /, {}, `mesh: a\nstateDir: /x\nlisten: '${listen}'\n`)
  })
}

test('rejects a host name in listen with a message saying an IP is needed', () => {
  rejects({ ...base, listen: 'localhost:7700' }, /^invalid --listen: listen must be IP:PORT with an IP address, not a host name/)
})

test('rejects a __proto__ key in the config file as unknown and applies none of its values', () => {
  for (const file of ['mesh: a\nstateDir: /x\n__proto__:\n  logLevel: debug\n', 'mesh: a\nstateDir: /x\n__proto__: {}\n', 'mesh: a\nstateDir: /x\n"__proto__": 1\n']) {
    rejects({ config: '/c.yaml' }, /^unknown config key "__proto__" in config file \/c.yaml; valid keys/, {}, file)
  }
})

test('a __proto__ flag is refused as unknown, not merged as a prototype', () => {
  const flags = JSON.parse('{"mesh":"lab","stateDir":"/x","__proto__":{"logLevel":"debug"}}') as Record<string, unknown>
  rejects(flags, /^unknown config key "__proto__" in flag --__proto__; valid keys/)
})

test('an accepted config has no __proto__ key and a plain prototype', () => {
  const c = loadConfig({ flags: { config: '/c.yaml' }, env: {}, readFile: () => 'mesh: a\nstateDir: /x\n' })
  assert.is(Object.getPrototypeOf(c), Object.prototype)
  assert.not.ok(Object.hasOwn(c, '__proto__'))
  assert.is(c.logLevel, DEFAULTS.logLevel)
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
