/**
 * Watchers: each member is watched by K others (default 4), chosen by
 * rendezvous (highest-random-weight) hashing over the current member set.
 * Watchers probe their targets and report suspicion (verdict.ts); nobody
 * else needs to hear from every member. Every node computes the same
 * assignment from the same member set: the weights are a hash of the two
 * PeerIds, ties break on the PeerId, and no local state enters.
 *
 * Balance: plain rendezvous hashing gives each member a Poisson(K) number of
 * targets (at N = 1,000 and K = 4 a few members would watch 11 or 12). So
 * the assignment is rendezvous hashing with bounded loads: targets are taken
 * in a fixed (hash) order and each picks its K highest-weight members that
 * watch fewer than `maxLoad` (default 2K) targets so far. Membership changes
 * move only the pairs whose ranking changed (≈ K targets per join or leave,
 * a fraction ≈ K/N of all targets), plus the rare pairs a full member pushed
 * elsewhere.
 *
 * Cost: one pass is N·(N−1) 32-bit hash mixes; run it once per batch of
 * membership changes (measured figures in docs/scale.md).
 */
import type { PeerIdString } from '../keys/types.ts'

/** Watchers per member. */
export const DEFAULT_WATCHERS = 4

/** Assignment options. */
export interface WatcherOptions {
  /** Watchers per member (fewer when the mesh is smaller). */
  readonly k?: number
  /** Most targets one member watches; default 2k. Never below k + 1. */
  readonly maxLoad?: number
}

/** One (target, watcher) pair that appeared or went away between two assignments. */
export interface WatchPair { readonly target: PeerIdString, readonly watcher: PeerIdString }

/** What changed between two assignments. */
export interface HandOver {
  readonly gained: readonly WatchPair[]
  readonly lost: readonly WatchPair[]
  /** Members present in both whose watcher set changed. */
  readonly changedTargets: number
  /** Members present in both. */
  readonly commonTargets: number
}

/** A computed assignment: immutable, cheap to query. */
export class WatcherAssignment {
  readonly k: number
  private readonly byTarget: ReadonlyMap<PeerIdString, readonly PeerIdString[]>
  private readonly byWatcher: ReadonlyMap<PeerIdString, readonly PeerIdString[]>

  constructor (k: number, byTarget: ReadonlyMap<PeerIdString, readonly PeerIdString[]>) {
    this.k = k
    this.byTarget = byTarget
    const inv = new Map<PeerIdString, PeerIdString[]>()
    for (const t of byTarget.keys()) inv.set(t, [])
    for (const [t, ws] of byTarget) for (const w of ws) inv.get(w)?.push(t)
    for (const list of inv.values()) list.sort(compareIds)
    this.byWatcher = inv
  }

  /** watchersOf: the members that watch `target`, best-ranked first ([] for a non-member). */
  watchersOf (target: PeerIdString): readonly PeerIdString[] { return this.byTarget.get(target) ?? [] }

  /** watchedBy: the members `watcher` must watch (sorted). */
  watchedBy (watcher: PeerIdString): readonly PeerIdString[] { return this.byWatcher.get(watcher) ?? [] }

  /** isWatcher: whether `watcher` is one of `target`'s watchers. */
  isWatcher (watcher: PeerIdString, target: PeerIdString): boolean { return this.watchersOf(target).includes(watcher) }

  /** members: every member, sorted. */
  members (): PeerIdString[] { return [...this.byTarget.keys()].sort(compareIds) }
}

