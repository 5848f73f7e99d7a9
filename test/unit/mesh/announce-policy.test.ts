import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_ANNOUNCE_POLICY as P, decideAnnounce, initialAnnounceState } from '../../../src/mesh/announce-policy.ts'
import type { AnnounceInput, AnnounceState } from '../../../src/mesh/announce-policy.ts'

const DAY = 24 * 3_600_000
const input = (now: number, over: Partial<AnnounceInput> = {}): AnnounceInput =>
  ({ now, record: { seq: 1, expiresAt: now + DAY }, refuteWith: null, linksPending: false, ...over })

function announced (): AnnounceState {
  return decideAnnounce(initialAnnounceState(1), input(0)).state
}

test('first call announces the record; then nothing until it changes or needs refreshing', () => {
  const first = decideAnnounce(initialAnnounceState(1), input(0))
  assert.is(first.record, 'first')
  const quiet = decideAnnounce(first.state, input(60_000, { record: { seq: 1, expiresAt: DAY } }))
  assert.is(quiet.record, null)
  assert.is(quiet.alive, null)
  assert.not.ok(quiet.links)
  assert.is(quiet.nextAt, P.refreshMs, 'next look: the refresh')
})

test('a changed seq goes out, but at most once per minInterval (a burst leaves as its last state)', () => {
  const s = announced()
  const soon = decideAnnounce(s, input(300, { record: { seq: 2, expiresAt: DAY } }))
  assert.is(soon.record, null)
  assert.is(soon.nextAt, P.minIntervalMs)
  const later = decideAnnounce(soon.state, input(1_000, { record: { seq: 3, expiresAt: DAY } }))
  assert.is(later.record, 'changed')
  assert.is(later.state.recordSeq, 3)
})

test('refresh after refreshMs, earlier when expiresAt comes within the margin', () => {
  const s = announced()
  assert.is(decideAnnounce(s, input(P.refreshMs, { record: { seq: 1, expiresAt: DAY } })).record, 'refresh')
  const shortLived = { seq: 1, expiresAt: 2 * 3_600_000 }
  const d = decideAnnounce(s, input(10_000, { record: shortLived }))
  assert.is(d.record, null)
  assert.is(d.nextAt, shortLived.expiresAt - P.expiryMarginMs)
  assert.is(decideAnnounce(s, input(d.nextAt, { record: shortLived })).record, 'expiring')
})

test('an accusation is refuted at once, even right after an announce, and only once per incarnation', () => {
  const s = announced()
  const d = decideAnnounce(s, input(10, { refuteWith: 2 }))
  assert.is(d.alive, 2)
  assert.is(decideAnnounce(d.state, input(20, { refuteWith: 2 })).alive, null)
})

test('link changes: the first goes out at once, a flapping link is held down longer each time, quiet resets it', () => {
  let s = announced()
  const sentAt: number[] = []
  for (let now = 0; now < 40_000; now += 50) {
    const d = decideAnnounce(s, input(now, { linksPending: true }))
    if (d.links) sentAt.push(now)
    s = d.state
  }
  assert.is(sentAt[0], 0)
  const gaps = sentAt.slice(1).map((t, i) => t - (sentAt[i] as number))
  assert.equal(gaps.slice(0, 4), [200, 400, 800, 1_600])
  assert.ok(gaps.every(g => g <= P.linkHoldMaxMs))
  assert.ok(sentAt.length < 20, `a link flapping every 50 ms for 40 s cost ${sentAt.length} floods`)
  const quietAgain = decideAnnounce(s, input(40_000 + P.linkQuietMs, { linksPending: true }))
  assert.ok(quietAgain.links, 'after a quiet minute the next change goes out at once')
})

test.run()
