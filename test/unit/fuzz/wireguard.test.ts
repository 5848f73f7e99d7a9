/**
 * Fuzz: what the drivers read back from the system (T9, T10; S8, S9):
 * `wg show <if> dump` (random text, field-level fuzz, one-byte and
 * multi-byte mutations of a real capture, and a 130 561-entry allowed-ips
 * list as in wireguard-go's netns.sh) and `ip -j` link / addr / route JSON.
 * Oracle: DRIVER_FAILED, or a state whose every field is well-formed and
 * that survives render → parse unchanged. The device private key (first
 * field of the dump) must never appear in a parsed state or an error.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { ErrorCodes } from '../../../src/errors.ts'
import { parseWgDump } from '../../../src/wireguard/dump.ts'
import type { DeviceState } from '../../../src/wireguard/types.ts'
import { parseAddrJson, parseLinkJson, parseRouteJson } from '../../../src/net/ip-read.ts'
import { parseIpv6Prefix } from '../../../src/net/prefix.ts'
import { anyString, mutateText, mutationsArb, nastyJson, oneMutationArb, outcomeSync, params, timeTests } from './helpers.ts'

timeTests(test)

const CODES = [ErrorCodes.DRIVER_FAILED]
const KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/
// Captured from wireguard-go 0.0.20220316 + wg 1.0.20210914 (private key replaced by a dummy of the same shape).
const PRIV = 'cLGkJqmjH7mAoHIlWK9a1X6Wf7lGVYkAF0Gwvr1K4Xc='
const PEER_KEYS = ['TH7lUzcshEVrzh623rEnISUPOmbqJyZ46KEmJkhXiWo=', '18jETtoNMlAtD/1HqGopqcZXyYYw6LxKzBvOTKfDaDo=', 'nRWVBqP2eOOezl2aXegTmK5jtOhu2CqaQI1Xz4FmE2k=']
const SAMPLE = [
  `${PRIV}\t97ba+9idPdM1K8wPmmisSLO6aTOQS1Fl5SikEgtoNx4=\t51820\toff`,
  `${PEER_KEYS[0]}\t(none)\t10.0.0.2:51820\tfd00:1:2:3::/64,fd00:1:2:4::2/128\t1700000123\t1184\t2072\t25`,
  `${PEER_KEYS[1]}\t(none)\t[fd00::9]:51821\tfd00:1:2:5::/64\t0\t0\t0\toff`,
  `${PEER_KEYS[2]}\t(none)\t(none)\t(none)\t0\t0\t0\toff`,
  ''
].join('\n')

/** render writes a state back as `wg show dump` text (with the dummy private key). */
function render (s: DeviceState): string {
  const peers = s.peers.map(p => [p.publicKey, '(none)', p.endpoint ?? '(none)', p.allowedIps.length === 0 ? '(none)' : p.allowedIps.join(','),
    p.latestHandshake, p.rxBytes, p.txBytes, p.persistentKeepalive === 0 ? 'off' : p.persistentKeepalive].join('\t'))
  return [[PRIV, s.publicKey ?? '(none)', s.listenPort, 'off'].join('\t'), ...peers, ''].join('\n')
}

/** Every 12-character window of the private key: none may show up in what the parser returns or throws. */
const PRIV_WINDOWS = Array.from({ length: PRIV.length - 11 }, (_, i) => PRIV.slice(i, i + 12))
function assertNoPrivateKey (text: string): void {
  for (const w of PRIV_WINDOWS) assert.not.ok(text.includes(w), `private key material leaked: ${text.slice(0, 200)}`)
}

function check (text: string): void {
  const r = outcomeSync(() => parseWgDump(text), CODES)
  if (!r.ok) { assertNoPrivateKey(r.error.message); return }
  const s = r.value
  assertNoPrivateKey(JSON.stringify(s))
  if (s.publicKey !== null) assert.match(s.publicKey, KEY_RE)
  assert.ok(Number.isSafeInteger(s.listenPort) && s.listenPort >= 0)
  for (const p of s.peers) {
    assert.match(p.publicKey, KEY_RE)
    for (const n of [p.latestHandshake, p.rxBytes, p.txBytes, p.persistentKeepalive]) assert.ok(Number.isSafeInteger(n) && n >= 0, `count ${n}`)
    for (const a of p.allowedIps) assert.ok(/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(a) || parseIpv6Prefix(a) === a, `allowed ip ${a} not canonical`)
    assert.equal([...p.allowedIps], [...p.allowedIps].sort())
  }
  assert.equal(parseWgDump(render(s)), s, 'render → parse is not a fixed point')
}

test('oracle sanity: the real capture parses, and render → parse reproduces it', () => {
  const s = parseWgDump(SAMPLE)
  assert.is(s.peers.length, 3)
  check(SAMPLE)
  assert.equal(parseWgDump(render(s)), s)
})

