/**
 * When to read a revocation back from the DHT. A node that was down (or cut
 * off) when a revocation was gossiped must still refuse the revoked member,
 * and the DHT holds every revocation under `/gridmesh/<mesh>/revocation/<id>`
 * — but a DHT cannot be listed, only asked for a key. So a node asks for the
 * two keys a member could be revoked under, `peer-<peerId>` and
 * `token-<tokenId>` of its certificate, the first time it sees the member and
 * then again on a schedule. Pure: the daemon does the lookups and the waiting.
 *
 * An answer of "nothing there" is weak (a lookup made before the DHT had
 * peers, or one that timed out, says the same), so the first clear answers
 * are confirmed soon after, then at a slow steady pace. A found revocation
 * is permanent: that id is never looked up again.
 */
import { revocationIdOf } from './revocation.ts'

/** The recheck pace: the n-th clear answer is checked again after `recheckMs[n-1]` (the last entry repeats). */
export interface LookupTiming {
  readonly recheckMs: readonly number[]
  /** Most ids tracked; the oldest idle one is forgotten beyond it (looked up again if seen again). */
  readonly maxEntries: number
}

/** 5 s and 30 s confirm an early answer; then every 10 min, the record republish pace. */
export const DEFAULT_LOOKUP_TIMING: LookupTiming = { recheckMs: [5_000, 30_000, 10 * 60_000], maxEntries: 4096 }

/** What a finished lookup found. */
export type LookupOutcome = 'found' | 'clear'

interface Entry { clears: number, nextAt: number, inFlight: boolean, answered: boolean }

/** revocationIdsOf: the DHT ids a member with this certificate could be revoked under. */
export function revocationIdsOf (cert: { peerId: string, tokenId: string }): [string, string] {
  return [revocationIdOf({ peerId: cert.peerId, tokenId: null }), revocationIdOf({ peerId: null, tokenId: cert.tokenId })]
}

/** The per-id lookup schedule. */
export class RevocationLookups {
  readonly #entries = new Map<string, Entry>()
  readonly #timing: LookupTiming

  constructor (timing: LookupTiming = DEFAULT_LOOKUP_TIMING) {
    if (timing.recheckMs.length === 0 || timing.maxEntries < 1) throw new RangeError('LookupTiming needs a recheck interval and room for one id')
    this.#timing = timing
  }

  /** Number of ids tracked. */
  get size (): number { return this.#entries.size }

  /**
   * take returns the ids of `ids` to look up now (never looked up, or due
   * again and not already in flight) and marks them in flight.
   */
  take (ids: Iterable<string>, now: number): string[] {
    const out: string[] = []
    for (const id of new Set(ids)) {
      let e = this.#entries.get(id)
      if (e === undefined) {
        this.#makeRoom()
        e = { clears: 0, nextAt: now, inFlight: false, answered: false }
        this.#entries.set(id, e)
      }
      if (e.inFlight || e.nextAt > now) continue
      e.inFlight = true
      out.push(id)
    }
    return out
  }

  /** done records a finished lookup of `id` (a failed lookup counts as 'clear': it proves nothing either way). */
  done (id: string, outcome: LookupOutcome, now: number): void {
    const e = this.#entries.get(id)
    if (e === undefined) return
    e.inFlight = false
    e.answered = true
    if (outcome === 'found') { e.nextAt = Number.POSITIVE_INFINITY; return }
    const steps = this.#timing.recheckMs
    e.nextAt = now + (steps[Math.min(e.clears, steps.length - 1)] ?? 0)
    e.clears++
  }

  /** answered: at least one lookup of `id` finished (a gate waits only for the first). */
  answered (id: string): boolean {
    return this.#entries.get(id)?.answered === true
  }

  /** Forgets the oldest id that is not in flight, when full (in-flight ones finish first). */
  #makeRoom (): void {
    if (this.#entries.size < this.#timing.maxEntries) return
    for (const [id, e] of this.#entries) {
      if (!e.inFlight) { this.#entries.delete(id); return }
    }
  }
}
