import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { MAX_VERDICT_BYTES, decodeVerdict, encodeVerdict } from '../../../src/mesh/verdict-messages.ts'

const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o))

function reasonOf (fn: () => unknown): string {
  try { fn() } catch (err) {
    assert.ok(isGridmeshError(err))
    assert.is(err.code, ErrorCodes.RECORD_INVALID)
    return String((err.meta as { reason?: string } | undefined)?.reason)
  }
  return assert.unreachable('expected a refusal') as never
}

test('an accusation names its target; the accuser is the authenticated sender', () => {
  const got = decodeVerdict(encodeVerdict({ v: 1, t: 'confirm', target: 'QmTarget', inc: 3 }), 'QmWatcher', 500)
  assert.equal(got, { target: 'QmTarget', event: { type: 'confirm', incarnation: 3, by: 'QmWatcher', at: 500 } })
})

test('alive and leave are about their sender, whatever else they claim', () => {
  assert.equal(decodeVerdict(encodeVerdict({ v: 1, t: 'alive', inc: 4 }), 'QmSelf', 7), { target: 'QmSelf', event: { type: 'alive', incarnation: 4, at: 7 } })
  assert.is(reasonOf(() => decodeVerdict(enc({ v: 1, t: 'alive', inc: 4, target: 'QmOther' }), 'QmSelf', 7)), 'malformed')
})

test('malformed verdicts are refused with a stable code', () => {
  assert.is(reasonOf(() => decodeVerdict(enc({ v: 1, t: 'suspect', target: 'QmA', inc: 1 }), 'QmA', 0)), 'malformed') // self-accusation
  assert.is(reasonOf(() => decodeVerdict(enc({ v: 2, t: 'alive', inc: 1 }), 'QmA', 0)), 'malformed')
  assert.is(reasonOf(() => decodeVerdict(enc({ v: 1, t: 'dead', target: 'QmB', inc: 1 }), 'QmA', 0)), 'malformed')
  assert.is(reasonOf(() => decodeVerdict(enc({ v: 1, t: 'suspect', target: 'Qm/B', inc: 1 }), 'QmA', 0)), 'malformed')
  assert.is(reasonOf(() => decodeVerdict(enc({ v: 1, t: 'suspect', target: 'QmB', inc: -1 }), 'QmA', 0)), 'malformed')
  assert.is(reasonOf(() => decodeVerdict(new TextEncoder().encode('{'), 'QmA', 0)), 'malformed')
  assert.is(reasonOf(() => decodeVerdict(new Uint8Array(MAX_VERDICT_BYTES + 1), 'QmA', 0)), 'oversized')
})

test.run()
