import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import {
  LinkFloodOrigin, MAX_LINK_FLOOD_BYTES, decodeLinkFlood, deltaMessages, encodeLinkFlood, snapshotMessages
} from '../../../src/routing/link-flood.ts'
import { LinkFloodStore, MAX_PENDING_PER_ORIGIN } from '../../../src/routing/link-flood-store.ts'
import { decodeHeads, headsMessages, headsSummary } from '../../../src/routing/link-flood-digest.ts'
import type { LinkChange, LinkException, LinkFloodMessage } from '../../../src/routing/link-flood.ts'

/** A PeerId-shaped string (52 base58 characters, like an Ed25519 PeerId). */
function pid (i: number): string {
  return `12D3KooW${String(i).padStart(44, 'x')}`
}

function reasonOf (fn: () => unknown): string {
  try { fn() } catch (err) {
    assert.ok(isGridmeshError(err), 'GridmeshError')
    assert.is(err.code, ErrorCodes.RECORD_INVALID)
    return String((err.meta as { reason?: string } | undefined)?.reason)
  }
  return assert.unreachable('expected a refusal') as never
}

const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o))

test('codec: deltas and snapshot parts survive encode → decode unchanged', () => {
  const d: LinkFloodMessage = { kind: 'delta', origin: pid(1), epoch: 7, seq: 3, changes: [{ to: pid(2), down: true, rttClass: 0 }, { to: pid(3), down: false, rttClass: 5 }] }
  assert.equal(decodeLinkFlood(encodeLinkFlood(d)), d)
  const s: LinkFloodMessage = { kind: 'snapshot', origin: pid(1), epoch: 7, seq: 3, part: 0, parts: 1, changes: [] }
  assert.equal(decodeLinkFlood(encodeLinkFlood(s)), s)
})

test('codec: malformed input is refused with a stable code, never half-read', () => {
  const ok = { v: 1, t: 'd', o: pid(1), e: 0, s: 1, c: [[pid(2), 1, 0]] }
  assert.equal(decodeLinkFlood(enc(ok)).kind, 'delta')
  assert.is(reasonOf(() => decodeLinkFlood(new TextEncoder().encode('{nope'))), 'malformed')
  assert.is(reasonOf(() => decodeLinkFlood(enc({ ...ok, extra: 1 }))), 'malformed')
  assert.is(reasonOf(() => decodeLinkFlood(enc({ ...ok, c: [] }))), 'malformed')
  assert.is(reasonOf(() => decodeLinkFlood(enc({ ...ok, s: 0 }))), 'malformed')
  assert.is(reasonOf(() => decodeLinkFlood(enc({ ...ok, c: [[pid(1), 1, 0]] }))), 'malformed') // self-link
  assert.is(reasonOf(() => decodeLinkFlood(enc({ ...ok, c: [[pid(2), 1, 0], [pid(2), 0, 3]] }))), 'malformed')
  assert.is(reasonOf(() => decodeLinkFlood(enc({ ...ok, c: [[pid(2), 1, 4]] }))), 'malformed') // down carries class 0
  assert.is(reasonOf(() => decodeLinkFlood(enc({ ...ok, c: [[pid(2), 0, 16]] }))), 'malformed')
  assert.is(reasonOf(() => decodeLinkFlood(enc({ v: 1, t: 's', o: pid(1), e: 0, s: 1, p: 2, n: 2, c: [] }))), 'malformed')
  assert.is(reasonOf(() => decodeLinkFlood(new Uint8Array(MAX_LINK_FLOOD_BYTES + 1))), 'oversized')
})

