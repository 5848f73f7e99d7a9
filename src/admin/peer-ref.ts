/**
 * How an operator names a peer when typing it: the full PeerId, the short
 * form the tables print (`12D3KooW…UxJPxj`, also with `...`), or a unique
 * end of the PeerId (at least MIN_SUFFIX characters). Pure; shared by the
 * daemon (routes --explain) and the CLI (ping).
 */

/** The shortest PeerId end accepted as a name. */
export const MIN_SUFFIX = 4

/** shortPeerId is the table form: first 8 and last 6 characters. */
export function shortPeerId (id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id
}

export type PeerRefMatch =
  | { readonly kind: 'match', readonly peerId: string }
  | { readonly kind: 'ambiguous', readonly candidates: readonly string[] }
  | { readonly kind: 'none' }

const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/

/** looksLikePeerRef tells whether `s` could only be a peer name (not an address or prefix). */
export function looksLikePeerRef (s: string): boolean {
  const t = s.trim()
  return BASE58.test(t) || /^[1-9A-HJ-NP-Za-km-z]+(…|\.\.\.)[1-9A-HJ-NP-Za-km-z]+$/.test(t)
}

/** matchPeerRef finds the one id of `ids` that `ref` names. */
export function matchPeerRef (ref: string, ids: readonly string[]): PeerRefMatch {
  const t = ref.trim()
  if (ids.includes(t)) return { kind: 'match', peerId: t }
  const short = /^([1-9A-HJ-NP-Za-km-z]+)(?:…|\.\.\.)([1-9A-HJ-NP-Za-km-z]+)$/.exec(t)
  let found: string[] = []
  if (short !== null) {
    const [, head = '', tail = ''] = short
    found = ids.filter(id => id.length >= head.length + tail.length && id.startsWith(head) && id.endsWith(tail))
  } else if (BASE58.test(t) && t.length >= MIN_SUFFIX) {
    found = ids.filter(id => id.endsWith(t))
  }
  if (found.length === 1) return { kind: 'match', peerId: found[0] as string }
  if (found.length > 1) return { kind: 'ambiguous', candidates: found }
  return { kind: 'none' }
}
