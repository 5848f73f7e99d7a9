/**
 * Property: whatever the delivery order, duplication and loss of link-flood
 * messages (losses repaired by the digest + snapshot exchange), every
 * receiver ends with each origin's own exception set and version. Messages
 * go through the real encoding.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { LinkFloodOrigin, decodeLinkFlood, encodeLinkFlood } from '../../../src/routing/link-flood.ts'
import { LinkFloodStore } from '../../../src/routing/link-flood-store.ts'
import type { LinkException } from '../../../src/routing/link-flood.ts'

const PEERS = Array.from({ length: 12 }, (_, i) => `12D3KooW${String(i).padStart(44, 'p')}`)

/** mulberry32: a small seeded PRNG, so a failing case replays from fast-check's seed alone. */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function shuffled<T> (xs: readonly T[], rand: () => number): T[] {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const t = out[i] as T; out[i] = out[j] as T; out[j] = t
  }
  return out
}

/** Delivers each message zero (lost), one or two (duplicated) times, in shuffled order. */
function unreliable (msgs: readonly Uint8Array[], rand: () => number, loss: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const m of msgs) {
    const r = rand()
    if (r < loss) continue
    out.push(m)
    if (r > 0.8) out.push(m)
  }
  return shuffled(out, rand)
}

const exceptionArb = fc.oneof(
  fc.constant<LinkException>({ down: true, rttClass: 0 }),
  fc.integer({ min: 0, max: 15 }).map(c => ({ down: false, rttClass: c }))
)
/** One step of an origin: a new full view of its links, or a restart (new epoch, state re-flooded). */
const stepArb = fc.oneof(
  { weight: 9, arbitrary: fc.dictionary(fc.constantFrom(...PEERS), exceptionArb, { maxKeys: 8 }).map(v => ({ restart: false, view: v })) },
  { weight: 1, arbitrary: fc.constant({ restart: true, view: {} as Record<string, LinkException> }) }
)

test('every receiver converges to every origin\'s set under reordering, duplication and repaired loss', () => {
  fc.assert(fc.property(
    fc.array(fc.array(stepArb, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
    fc.integer(), fc.double({ min: 0, max: 0.5, noNaN: true }),
    (scripts, seed, loss) => {
      const rand = rng(seed)
      const origins: LinkFloodOrigin[] = []
      const sent: Uint8Array[] = []
      scripts.forEach((steps, i) => {
        const id = `12D3KooW${String(i).padStart(44, 'o')}`
        let origin = new LinkFloodOrigin(id, 1)
        let view = new Map<string, LinkException>()
        for (const step of steps) {
          if (step.restart) origin = new LinkFloodOrigin(id, origin.epoch + 1)
          else view = new Map(Object.entries(step.view))
          for (const d of origin.update(view)) sent.push(encodeLinkFlood(d))
        }
        origins.push(origin)
      })
      for (let r = 0; r < 3; r++) {
        const store = new LinkFloodStore()
        for (const m of unreliable(sent, rand, loss)) store.receive(decodeLinkFlood(m))
        // Anti-entropy: compare digests with the origins, fetch snapshots (lossy for a few rounds, then reliable).
        for (let round = 0; round < 20; round++) {
          store.noteRemoteHeads(origins.map(o => ({ origin: o.origin, version: o.version })))
          const wants = store.wants()
          if (wants.length === 0) break
          for (const w of wants) {
            const origin = origins.find(o => o.origin === w.origin) as LinkFloodOrigin
            const parts = origin.snapshot().map(p => encodeLinkFlood(p))
            for (const m of unreliable(parts, rand, round < 3 ? loss : 0)) store.receive(decodeLinkFlood(m))
          }
        }
        for (const o of origins) {
          assert.equal(store.versionOf(o.origin), o.version, 'version')
          assert.equal(new Map(store.exceptionsOf(o.origin)), new Map(o.exceptions()), 'exceptions')
        }
        assert.equal(store.wants(), [])
      }
    }
  ), { numRuns: 200 })
})

test('without loss no snapshot is needed: deltas alone converge in any order', () => {
  fc.assert(fc.property(
    fc.array(stepArb.filter(s => !s.restart), { minLength: 1, maxLength: 15 }), fc.integer(),
    (steps, seed) => {
      const origin = new LinkFloodOrigin(PEERS[0] as string, 1)
      const sent = steps.flatMap(s => origin.update(new Map(Object.entries(s.view)))).map(d => encodeLinkFlood(d))
      const store = new LinkFloodStore()
      for (const m of unreliable(sent, rng(seed), 0)) store.receive(decodeLinkFlood(m))
      assert.equal(store.wants(), [])
      assert.equal(new Map(store.exceptionsOf(origin.origin)), new Map(origin.exceptions()))
    }
  ), { numRuns: 200 })
})

test.run()
