/**
 * Helpers the routing tests share: bring a lab mesh up and prove it works,
 * and snapshot route `since` values (a route's `since` changes only when its
 * path does, so equal snapshots prove "no route among these hosts moved").
 */
import { waitFor } from './lab.ts'
import type { MeshLab, StatusJson } from './mesh.ts'

/**
 * formMesh starts host hosts[0] first (the bootstrap), then the others, waits
 * for a full direct mesh and for every ordered pair to ping; returns each
 * host's status. Throws naming the failing pairs.
 */
export async function formMesh (m: MeshLab, hosts: readonly number[], timeoutMs = 90_000): Promise<Map<number, StatusJson>> {
  const [first, ...rest] = hosts
  if (first === undefined) throw new Error('formMesh needs at least one host')
  m.start(first)
  await m.waitReady(first)
  for (const i of rest) m.start(i)
  await m.waitFullMesh(hosts, timeoutMs)
  const statuses = new Map<number, StatusJson>()
  for (const i of hosts) statuses.set(i, await m.status(i))
  await waitAllPairsPing(m, hosts)
  return statuses
}

/** waitAllPairsPing retries all-pairs pings (up to 30 s) until every ordered pair answers; the error names the failing pairs. */
export async function waitAllPairsPing (m: MeshLab, hosts: readonly number[], when = ''): Promise<void> {
  await waitFor(async () => {
    const failed = await m.pingAllPairs(hosts)
    if (failed.length > 0) throw new Error(`failed pairs${when}: ${failed.join(' ')}`)
    return true
  }, { what: `all ${hosts.length * (hosts.length - 1)} ordered pairs ping${when}`, timeoutMs: 30_000, intervalMs: 1000 })
}

/** routeSinceNow returns the `since` of every direct route among `hosts` ("i>j"); throws if one is missing or relayed. */
export async function routeSinceNow (m: MeshLab, hosts: readonly number[], peerIdOf: (host: number) => string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const i of hosts) {
    const routes = await m.routes(i)
    for (const j of hosts) {
      if (j === i) continue
      const r = routes.find(x => x.destinationPeer === peerIdOf(j))
      if (r === undefined) throw new Error(`host ${i} has no route to host ${j}`)
      if (r.kind !== 'direct') throw new Error(`host ${i} -> host ${j} is ${r.kind}`)
      out.set(`${i}>${j}`, r.since)
    }
  }
  return out
}

/** routeSince waits (up to 30 s) until every route among `hosts` is direct, then snapshots it. */
export async function routeSince (m: MeshLab, hosts: readonly number[], peerIdOf: (host: number) => string): Promise<Map<string, number>> {
  return await waitFor(() => routeSinceNow(m, hosts, peerIdOf), { what: `a direct route between every two of hosts ${hosts.join(',')}`, timeoutMs: 60_000 })
}

/** changedRoutes lists the keys whose `since` differs between two snapshots. */
export function changedRoutes (before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): string[] {
  return [...before].filter(([k, v]) => after.get(k) !== v).map(([k]) => k)
}

/**
 * assertPurged throws unless host i no longer knows `gone` — not in peers,
 * routes (as destination or via), WireGuard (key or its /64) or the member
 * count — and still has exactly `expected` peers.
 */
export async function assertPurged (m: MeshLab, i: number, gone: StatusJson, goneHost: number, expected: number): Promise<void> {
  const peers = await m.peers(i)
  if (peers.some(p => p.peerId === gone.peerId)) throw new Error(`host ${i} still lists host ${goneHost} in peers`)
  if (peers.length !== expected) throw new Error(`host ${i}: ${peers.length} peers, want ${expected}`)
  const routes = await m.routes(i)
  if (routes.some(r => r.destination === gone.prefix || r.destinationPeer === gone.peerId || r.via === gone.peerId)) throw new Error(`host ${i} still routes to or via host ${goneHost}`)
  const dev = await m.wg(i)
  if (dev.peers.some(p => p.publicKey === gone.wgPublicKey)) throw new Error(`host ${i} still has host ${goneHost}'s WireGuard peer`)
  if (dev.peers.some(p => (p.allowedIps as readonly string[]).includes(gone.prefix))) throw new Error(`host ${i} still has host ${goneHost}'s /64 on a WireGuard peer`)
  if (dev.peers.length !== expected) throw new Error(`host ${i}: ${dev.peers.length} WireGuard peers, want ${expected}`)
  const members = (await m.status(i)).members
  if (members !== expected + 1) throw new Error(`host ${i}: status counts ${members} members, want ${expected + 1}`)
}
