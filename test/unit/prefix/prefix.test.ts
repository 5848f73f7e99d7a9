import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {
  parseIpv6Prefix, parseIpv6Address, prefixContains, prefixesOverlap, prefixLength,
  hostAddress, addressToPrefix128, isUlaPrefix, formatIpv6, prefixFromValue, prefixNetwork
} from '../../../src/net/prefix.ts'
import type { Ipv6Prefix, Ipv6Address } from '../../../src/net/prefix.ts'
import { ErrorCodes, GridmeshError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'

const p = (s: string): Ipv6Prefix => parseIpv6Prefix(s)
const a = (s: string): Ipv6Address => parseIpv6Address(s)

function throwsCode (fn: () => unknown, code: ErrorCode): void {
  try {
    fn()
  } catch (err) {
    assert.instance(err, GridmeshError)
    assert.is((err as GridmeshError).code, code)
    return
  }
  assert.unreachable('expected a GridmeshError')
}

const canonicalPrefixes: ReadonlyArray<[string, string]> = [
  ['fd00::/8', 'fd00::/8'],
  ['FD12:3456:789A::/48', 'fd12:3456:789a::/48'],
  ['fd12:3456:789a:0001:0000:0000:0000:0000/64', 'fd12:3456:789a:1::/64'],
  ['fd12:3456:789a:1::5/64', 'fd12:3456:789a:1::/64'],
  ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128'],
  ['2001:db8:0:1:1:1:1:1/128', '2001:db8:0:1:1:1:1:1/128'],
  ['2001:0:0:1:0:0:0:1/128', '2001:0:0:1::1/128'],
  ['fd00:0:0:1:0:0:1:0/128', 'fd00::1:0:0:1:0/128'],
  ['::/0', '::/0'],
  ['ffff::1/0', '::/0'],
  ['::1/128', '::1/128'],
  ['::ffff:1.2.3.4/128', '::ffff:102:304/128']
]

for (const [input, want] of canonicalPrefixes) {
  test(`prefix ${input} is canonicalised to ${want}`, () => {
    assert.is(parseIpv6Prefix(input), want)
  })
}

const badPrefixes = [
  '', 'fd00::', 'fd00::/', 'fd00::/129', 'fd00::/064', 'fd00::/-1', 'fd00::/6 4', ' fd00::/64',
  'fd00::/64 ', 'fd00:::/64', 'fd00::g/64', '10.0.0.0/8', 'fd00::%eth0/64', 'fd00::/64/64', '1:2:3:4:5:6:7:8:9/64'
]

for (const input of badPrefixes) {
  test(`prefix ${JSON.stringify(input)} is refused with the caller's code`, () => {
    throwsCode(() => parseIpv6Prefix(input), ErrorCodes.CONFIG_INVALID)
    throwsCode(() => parseIpv6Prefix(input, ErrorCodes.RECORD_INVALID), ErrorCodes.RECORD_INVALID)
  })
}

test('a bad prefix error is one line naming the input and an example', () => {
  try {
    parseIpv6Prefix('nope')
    assert.unreachable()
  } catch (err) {
    assert.match((err as Error).message, /"nope".*fd00:1:2::\/48/)
    assert.not.match((err as Error).message, /\n/)
  }
})

const addresses: ReadonlyArray<[string, string | null]> = [
  ['FD00::1', 'fd00::1'],
  ['fd00:0000:0000:0000:0000:0000:0000:0001', 'fd00::1'],
  ['::', '::'],
  ['fd00::/64', null],
  ['fd00::1 ', null],
  ['hello', null],
  ['1.2.3.4', null]
]

for (const [input, want] of addresses) {
  test(`address ${JSON.stringify(input)} parses to ${String(want)}`, () => {
    if (want === null) throwsCode(() => parseIpv6Address(input, ErrorCodes.RECORD_INVALID), ErrorCodes.RECORD_INVALID)
    else assert.is(parseIpv6Address(input), want)
  })
}

const containment: ReadonlyArray<[string, string, boolean]> = [
  ['fd00:1:2::/48', 'fd00:1:2:3::/64', true],
  ['fd00:1:2::/48', 'fd00:1:2::/48', true],
  ['fd00:1:2:3::/64', 'fd00:1:2::/48', false],
  ['fd00:1:2::/48', 'fd00:1:3::/64', false],
  ['fd00:1:2::/48', 'fd00:1:2:ffff:ffff:ffff:ffff:ffff', true],
  ['fd00:1:2::/48', 'fd00:1:3::', false],
  ['::/0', '2001:db8::1', true],
  ['fd00:1:2:3::1/128', 'fd00:1:2:3::1', true],
  ['fd00:1:2:3::1/128', 'fd00:1:2:3::2', false]
]

for (const [outer, inner, want] of containment) {
  test(`${outer} ${want ? 'contains' : 'does not contain'} ${inner}`, () => {
    const innerValue = inner.includes('/') ? p(inner) : a(inner)
    assert.is(prefixContains(p(outer), innerValue), want)
  })
}

const overlaps: ReadonlyArray<[string, string, boolean]> = [
  ['fd00:1:2::/48', 'fd00:1:2:3::/64', true],
  ['fd00:1:2:3::/64', 'fd00:1:2::/48', true],
  ['fd00:1:2:3::/64', 'fd00:1:2:4::/64', false],
  ['::/0', 'fd00::/8', true],
  ['fd00::/8', 'fc00::/8', false]
]

for (const [x, y, want] of overlaps) {
  test(`${x} and ${y} ${want ? 'overlap' : 'do not overlap'}`, () => {
    assert.is(prefixesOverlap(p(x), p(y)), want)
  })
}

test('prefix length is read back from the canonical form', () => {
  assert.is(prefixLength(p('fd00::/8')), 8)
  assert.is(prefixLength(p('::/0')), 0)
  assert.is(prefixLength(p('fd00::1/128')), 128)
})

const hosts: ReadonlyArray<[string, bigint, string | null]> = [
  ['fd00:1:2:3::/64', 0n, 'fd00:1:2:3::'],
  ['fd00:1:2:3::/64', 1n, 'fd00:1:2:3::1'],
  ['fd00:1:2:3::/64', 0xffffn, 'fd00:1:2:3::ffff'],
  ['fd00:1:2:3::/64', (1n << 64n) - 1n, 'fd00:1:2:3:ffff:ffff:ffff:ffff'],
  ['fd00:1:2:3::/64', 1n << 64n, null],
  ['fd00:1:2:3::/64', -1n, null],
  ['fd00:1:2:3::1/128', 0n, 'fd00:1:2:3::1'],
  ['fd00:1:2:3::1/128', 1n, null]
]

for (const [prefix, n, want] of hosts) {
  test(`host ${n} of ${prefix} is ${String(want)}`, () => {
    if (want === null) throwsCode(() => hostAddress(p(prefix), n), ErrorCodes.INTERNAL)
    else assert.is(hostAddress(p(prefix), n), want)
  })
}

test('an address becomes the /128 holding exactly it', () => {
  const addr = a('fd00:1:2:3::1')
  assert.is(addressToPrefix128(addr), 'fd00:1:2:3::1/128')
  assert.ok(prefixContains(addressToPrefix128(addr), addr))
})

const ula: ReadonlyArray<[string, boolean]> = [
  ['fd12:3456:789a::/48', true],
  ['fc00::/7', true],
  ['fcff::/16', true],
  ['fe80::/10', false],
  ['fc00::/6', false],
  ['2001:db8::/32', false]
]

for (const [prefix, want] of ula) {
  test(`${prefix} ${want ? 'is' : 'is not'} a ULA prefix`, () => {
    assert.is(isUlaPrefix(p(prefix)), want)
  })
}

test('out-of-range network or length is a bug, not a config error', () => {
  throwsCode(() => prefixFromValue(1n << 128n, 64), ErrorCodes.INTERNAL)
  throwsCode(() => prefixFromValue(0n, 129), ErrorCodes.INTERNAL)
})

const bigint128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })

test('formatting and parsing any address round-trip, and parsing is idempotent', () => {
  fc.assert(fc.property(bigint128, (value) => {
    const text = formatIpv6(value)
    assert.is(text, text.toLowerCase())
    assert.not.match(text, /(^|:)0[0-9a-f]/)
    assert.is(parseIpv6Address(text), text)
    assert.is(parseIpv6Address(text.toUpperCase()), text)
  }))
})

test('any parsed prefix has zero host bits and contains its own hosts', () => {
  fc.assert(fc.property(bigint128, fc.integer({ min: 0, max: 128 }), (value, length) => {
    const prefix = prefixFromValue(value, length)
    assert.is(parseIpv6Prefix(prefix), prefix)
    assert.is(prefixLength(prefix), length)
    assert.ok(prefixContains(prefix, hostAddress(prefix, 0n)))
    assert.is(prefixNetwork(prefix) & ((1n << BigInt(128 - length)) - 1n), 0n)
  }))
})

test.run()