test('codec: a delta too big for one message is an error; deltaMessages splits it into consecutive seqs that each fit', () => {
  const changes: LinkChange[] = Array.from({ length: 300 }, (_, i) => ({ to: pid(i + 10), down: true, rttClass: 0 }))
  assert.is(reasonOf(() => encodeLinkFlood({ kind: 'delta', origin: pid(1), epoch: 0, seq: 1, changes })), 'oversized')
  const parts = deltaMessages(pid(1), 0, 41, changes)
  assert.ok(parts.length > 1, 'split')
  assert.equal(parts.map(p => p.seq), parts.map((_, i) => 41 + i))
  for (const p of parts) assert.ok(encodeLinkFlood(p).length <= MAX_LINK_FLOOD_BYTES)
  assert.equal(parts.flatMap(p => p.changes), changes, 'nothing lost, nothing reordered')
})

test('codec: snapshots of 1,000 down links split into parts that each fit', () => {
  const ex = new Map<string, LinkException>(Array.from({ length: 1000 }, (_, i) => [pid(i + 2), { down: true, rttClass: 0 }]))
  const parts = snapshotMessages(pid(1), { epoch: 1, seq: 9 }, ex)
  assert.ok(parts.length > 1 && parts.every(p => p.parts === parts.length))
  for (const p of parts) assert.ok(encodeLinkFlood(p).length <= MAX_LINK_FLOOD_BYTES)
  assert.is(parts.reduce((n, p) => n + p.changes.length, 0), 1000)
})

test('origin: only changes are flooded; back to default removes the exception', () => {
  const o = new LinkFloodOrigin(pid(1), 0)
  assert.equal(o.update(new Map([[pid(2), { down: false, rttClass: 0 }]])), [], 'all default: nothing to say')
  const d1 = o.update(new Map([[pid(2), { down: true, rttClass: 0 }], [pid(3), { down: false, rttClass: 4 }]]))
  assert.is(d1.length, 1)
  assert.is(d1[0]?.seq, 1)
  assert.equal(o.update(new Map([[pid(2), { down: true, rttClass: 0 }], [pid(3), { down: false, rttClass: 4 }]])), [], 'no change: silent')
  const d2 = o.update(new Map([[pid(3), { down: false, rttClass: 4 }]])) // pid(2) absent = default again
  assert.equal(d2[0]?.changes, [{ to: pid(2), down: false, rttClass: 0 }])
  assert.equal([...o.exceptions()], [[pid(3), { down: false, rttClass: 4 }]])
})

test('store: in order applies, duplicates and old seqs are ignored', () => {
  const o = new LinkFloodOrigin(pid(1), 0)
  const s = new LinkFloodStore()
  const [a] = o.update(new Map([[pid(2), { down: true, rttClass: 0 }]]))
  const [b] = o.update(new Map([[pid(3), { down: true, rttClass: 0 }]]))
  assert.is(s.receive(a as LinkFloodMessage), 'applied')
  assert.is(s.receive(a as LinkFloodMessage), 'duplicate')
  assert.is(s.receive(b as LinkFloodMessage), 'applied')
  assert.is(s.receive(a as LinkFloodMessage), 'duplicate')
  assert.equal(s.link(pid(1), pid(2)), { down: false, rttClass: 0 })
  assert.equal(s.link(pid(1), pid(3)), { down: true, rttClass: 0 })
  assert.equal(s.wants(), [])
})

test('store: a gap is buffered and reported; the origin snapshot repairs it; later deltas still apply', () => {
  const o = new LinkFloodOrigin(pid(1), 0)
  const s = new LinkFloodStore()
  const deltas = [1, 2, 3].flatMap(i => o.update(new Map([[pid(i + 1), { down: true, rttClass: 0 }]])))
  assert.is(s.receive(deltas[0] as LinkFloodMessage), 'applied')
  assert.is(s.receive(deltas[2] as LinkFloodMessage), 'buffered')
  assert.equal(s.wants(), [{ origin: pid(1), have: { epoch: 0, seq: 1 }, known: { epoch: 0, seq: 3 } }])
  for (const p of o.snapshot()) s.receive(p)
  assert.equal(s.exceptionsOf(pid(1)), o.exceptions())
  assert.equal(s.wants(), [])
  const [next] = o.update(new Map())
  assert.is(s.receive(next as LinkFloodMessage), 'applied')
  assert.equal(s.exceptionsOf(pid(1)).size, 0)
})

