import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { allocateWorkloadHost, FIRST_WORKLOAD_HOST, LAST_WORKLOAD_HOST, workloadAddress } from '../../../src/workload/allocate.ts'
import { parseIpv6Prefix } from '../../../src/net/prefix.ts'

const TABLE: Array<[string, number[], number]> = [
  ['the first workload gets ::100', [], 0x100],
  ['the next one gets ::101', [0x100], 0x101],
  ['a hole left by a removed workload is reused first', [0x100, 0x102, 0x103], 0x101],
  ['order of the used list does not matter', [0x101, 0x100], 0x102],
  ['numbers below 0x100 (the node\'s) are never handed out', [1, 2, 0xff], 0x100]
]
for (const [name, used, want] of TABLE) {
  test(name, () => { assert.is(allocateWorkloadHost(used), want) })
}

test('a full range is a clear error', () => {
  const all = Array.from({ length: LAST_WORKLOAD_HOST - FIRST_WORKLOAD_HOST + 1 }, (_, i) => FIRST_WORKLOAD_HOST + i)
  assert.throws(() => allocateWorkloadHost(all), /no free workload address/)
})

test('addresses are host n of the node /64 (golden: changing this is a breaking change)', () => {
  const p = parseIpv6Prefix('fd12:3456:789a:42::/64')
  assert.is(workloadAddress(p, 0x100), 'fd12:3456:789a:42::100')
  assert.is(workloadAddress(p, 0x1ab), 'fd12:3456:789a:42::1ab')
  assert.is(workloadAddress(p, 0xffff), 'fd12:3456:789a:42::ffff')
})

test.run()