test('random text: DRIVER_FAILED, or a well-formed state', () => {
  const arb = fc.oneof(anyString(300), fc.array(fc.array(anyString(12), { maxLength: 9 }).map(f => f.join('\t')), { maxLength: 5 }).map(l => l.join('\n')))
  fc.assert(fc.property(arb, check), params(3000))
})

test('one-byte and multi-byte mutations of a real capture: DRIVER_FAILED without the private key, or a well-formed state', () => {
  fc.assert(fc.property(fc.oneof(oneMutationArb, mutationsArb), ops => { check(mutateText(SAMPLE, ops)) }), params(1000))
})

test('field-level fuzz of peer lines: counts, keys, endpoints and allowed-ips at their edges', () => {
  const field = fc.oneof(
    fc.constantFrom(...PEER_KEYS, PRIV, '(none)', 'off', '', '0', '-1', '1e3', '007', '9007199254740991', '9007199254740992', '99999999999999999999', ' 1',
      'fd00::/64', 'FD00::1/64', 'fd00::/129', 'fd00::/64,', ',', '10.0.0.1/32', '10.0.0.1/99', '::/0', 'fd00::/64,fd00::/64', '[::1]:1', 'x:y'),
    anyString(10)
  )
  const line = fc.array(field, { minLength: 7, maxLength: 9 }).map(f => f.join('\t'))
  const arb = fc.tuple(fc.constantFrom(SAMPLE.split('\n')[0] ?? '', `${PRIV}\t(none)\t0\toff`, `${PRIV}\t(none)\t-1\toff`, `${PRIV}\t${PRIV}\t1`), fc.array(line, { maxLength: 4 }))
    .map(([dev, peers]) => [dev, ...peers].join('\n'))
  fc.assert(fc.property(arb, check), params(3000))
})

// netns.sh's "split responses" case lists 130 561 allowed-ips on one peer. Parsing costs
// ~45 µs per entry (about 6 s of CPU for all of them), so the default run uses 5 000
// and FUZZ_SCALE >= 10 (the nightly setting) uses the full count.
const SPLIT_RESPONSE_IPS = Number(process.env.FUZZ_SCALE ?? 1) >= 10 ? 130_561 : 5_000

test(`a peer with ${SPLIT_RESPONSE_IPS} allowed-ips (netns.sh "split responses") parses and keeps every entry`, () => {
  const ips: string[] = []
  for (let a = 1; a < 600 && ips.length < SPLIT_RESPONSE_IPS; a++) for (let b = 1; b <= 256 && ips.length < SPLIT_RESPONSE_IPS; b++) ips.push(`fd00:${a.toString(16)}:${b.toString(16)}::/64`)
  const text = `${PRIV}\t(none)\t51820\toff\n${PEER_KEYS[0]}\t(none)\t(none)\t${ips.join(',')}\t0\t0\t0\toff\n`
  const s = parseWgDump(text)
  assert.is(s.peers[0]?.allowedIps.length, SPLIT_RESPONSE_IPS)
  assert.equal(s.peers[0]?.allowedIps, [...ips].sort())
})

test('`ip -j` link / addr / route JSON: random and mutated output is DRIVER_FAILED, or well-typed', () => {
  const link = '[{"ifindex":5,"ifname":"gm0","flags":["POINTOPOINT","NOARP","UP","LOWER_UP"],"mtu":1420,"operstate":"UNKNOWN"}]'
  const addr = '[{"ifname":"gm0","addr_info":[{"family":"inet6","local":"fd00:1:2:3::1","prefixlen":64,"scope":"global"},{"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}]'
  const route = '[{"dst":"fd00:1::/48","dev":"gm0","protocol":"0x9a","metric":1024},{"dst":"default","metric":5},{"dst":"fd00::5","prefsrc":"fd00::1"}]'
  assert.equal(parseLinkJson(link, 'gm0'), { mtu: 1420, up: true }, 'oracle sanity')
  assert.equal(parseAddrJson(addr), ['fd00:1:2:3::1/64'])
  assert.is(parseRouteJson(route).length, 3)
  const arb = fc.oneof(
    anyString(100),
    nastyJson.map(j => JSON.stringify(j) ?? ''),
    fc.array(nastyJson, { maxLength: 3 }).map(j => JSON.stringify(j)),
    fc.tuple(fc.constantFrom(link, addr, route), fc.oneof(oneMutationArb, mutationsArb)).map(([t, ops]) => mutateText(t, ops))
  )
  fc.assert(fc.property(arb, text => {
    const l = outcomeSync(() => parseLinkJson(text, 'gm0'), CODES)
    if (l.ok) assert.ok(typeof l.value.mtu === 'number' && typeof l.value.up === 'boolean')
    const a = outcomeSync(() => parseAddrJson(text), CODES)
    if (a.ok) for (const x of a.value) assert.type(x, 'string')
    const r = outcomeSync(() => parseRouteJson(text), CODES)
    if (r.ok) for (const x of r.value) assert.ok(x.dst.includes('/') && typeof x.metric === 'number' && (x.src === null || typeof x.src === 'string'))
  }), params(3000))
})

test.run()
