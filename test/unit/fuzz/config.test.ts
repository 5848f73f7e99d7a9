/**
 * Fuzz: configuration (T9; R15, S8). Random text and bytes as the YAML
 * config file, YAML documents built from field-edited valid configs,
 * one-byte and multi-byte mutations of a valid file, and random
 * GRIDMESH_* environment values and flag values go to loadConfig.
 * Oracle: CONFIG_INVALID with a one-line message (the CLI contract prints
 * it as the one stderr line), or a frozen Config that the schema accepts
 * unchanged and that survives being written back as YAML and loaded again.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { ErrorCodes, exitCodeFor } from '../../../src/errors.ts'
import { envName, loadConfig } from '../../../src/config/load.ts'
import { CONFIG_KEYS, configSchema, type Config } from '../../../src/config/schema.ts'
import { listenAddr, toDialAddr } from '../../../src/mesh/addr.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { anyString, fieldEditsArb, mutateText, mutationsArb, nastyJson, oneMutationArb, outcomeSync, params, timeTests, type Outcome } from './helpers.ts'

timeTests(test)

// The yaml parser reports odd-but-parseable input (unknown directives, bad tags) as
// process warnings: expected noise for fuzzed files, so only those are muted here.
process.removeAllListeners('warning')
process.on('warning', w => { if (w.name !== 'YAMLWarning') process.stderr.write(`${w.name}: ${w.message}\n`) })

const CODES = [ErrorCodes.CONFIG_INVALID]
const KEYS: ReadonlySet<string> = new Set(CONFIG_KEYS)
const VALID_TEXT = `mesh: lab
stateDir: /var/lib/gridmesh
interface: gm0
listen: 0.0.0.0:7700
wgPort: 51820
probePort: 51821
bootstrap:
  - 10.0.0.1:7700
  - /ip4/10.0.0.2/tcp/7700
announce: ['10.0.0.5:51820', '[2001:db8::5]:51820']
mtu: 1420
logLevel: info
heartbeatMs: 2000
metrics: 127.0.0.1:9464
`
const VALID = parseYaml(VALID_TEXT) as Record<string, unknown>

const fromFile = (text: string, env: Record<string, string> = {}, flags: Record<string, unknown> = {}): Outcome<Config> =>
  outcomeSync(() => loadConfig({ flags: { config: '/etc/gridmesh.yaml', ...flags }, env, readFile: () => text }), CODES)

/** Every bootstrap entry and the listen address of an accepted config are ones the libp2p node can use. */
function usableByNode (c: Config): void {
  for (const b of c.bootstrap) toDialAddr(b)
  const host = c.listen.slice(0, c.listen.lastIndexOf(':')).replace(/^\[|\]$/g, '')
  multiaddr(listenAddr(host, 1))
}

/** What every outcome must satisfy. */
function check (r: Outcome<Config>, fileText?: string): void {
  if (!r.ok) return
  const c = r.value
  assert.ok(Object.isFrozen(c))
  assert.equal(configSchema.parse(c), { ...c }, 'accepted config does not re-validate unchanged')
  const again = fromFile(stringifyYaml({ ...c }))
  assert.ok(again.ok, 'accepted config, written back as YAML, is refused')
  assert.equal(again.value, c, 'config → YAML → config is not a fixed point')
  assert.ok(c.wgPort !== c.probePort && c.stateDir.startsWith('/') && c.adminSocket.startsWith('/'))
  usableByNode(c)
  if (fileText !== undefined) {
    // every key the file spelled is a config key (unknown keys must be refused, not ignored)
    let doc: unknown
    try { doc = parseYaml(fileText) } catch { return }
    if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
      for (const k of Object.keys(doc)) assert.ok(KEYS.has(k), `unknown key ${JSON.stringify(k)} accepted`)
    }
  }
}

/** Every string (keys and values) in a parsed input: what an error message may echo back. */
function stringsIn (v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v)
  else if (Array.isArray(v)) for (const x of v) stringsIn(x, out)
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push(k); stringsIn(x, out) }
  return out
}

/**
 * Error messages are one line: CONFIG_INVALID is printed as the CLI's single
 * stderr line (exit 2). Our own text never breaks the line; a key or value
 * the user wrote with a CR/LF in it is echoed as written (reported, not
 * fixed here), so those echoes are cut out before the check.
 */
function checkError (r: Outcome<Config>, inputs: unknown): void {
  if (r.ok) return
  assert.is(exitCodeFor(r.error), 2)
  let msg = r.error.message
  for (const s of stringsIn(inputs)) if (/[\r\n]/.test(s)) msg = msg.split(s).join('')
  assert.not.match(msg, /[\r\n]/, `multi-line error: ${JSON.stringify(msg)}`)
}

const docOf = (text: string): unknown => { try { return parseYaml(text) } catch { return null } }

/** Loads `text` as the config file and applies both oracles. */
function checkFile (text: string): void {
  const r = fromFile(text)
  check(r, text)
  checkError(r, docOf(text))
}

const near: fc.Arbitrary<unknown> = fc.oneof(
  nastyJson,
  fc.constantFrom('lab', 'Lab', '-lab', 'a'.repeat(64), '/abs', 'rel/dir', '', 'gridmesh0', 'a'.repeat(16), 'eth0:1', '0.0.0.0:0', '0.0.0.0:65536',
    '[::1]:9464', '[::]:9464', '10.0.0.1:9464', 'localhost:9464', '/ip6/::1/tcp/1/p2p/12D3KooW', '/dns/x/tcp/99999', 1279, 1280, 9000, 9001,
    51820, 51821, 0, 65535, 65536, '51820', 'debug', 'verbose', 99, 100, 60_000, 60_001, ['10.0.0.1:1'], Array.from({ length: 65 }, () => '10.0.0.1:1'),
    'gm1:lab:AAAA', 'gmt1.a.b', true),
  anyString(40)
)

