/**
 * RevocationSet: the verified revocations a node knows, answering "is this
 * peer or token revoked?" for certificate checks. Pure and bounded. It only
 * accepts Revocation values (which verifyRevocation produced), and it is
 * persisted as the signed `gmr1.` strings themselves, so loading re-verifies
 * every entry: a tampered state file can't inject a revocation.
 */
import { z } from 'zod'
import { GridmeshError, ErrorCodes, isGridmeshError } from '../errors.ts'
import { admissionInvalid } from './codec.ts'
import { encodeRevocation, revocationIdOf, verifyRevocation } from './revocation.ts'
import type { Revocation } from './revocation.ts'
import type { TrustAnchor } from './token.ts'

/**
 * Most revocations a set holds. Only the authority can sign them, so this
 * bounds memory against a bug, not an attacker; a mesh that needs more should
 * rotate its authority.
 */
export const MAX_REVOCATIONS = 10_000

/** The persisted form: `{ v: 1, mesh, revocations: ["gmr1.…", …] }`. */
export interface RevocationSetJson {
  v: 1
  mesh: string
  revocations: string[]
}

/** Outcome of RevocationSet#add: 'full' means it was NOT recorded (log it loudly). */
export type AddResult = 'added' | 'known' | 'full'

const jsonSchema = z.strictObject({
  v: z.literal(1),
  mesh: z.string().max(63),
  revocations: z.array(z.string().max(1500)).max(MAX_REVOCATIONS)
})

/** A bounded set of verified revocations for one mesh. */
export class RevocationSet {
  readonly #byId = new Map<string, Revocation>()

  /** The mesh whose revocations this set holds; add refuses others. */
  readonly mesh: string
  /** The bound on entries. */
  readonly maxEntries: number

  constructor (mesh: string, maxEntries: number = MAX_REVOCATIONS) {
    this.mesh = mesh
    this.maxEntries = maxEntries
  }

  /** Number of revocations held. */
  get size (): number { return this.#byId.size }

  /**
   * add records a verified revocation. Idempotent ('known' for a target
   * already revoked: the first revocation is kept). Throws RECORD_INVALID
   * revocation-wrong-mesh for another mesh's revocation.
   */
  add (rev: Revocation): AddResult {
    if (rev.mesh !== this.mesh) throw admissionInvalid('revocation-wrong-mesh', `revocation is for mesh ${rev.mesh}, not ${this.mesh}`)
    if (this.#byId.has(rev.id)) return 'known'
    if (this.#byId.size >= this.maxEntries) return 'full'
    this.#byId.set(rev.id, rev)
    return 'added'
  }

  /** isRevoked: true when the peer or the token is revoked. Shaped for verifyCertificate's `revoked` option. */
  isRevoked = (peerId: string, tokenId: string): boolean =>
    this.#byId.has(revocationIdOf({ peerId, tokenId: null })) || this.#byId.has(revocationIdOf({ peerId: null, tokenId }))

  /** has: whether a revocation with this id (`peer-…` / `token-…`) is held. */
  has (id: string): boolean { return this.#byId.has(id) }

  /** list returns the held revocations in insertion order. */
  list (): Revocation[] { return [...this.#byId.values()] }

  /** toJSON returns the persisted form (the signed strings, in insertion order). */
  toJSON (): RevocationSetJson {
    return { v: 1, mesh: this.mesh, revocations: this.list().map(encodeRevocation) }
  }

  /**
   * fromJSON rebuilds a set from toJSON output, re-verifying every entry
   * against `anchor`. Any bad shape, other mesh, or entry that fails
   * verification → STATE_CORRUPT (never a silently shorter set).
   */
  static async fromJSON (json: unknown, anchor: TrustAnchor, maxEntries: number = MAX_REVOCATIONS): Promise<RevocationSet> {
    const parsed = jsonSchema.safeParse(json)
    if (!parsed.success || parsed.data.mesh !== anchor.mesh || parsed.data.revocations.length > maxEntries) {
      throw corrupt(parsed.success ? `it belongs to another mesh or holds over ${maxEntries} entries` : 'unexpected shape')
    }
    const set = new RevocationSet(anchor.mesh, maxEntries)
    for (const [i, text] of parsed.data.revocations.entries()) {
      try {
        set.add(await verifyRevocation(text, anchor))
      } catch (err) {
        if (!isGridmeshError(err)) throw err
        throw corrupt(`entry ${i}: ${err.message}`, err)
      }
    }
    return set
  }
}

function corrupt (why: string, cause?: unknown): GridmeshError {
  return new GridmeshError(ErrorCodes.STATE_CORRUPT, `saved revocation list is invalid (${why}); delete it to refetch revocations from the mesh`, {}, { cause })
}
