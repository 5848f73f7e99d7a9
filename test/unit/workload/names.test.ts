import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { hostIfname, isWorkloadIfname, parseNetnsName, parseWorkloadName } from '../../../src/workload/names.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'

const VALID = ['w1', 'a', '0abc', 'web-1', 'a'.repeat(32)]
const INVALID = ['', 'W1', '-w', 'w_1', 'w.1', 'a'.repeat(33), 'w 1', 'w/1', 'é']

for (const name of VALID) {
  test(`workload name ${JSON.stringify(name)} is accepted`, () => { assert.is(parseWorkloadName(name), name) })
}
for (const name of INVALID) {
  test(`workload name ${JSON.stringify(name)} is a usage error`, () => {
    try { parseWorkloadName(name); assert.unreachable() } catch (err) {
      assert.ok(isGridmeshError(err)); assert.is(err.code, ErrorCodes.USAGE); assert.match(err.message, /invalid workload name/)
    }
  })
}

test('the API passes its own error code for a bad name', () => {
  try { parseWorkloadName('BAD', ErrorCodes.ADMIN_REQUEST); assert.unreachable() } catch (err) {
    assert.ok(isGridmeshError(err)); assert.is(err.code, ErrorCodes.ADMIN_REQUEST)
  }
})

test('netns names are names, never paths', () => {
  assert.is(parseNetnsName('gm1234-w1'), 'gm1234-w1')
  for (const bad of ['', '.', '..', '/run/netns/x', 'a/b', 'a b']) assert.throws(() => parseNetnsName(bad), /invalid network namespace name/)
})

test('host interface names are stable, 9 chars, and recognised as ours (changing them is a breaking change)', () => {
  assert.is(hostIfname(parseWorkloadName('w1')), 'gmw60c559')
  assert.is(hostIfname(parseWorkloadName('web')), 'gmw4b5e57')
  assert.is.not(hostIfname(parseWorkloadName('w1')), hostIfname(parseWorkloadName('w2')))
  for (const n of VALID) {
    const i = hostIfname(parseWorkloadName(n))
    assert.ok(i.length <= 15 && isWorkloadIfname(i), i)
  }
  assert.not.ok(isWorkloadIfname('gmwxyz'))
  assert.not.ok(isWorkloadIfname('gridmesh0'))
})

test.run()