test('oracle sanity: the known-good file loads with its values, and the checks hold for it', () => {
  const r = fromFile(VALID_TEXT)
  assert.ok(r.ok)
  assert.is(r.value.mesh, 'lab')
  assert.equal(r.value.bootstrap, ['10.0.0.1:7700', '/ip4/10.0.0.2/tcp/7700'])
  assert.is(r.value.metrics, '127.0.0.1:9464')
  check(r, VALID_TEXT)
})

test('random text and bytes as the config file: CONFIG_INVALID in one line, or a config that re-validates', () => {
  const arb = fc.oneof(anyString(400), fc.uint8Array({ maxLength: 300 }).map(b => new TextDecoder().decode(b)),
    fc.array(fc.constantFrom('mesh: lab\n', 'stateDir: /x\n', '- a\n', '  b: 1\n', '&a [1]\n', '*a\n', '---\n', '? x\n', '!!binary AAAA\n', '{', '"', '\t', '<<: *a\n', 'x: !!set {a}\n'), { maxLength: 8 }).map(a => a.join('')))
  fc.assert(fc.property(arb, text => {
    checkFile(text)
  }), params(800))
})

test('YAML documents from field-edited valid configs: CONFIG_INVALID in one line, or a config that re-validates', () => {
  const keyArb = fc.constantFrom(...CONFIG_KEYS, 'unknown', 'Mesh', 'state_dir', '', 'constructor', 'toString', '__proto__', 'a\nb')
  const arb = fc.tuple(fieldEditsArb(VALID, near), fc.array(fc.tuple(keyArb, near), { maxLength: 2 })).map(([doc, extra]) => {
    const out: Record<string, unknown> = { ...doc }
    // defineProperty: a plain `out[k] = v` with k `__proto__` would set the prototype, not write the key
    for (const [k, v] of extra) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    return stringifyYaml(out)
  })
  fc.assert(fc.property(arb, text => {
    checkFile(text)
  }), params(350))
})

test('one-byte and multi-byte mutations of a valid file: CONFIG_INVALID in one line, or a config that re-validates', () => {
  fc.assert(fc.property(fc.oneof(oneMutationArb, mutationsArb), ops => {
    const text = mutateText(VALID_TEXT, ops)
    checkFile(text)
  }), params(700))
})

test('random GRIDMESH_* env values and flag values: CONFIG_INVALID in one line, or a config that re-validates and honours them', () => {
  const envArb = fc.dictionary(fc.constantFrom(...CONFIG_KEYS), fc.oneof(near.map(v => typeof v === 'string' ? v : JSON.stringify(v) ?? ''), anyString(30)), { maxKeys: 3 })
  const flagArb = fc.dictionary(fc.constantFrom(...CONFIG_KEYS), near, { maxKeys: 2 })
  fc.assert(fc.property(envArb, flagArb, (envByKey, flags) => {
    const env = Object.fromEntries(Object.entries(envByKey).map(([k, v]) => [envName(k), v]))
    const run = (): Config => loadConfig({ flags: { config: '/f', ...flags }, env, readFile: () => VALID_TEXT })
    const r = outcomeSync(run, CODES)
    check(r)
    checkError(r, [env, flags])
    if (!r.ok) return
    // precedence: a flag that was accepted is what the config holds (after the documented coercions)
    for (const [k, v] of Object.entries(flags)) {
      if (v === undefined || k === 'config') continue
      const got = (r.value as Record<string, unknown>)[k]
      if (typeof v !== 'string') assert.equal(got, v, `flag ${k} not honoured`)
    }
  }), params(700))
})

// Found by this fuzzing: a top-level `__proto__:` mapping in the YAML file was not refused as
// an unknown key; `merged[key] = value` set the merged object's prototype, so its fields were
// read as config values. Fixed by building the merged maps with Object.create(null).
test('a `__proto__` key in the config file is refused as an unknown key', () => {
  for (const text of ['mesh: lab\nstateDir: /x\n__proto__:\n  logLevel: debug\n', 'mesh: lab\nstateDir: /x\n__proto__: 1\n']) {
    const r = fromFile(text)
    if (r.ok) { assert.unreachable('__proto__ key accepted'); return }
    checkError(r, docOf(text))
    assert.match(r.error.message, /unknown config key "__proto__"/)
  }
})

// Found by this fuzzing: the schema accepted bootstrap multiaddrs and listen hosts the libp2p
// side cannot use, so `gridmesh up` got past config validation and failed in createMeshNode with
// a raw multiaddr error (exit 1). The schema now checks them (and `check` above holds every
// accepted config to toDialAddr / listenAddr).
test('bootstrap entries and listen addresses the libp2p node cannot use are CONFIG_INVALID naming the flag', () => {
  const cases = [
    ['bootstrap', ['/ip4/999.1.1.1/tcp/7700']], ['bootstrap', ['/ip4/1.2.3.4/tcp/99999']], ['bootstrap', ['/ip6/zz/tcp/1']],
    ['bootstrap', ['10.0.0.1:07700']], ['bootstrap', ['/ip6/::1/tcp/1/p2p/12D3KooW']], ['listen', 'localhost:7700']
  ] as const
  for (const [key, value] of cases) {
    const r = outcomeSync(() => loadConfig({ flags: { mesh: 'lab', stateDir: '/x', [key]: value }, env: {} }), CODES)
    if (r.ok) { assert.unreachable(`${key} ${JSON.stringify(value)} accepted`); return }
    checkError(r, value)
    assert.match(r.error.message, new RegExp(`^invalid --${key}: `))
  }
})

test.run()
