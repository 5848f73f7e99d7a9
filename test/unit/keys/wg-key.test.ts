import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import {
  generateWgKeyPair, wgPublicKeyFromPrivate, parseWgPublicKey, parseWgPrivateKey, wgKeyToHex, wgPublicKeyFromHex
} from '../../../src/keys/wg-key.ts'
import { ErrorCodes, GridmeshError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'

function throwsCode (fn: () => unknown, code: ErrorCode): GridmeshError {
  try {
    fn()
  } catch (err) {
    assert.instance(err, GridmeshError)
    assert.is((err as GridmeshError).code, code)
    return err as GridmeshError
  }
  throw new Error('expected a GridmeshError')
}

// RFC 7748 §6.1 test vector (Alice), in base64.
const RFC_PRIVATE = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex').toString('base64')
const RFC_PUBLIC = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex').toString('base64')

test('the public key of the RFC 7748 test vector matches the RFC', () => {
  assert.is(wgPublicKeyFromPrivate(parseWgPrivateKey(RFC_PRIVATE)), RFC_PUBLIC)
})

test('a generated pair is 44-char base64, clamped, and self-consistent', () => {
  for (let i = 0; i < 20; i++) {
    const pair = generateWgKeyPair()
    assert.is(parseWgPrivateKey(pair.privateKey), pair.privateKey)
    assert.is(parseWgPublicKey(pair.publicKey), pair.publicKey)
    const raw = Buffer.from(pair.privateKey, 'base64')
    assert.is(raw[0]! & 7, 0)
    assert.is(raw[31]! & 0xc0, 0x40)
    assert.is(wgPublicKeyFromPrivate(pair.privateKey), pair.publicKey)
  }
})

test('two generated pairs differ', () => {
  assert.is.not(generateWgKeyPair().privateKey, generateWgKeyPair().privateKey)
})

test('derived public keys match `wg pubkey`, for our keys and for `wg genkey` keys', () => {
  const ours = generateWgKeyPair()
  const pubkey = (priv: string): string => {
    const r = spawnSync('/usr/bin/wg', ['pubkey'], { input: `${priv}\n`, encoding: 'utf8' })
    assert.is(r.status, 0, 'wg pubkey failed: install wireguard-tools')
    return r.stdout.trim()
  }
  assert.is(pubkey(ours.privateKey), ours.publicKey)
  const genkey = spawnSync('/usr/bin/wg', ['genkey'], { encoding: 'utf8' })
  assert.is(genkey.status, 0, 'wg genkey failed: install wireguard-tools')
  const theirs = parseWgPrivateKey(genkey.stdout.trim())
  assert.is(wgPublicKeyFromPrivate(theirs), pubkey(theirs))
})

const ZERO_KEY = Buffer.alloc(32).toString('base64')
const badKeys: ReadonlyArray<[string, string]> = [
  ['empty', ''],
  ['too short', RFC_PUBLIC.slice(0, 43)],
  ['too long', `${RFC_PUBLIC}A`],
  ['missing padding', `${RFC_PUBLIC.slice(0, 43)}A`],
  ['url-safe alphabet', RFC_PUBLIC.replace(/[+/]/g, '_').replace(/^./, '-')],
  ['non-canonical last char', `${RFC_PUBLIC.slice(0, 42)}b=`],
  ['33 bytes', Buffer.alloc(33, 1).toString('base64')],
  ['31 bytes', Buffer.alloc(31, 1).toString('base64')],
  ['all zero', ZERO_KEY],
  ['surrounding whitespace', ` ${RFC_PUBLIC}`],
  ['trailing newline', `${RFC_PUBLIC}\n`],
  ['hex instead of base64', '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a']
]

for (const [name, input] of badKeys) {
  test(`a key that is ${name} is refused with the caller's code and without echoing it`, () => {
    const pubErr = throwsCode(() => parseWgPublicKey(input), ErrorCodes.RECORD_INVALID)
    throwsCode(() => parseWgPrivateKey(input), ErrorCodes.KEY_CORRUPT)
    throwsCode(() => parseWgPublicKey(input, ErrorCodes.CONFIG_INVALID), ErrorCodes.CONFIG_INVALID)
    if (input.length > 8) assert.not.ok(pubErr.message.includes(input.trim()))
  })
}

test('keys render as the 64 hex characters UAPI uses, and hex parses back', () => {
  const pub = parseWgPublicKey(RFC_PUBLIC)
  assert.is(wgKeyToHex(pub), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
  assert.is(wgPublicKeyFromHex(wgKeyToHex(pub)), pub)
})

const badHex: readonly string[] = ['', '8520', '8520F0098930A754748B7DDCB43EF75A0DBF3A0D26381AF4EBA4A98EAA9B4E6A', '0'.repeat(64)]
for (const input of badHex) {
  test(`UAPI hex ${JSON.stringify(input.slice(0, 12))}… is refused as a driver failure`, () => {
    throwsCode(() => wgPublicKeyFromHex(input), ErrorCodes.DRIVER_FAILED)
  })
}

test.run()