/** assignWatchers computes the assignment for a member set (order and duplicates of the input do not matter). */
export function assignWatchers (memberIds: Iterable<PeerIdString>, opts: WatcherOptions = {}): WatcherAssignment {
  const ids = [...new Set(memberIds)].sort(compareIds)
  const n = ids.length
  const k = Math.max(0, Math.min(opts.k ?? DEFAULT_WATCHERS, n - 1))
  const cap = Math.max(k + 1, opts.maxLoad ?? 2 * k)
  const seeds = Uint32Array.from(ids, id => hashId(id))
  const mixed = Uint32Array.from(seeds, s => fmix32(s ^ 0x9e3779b9))
  const load = new Uint32Array(n)
  const byTarget = new Map<PeerIdString, readonly PeerIdString[]>()
  const order = ids.map((_, i) => i).sort((a, b) => ((seeds[a] as number) - (seeds[b] as number)) || a - b)
  for (const t of order) {
    const chosen = k === 0 ? [] : pickWatchers(t, n, k, cap, seeds, mixed, load)
    for (const w of chosen) (load[w] as number)++
    byTarget.set(ids[t] as string, chosen.map(w => ids[w] as string))
  }
  return new WatcherAssignment(k, byTarget)
}

/**
 * pickWatchers: target t's k best-weighted candidates below the load cap.
 * Keeps only the best k + SPARE by weight in one pass; if the cap rules out
 * too many of them, ranks everyone (rare: the cap is 2k).
 */
function pickWatchers (t: number, n: number, k: number, cap: number, seeds: Uint32Array, mixed: Uint32Array, load: Uint32Array): number[] {
  const salt = Math.imul(seeds[t] as number, 0x85ebca6b)
  const underCap = (w: number): boolean => (load[w] as number) < cap
  const fit = topByWeight(t, n, k + SPARE, salt, mixed).filter(underCap)
  if (fit.length >= k) return fit.slice(0, k)
  const ranked = topByWeight(t, n, n, salt, mixed)
  const chosen = ranked.filter(underCap).slice(0, k)
  // Only reachable with a tiny cap: fill from the best ranked rather than leave a member unwatched.
  for (const w of ranked) if (chosen.length < k && !chosen.includes(w)) chosen.push(w)
  return chosen
}

const SPARE = 8

/** topByWeight: the `count` members with the highest weight for target t (ties: lower index), best first. */
function topByWeight (t: number, n: number, count: number, salt: number, mixed: Uint32Array): number[] {
  const idx: number[] = []
  const wt: number[] = []
  for (let w = 0; w < n; w++) {
    if (w === t) continue
    const weight = fmix32(salt ^ (mixed[w] as number))
    if (idx.length === count && weight <= (wt[count - 1] as number)) continue
    let pos = idx.length === count ? count - 1 : idx.length
    while (pos > 0 && (wt[pos - 1] as number) < weight) { wt[pos] = wt[pos - 1] as number; idx[pos] = idx[pos - 1] as number; pos-- }
    wt[pos] = weight
    idx[pos] = w
  }
  return idx.slice(0, count)
}

/** handOver lists the pairs that changed from `before` to `after`. */
export function handOver (before: WatcherAssignment, after: WatcherAssignment): HandOver {
  const gained: WatchPair[] = []
  const lost: WatchPair[] = []
  let changedTargets = 0
  let commonTargets = 0
  const was = new Set(before.members())
  const now = new Set(after.members())
  for (const target of new Set([...was, ...now])) {
    const old = new Set(before.watchersOf(target))
    const cur = new Set(after.watchersOf(target))
    for (const w of cur) if (!old.has(w)) gained.push({ target, watcher: w })
    for (const w of old) if (!cur.has(w)) lost.push({ target, watcher: w })
    if (was.has(target) && now.has(target)) {
      commonTargets++
      if (old.size !== cur.size || [...cur].some(w => !old.has(w))) changedTargets++
    }
  }
  return { gained, lost, changedTargets, commonTargets }
}

function compareIds (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** hashId: FNV-1a over the PeerId's characters, finished with fmix32 so near-identical ids spread. */
export function hashId (id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return fmix32(h >>> 0)
}

/** fmix32: MurmurHash3's finaliser, a bijective 32-bit avalanche. */
function fmix32 (x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}
