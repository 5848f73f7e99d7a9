/**
 * The node's own view of its direct links: one LinkState per peer, fed by
 * the prober and by WireGuard handshake ages. Reports when any link changes
 * state (up/down/unknown), which is what routes depend on.
 */
import { applyHandshakeAge, applyProbe, initialLinkState, type LinkState } from './link-state.ts'
import type { PeerIdString } from './types.ts'

export class LinkTable {
  readonly #links = new Map<PeerIdString, LinkState>()

  /** retain drops peers that are no longer members and adds new ones as `unknown`. */
  retain (peers: Iterable<PeerIdString>, now: number): void {
    const keep = new Set(peers)
    for (const id of this.#links.keys()) if (!keep.has(id)) this.#links.delete(id)
    for (const id of keep) if (!this.#links.has(id)) this.#links.set(id, initialLinkState(now))
  }

  /** probe folds a probe result in; true when the link's state name changed. */
  probe (peer: PeerIdString, result: { ok: boolean, rttMs?: number, at: number }): boolean {
    const before = this.#links.get(peer)
    if (before === undefined) return false
    const after = applyProbe(before, result)
    this.#links.set(peer, after)
    return after.state !== before.state
  }

  /** handshake folds a WireGuard handshake age in; true when the state name changed. */
  handshake (peer: PeerIdString, ageMs: number | null, now: number): boolean {
    const before = this.#links.get(peer)
    if (before === undefined) return false
    const after = applyHandshakeAge(before, ageMs, now)
    this.#links.set(peer, after)
    return after.state !== before.state
  }

  get (peer: PeerIdString): LinkState | undefined { return this.#links.get(peer) }

  /** states is the raw table (for link reports). */
  states (): ReadonlyMap<PeerIdString, LinkState> { return this.#links }
}
