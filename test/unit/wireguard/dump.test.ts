import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseWgDump } from '../../../src/wireguard/dump.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'

// Captured from wireguard-go 0.0.20220316 + wg 1.0.20210914 in a throwaway netns
// (device private key replaced by a dummy of the same shape).
const PRIV = 'cLGkJqmjH7mAoHIlWK9a1X6Wf7lGVYkAF0Gwvr1K4Xc='
const SAMPLE = [
  `${PRIV}\t97ba+9idPdM1K8wPmmisSLO6aTOQS1Fl5SikEgtoNx4=\t51820\toff`,
  'TH7lUzcshEVrzh623rEnISUPOmbqJyZ46KEmJkhXiWo=\t(none)\t10.0.0.2:51820\tfd00:1:2:3::/64,fd00:1:2:4::2/128\t1700000123\t1184\t2072\t25',
  '18jETtoNMlAtD/1HqGopqcZXyYYw6LxKzBvOTKfDaDo=\t(none)\t[fd00::9]:51821\tfd00:1:2:5::/64\t0\t0\t0\toff',
  'nRWVBqP2eOOezl2aXegTmK5jtOhu2CqaQI1Xz4FmE2k=\t(none)\t(none)\t(none)\t0\t0\t0\toff',
  ''
].join('\n')

test('parses the device and every peer', () => {
  const s = parseWgDump(SAMPLE)
  assert.is(s.publicKey, '97ba+9idPdM1K8wPmmisSLO6aTOQS1Fl5SikEgtoNx4=')
  assert.is(s.listenPort, 51820)
  assert.equal(s.peers[0], {
    publicKey: 'TH7lUzcshEVrzh623rEnISUPOmbqJyZ46KEmJkhXiWo=',
    endpoint: '10.0.0.2:51820',
    allowedIps: ['fd00:1:2:3::/64', 'fd00:1:2:4::2/128'],
    persistentKeepalive: 25,
    latestHandshake: 1700000123,
    rxBytes: 1184,
    txBytes: 2072
  })
  assert.is(s.peers[1]?.endpoint, '[fd00::9]:51821')
  assert.is(s.peers[1]?.persistentKeepalive, 0)
  assert.equal(s.peers[2]?.allowedIps, [])
  assert.is(s.peers[2]?.endpoint, null)
})

test('the private key is never kept', () => {
  assert.not.match(JSON.stringify(parseWgDump(SAMPLE)), PRIV)
})

test('a fresh device has no public key and no peers', () => {
  assert.equal(parseWgDump('(none)\t(none)\t0\toff\n'), { publicKey: null, listenPort: 0, peers: [] })
})

const bad: [string, string][] = [
  ['empty output', ''],
  ['short device line', 'x\ty\n'],
  ['bad device key', `${PRIV}\tnotakey\t51820\toff`],
  ['bad port', `${PRIV}\t(none)\tport\toff`],
  ['short peer line', `${PRIV}\t(none)\t1\toff\nabc\tdef`],
  ['bad peer key', `${PRIV}\t(none)\t1\toff\nAAAA\t(none)\t(none)\t(none)\t0\t0\t0\toff`],
  ['bad allowed ip', `${PRIV}\t(none)\t1\toff\nTH7lUzcshEVrzh623rEnISUPOmbqJyZ46KEmJkhXiWo=\t(none)\t(none)\tfd00::/999\t0\t0\t0\toff`],
  ['bad counter', `${PRIV}\t(none)\t1\toff\nTH7lUzcshEVrzh623rEnISUPOmbqJyZ46KEmJkhXiWo=\t(none)\t(none)\t(none)\t-1\t0\t0\toff`],
  ['huge counter', `${PRIV}\t(none)\t1\toff\nTH7lUzcshEVrzh623rEnISUPOmbqJyZ46KEmJkhXiWo=\t(none)\t(none)\t(none)\t0\t99999999999999999999\t0\toff`]
]
for (const [name, text] of bad) {
  test(`malformed: ${name} → DRIVER_FAILED without leaking the key`, () => {
    try {
      parseWgDump(text)
      assert.unreachable('should throw')
    } catch (err) {
      assert.ok(isGridmeshError(err), String(err))
      assert.is(err.code, ErrorCodes.DRIVER_FAILED)
      assert.not.match(err.message, PRIV)
    }
  })
}

test('total on random garbage: only DRIVER_FAILED ever escapes', () => {
  const alphabet = '\t\n()abcAZ09+/=:.,[] -'
  let seed = 42
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  for (let i = 0; i < 2000; i++) {
    let s = i % 2 === 0 ? SAMPLE.slice(0, Math.floor(rnd() * SAMPLE.length)) : ''
    for (let j = 0; j < 40; j++) s += alphabet[Math.floor(rnd() * alphabet.length)]
    try { parseWgDump(s) } catch (err) {
      assert.ok(isGridmeshError(err) && err.code === ErrorCodes.DRIVER_FAILED, `input ${JSON.stringify(s)}: ${String(err)}`)
    }
  }
})

test.run()
