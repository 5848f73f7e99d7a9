/**
 * Edge weights of the mesh graph. Shared by graph.ts and by the tests'
 * reference implementation so both price every edge identically.
 *
 * weight(a, b) = HOP_COST + RTT_STEP · max(rttClass_ab, rttClass_ba) + h(a, b) / 2^24
 *
 * - HOP_COST dominates: one hop costs at most 1024 + 240 + 1/16 < 2048, the
 *   cheapest two hops, so a usable direct link always beats every relay.
 *   (Hop count dominates up to 4 hops; beyond that RTT classes may prefer a
 *   longer path of fast links, which is still a fine choice.)
 * - `max` of both ends' classes makes the weight symmetric even when the two
 *   ends measured slightly different RTTs.
 * - h is a 20-bit hash of the unordered pair, so h / 2^24 < 1/16: the sum of
 *   perturbations over any path shorter than 256 hops stays below one RTT
 *   step and can only break ties, never override a real RTT difference.
 * - Every weight is a multiple of 2^-24 below 2^11, so path sums are exact in
 *   a double: a path costs the same bits whichever end adds it up.
 */
import type { PeerIdString } from './types.ts'

/** Cost of one hop; dwarfs the RTT term so hop count decides first. */
export const HOP_COST = 1024

/** Cost of one RTT class (each class doubles the RTT). 16 · 15 = 240 < HOP_COST. */
export const RTT_STEP = 16

/** Bits of the pair hash used for the perturbation. */
export const PERTURBATION_BITS = 20

/** Divisor of the pair hash: keeps the perturbation below RTT_STEP / 256. */
export const PERTURBATION_SCALE = 2 ** 24

/** rttClass of a link nobody has measured: 0, so the other end's measurement (if any) decides via max. */
export const UNMEASURED_RTT_CLASS = 0

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** idHash is 32-bit FNV-1a over the id's UTF-16 code units (PeerIds are ASCII, so bytes). */
export function idHash (id: PeerIdString): number {
  let h = FNV_OFFSET
  for (let i = 0; i < id.length; i++) {
    h = Math.imul(h ^ id.charCodeAt(i), FNV_PRIME)
  }
  return h >>> 0
}

/**
 * pairHashOf continues FNV-1a over the 8 bytes of (idHash(lo), idHash(hi)),
 * lo being the lexicographically smaller id, and folds to 20 bits. Hashing
 * the two 32-bit digests (not the ids) makes it O(1) per edge in the hot loop.
 */
export function pairHashOf (hashLo: number, hashHi: number): number {
  let h = FNV_OFFSET
  h = Math.imul(h ^ (hashLo & 0xff), FNV_PRIME)
  h = Math.imul(h ^ ((hashLo >>> 8) & 0xff), FNV_PRIME)
  h = Math.imul(h ^ ((hashLo >>> 16) & 0xff), FNV_PRIME)
  h = Math.imul(h ^ (hashLo >>> 24), FNV_PRIME)
  h = Math.imul(h ^ (hashHi & 0xff), FNV_PRIME)
  h = Math.imul(h ^ ((hashHi >>> 8) & 0xff), FNV_PRIME)
  h = Math.imul(h ^ ((hashHi >>> 16) & 0xff), FNV_PRIME)
  h = Math.imul(h ^ (hashHi >>> 24), FNV_PRIME)
  h >>>= 0
  return (h ^ (h >>> PERTURBATION_BITS)) & ((1 << PERTURBATION_BITS) - 1)
}

/** pairPerturbation is the symmetric tie-breaker h(min(a,b), max(a,b)) / 2^24, in [0, 1/16). */
export function pairPerturbation (a: PeerIdString, b: PeerIdString): number {
  const [lo, hi] = a < b ? [a, b] : [b, a]
  return pairHashOf(idHash(lo), idHash(hi)) / PERTURBATION_SCALE
}

/** edgeWeight prices a usable edge from both ends' RTT classes and the pair perturbation. */
export function edgeWeight (rttClassAB: number, rttClassBA: number, perturbation: number): number {
  return HOP_COST + RTT_STEP * Math.max(rttClassAB, rttClassBA) + perturbation
}

/** clampRttClass forces a class into 0..15 integers, so a bad local value cannot break the weight bounds. */
export function clampRttClass (c: number): number {
  if (!Number.isFinite(c) || c <= 0) return 0
  return Math.min(15, Math.floor(c))
}