test('store: a new epoch starts from the empty set; an older epoch is stale', () => {
  const s = new LinkFloodStore()
  const old = new LinkFloodOrigin(pid(1), 1)
  for (const d of old.update(new Map([[pid(2), { down: true, rttClass: 0 }]]))) s.receive(d)
  const restarted = new LinkFloodOrigin(pid(1), 2)
  const [d] = restarted.update(new Map([[pid(3), { down: true, rttClass: 0 }]]))
  assert.is(s.receive(d as LinkFloodMessage), 'applied')
  assert.equal([...s.exceptionsOf(pid(1)).keys()], [pid(3)])
  const [late] = old.update(new Map())
  assert.is(s.receive(late as LinkFloodMessage), 'stale')
})

test('store: past MAX_PENDING_PER_ORIGIN buffered deltas it stops buffering and waits for a snapshot', () => {
  const o = new LinkFloodOrigin(pid(1), 0)
  const s = new LinkFloodStore()
  const deltas = Array.from({ length: MAX_PENDING_PER_ORIGIN + 3 }, (_, i) => o.update(new Map([[pid(2), { down: false, rttClass: 1 + (i % 10) }]]))).flat()
  for (const d of deltas.slice(1)) s.receive(d)
  assert.is(s.wants().length, 1)
  for (const p of o.snapshot()) s.receive(p)
  assert.equal(s.exceptionsOf(pid(1)), o.exceptions())
  assert.equal(s.wants(), [])
})

test('digest: summaries compare whole digests; parts fit and decode back', () => {
  const heads = Array.from({ length: 1000 }, (_, i) => ({ origin: pid(i), version: { epoch: 1, seq: i } }))
  assert.is(headsSummary(heads), headsSummary(heads.map(h => ({ ...h }))))
  assert.is.not(headsSummary(heads), headsSummary([...heads.slice(0, 999), { origin: pid(999), version: { epoch: 1, seq: 1000 } }]))
  const parts = headsMessages(heads)
  assert.ok(parts.length > 1)
  for (const p of parts) assert.ok(p.length <= MAX_LINK_FLOOD_BYTES)
  assert.equal(parts.flatMap(p => decodeHeads(p).heads), heads)
  assert.is(reasonOf(() => decodeHeads(enc({ v: 1, t: 'h', p: 0, n: 1, h: [[pid(1), 0, 1], [pid(1), 0, 2]] }))), 'malformed')
})

test('digest: a peer ahead of us shows up in wants (a lost last delta is found this way)', () => {
  const o = new LinkFloodOrigin(pid(1), 0)
  const s = new LinkFloodStore()
  o.update(new Map([[pid(2), { down: true, rttClass: 0 }]])) // lost: s never sees it
  assert.equal(s.wants(), [])
  assert.equal(s.noteRemoteHeads([{ origin: pid(1), version: o.version }]), [pid(1)])
  assert.is(s.wants().length, 1)
})

test('digest: strangers are not noted, and a version a peer invents is corrected by the origin\'s snapshot', () => {
  const o = new LinkFloodOrigin(pid(1), 0)
  const s = new LinkFloodStore()
  for (const d of o.update(new Map([[pid(2), { down: true, rttClass: 0 }]]))) s.receive(d)
  assert.equal(s.noteRemoteHeads([{ origin: pid(9), version: { epoch: 0, seq: 5 } }], id => id === pid(1)), [])
  assert.is(s.size, 1, 'no state for a non-member')
  s.noteRemoteHeads([{ origin: pid(1), version: { epoch: 0, seq: 1_000_000 } }]) // a lie
  assert.is(s.wants().length, 1)
  for (const p of o.snapshot()) s.receive(p)
  assert.equal(s.wants(), [], 'no endless asking')
  assert.equal(s.exceptionsOf(pid(1)), o.exceptions())
})

test.run()
