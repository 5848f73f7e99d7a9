import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { churnCost, costAfter, costAfterDefaultDhtRefresh, costBefore, formatCostTable, costTable } from '../../../scripts/cost-model.ts'

function near (actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * expected, `${what}: ${actual.toFixed(0)} vs ${expected} ±${tolerance * 100}%`)
}

test('before: the model reproduces the figures measured from the code in issue 13 (one direction)', () => {
  near(costBefore(10).outBytes, 36e3, 0.15, 'N=10')
  near(costBefore(100).outBytes, 2.3e6, 0.1, 'N=100')
  near(costBefore(1_000).outBytes, 19e6, 0.1, 'N=1,000')
  near((costBefore(1_000).parts.ihave?.bytes ?? 0), 17e6, 0.1, 'N=1,000 IHAVE ids')
  near(costBefore(10_000).outBytes, 590e6, 0.1, 'N=10,000')
  near(costBefore(1_000).sigChecks, 500, 0.05, 'signature checks at 1,000')
})

test('before: the announce loses its links at 118 members (117 link entries no longer fit 12 KiB)', () => {
  const perMsg = (n: number): number => { const a = costBefore(n).parts.announce; return a === undefined ? 0 : a.bytes / a.msgs }
  assert.ok(perMsg(117) > 12_000, 'links still carried with 116 entries')
  assert.ok(perMsg(118) < 1_000, 'links silently dropped with 117 entries')
})

test('after: meets the steady-state targets (≤ 2 KB/s and ≤ 10 msg/s at 1,000; ≤ 3 KB/s at 10,000)', () => {
  assert.ok(costAfter(1_000).bytes <= 2_000, `${costAfter(1_000).bytes} B/s`)
  assert.ok(costAfter(1_000).msgs <= 10, `${costAfter(1_000).msgs} msg/s`)
  assert.ok(costAfter(10_000).bytes <= 3_000, `${costAfter(10_000).bytes} B/s`)
})

test('after: only with the DHT table refreshed hourly; kad-dht\'s 5-minute default misses the 1,000 target', () => {
  assert.ok(costAfterDefaultDhtRefresh(1_000).bytes > 2_000)
})

test('after: churn at 1 %/min is reported apart and is what dominates at 10,000', () => {
  assert.ok(churnCost(10_000).bytes > costAfter(10_000).bytes)
  assert.ok(churnCost(1_000).bytes < 1_000)
})

test('the printed table has one row per size', () => {
  const text = formatCostTable(costTable())
  assert.is(text.split('\n').length, 6)
  assert.match(text, /\| 10,000 \|/)
})

test.run()
