/**
 * The pure part of the lab's live invariant checker (netns/invariants.ts):
 * a round of host samples in, violations out. Each rule has a case that must
 * flag, and a healthy mesh (direct and relayed) must not.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkRound, parseKernelRoutes, type CheckContext, type HostSample, type KnownMember } from '../../../netns/invariants.ts'
import type { PeerJson, RouteJson, StatusJson } from '../../../netns/mesh.ts'
import type { DeviceState, PeerState } from '../../../src/wireguard/types.ts'

const MESH = 'fd12:3456:789a::/48'
const N: KnownMember[] = [1, 2, 3].map(i => ({ host: i, peerId: `12D3Koo${i}`, prefix: `fd12:3456:789a:${i}::/64`, wgPublicKey: `key${i}=` }))
const M = (i: number): KnownMember => N[i - 1] as KnownMember
const link = (i: number): string => `fd12:3456:789a:${i}::2/128`
const ctx = (over: Partial<CheckContext> = {}): CheckContext => ({ meshPrefix: MESH, members: N, departed: [], purgeBoundMs: 10_000, ...over })

function status (i: number): StatusJson {
  return { peerId: M(i).peerId, mesh: 'lab', meshPrefix: MESH, prefix: M(i).prefix, address: `fd12:3456:789a:${i}::1`, interface: 'gridmesh0', wgPublicKey: M(i).wgPublicKey, members: 3, seq: 1, counters: { unhandled: 0, rejectedRecords: {} } }
}
function peer (j: number, allowed: string[]): PeerState {
  return { publicKey: M(j).wgPublicKey, endpoint: null, allowedIps: allowed, persistentKeepalive: 5, latestHandshake: 1, rxBytes: 0, txBytes: 0 } as unknown as PeerState
}
function route (dest: number, via: number): RouteJson {
  return { destination: M(dest).prefix, destinationPeer: M(dest).peerId, via: M(via).peerId, kind: dest === via ? 'direct' : 'relay', metric: 1, since: 1, path: [] }
}
function peerRow (j: number): PeerJson {
  return { peerId: M(j).peerId, address: '', prefix: M(j).prefix, endpoint: null, state: 'direct', via: null, rttMs: 1, link: 'up' }
}
/** Host i of a healthy 3-mesh; `relay` = [dest, via] moves dest's /64 onto via's entry. */
function sample (i: number, o: { relay?: [number, number], wg?: PeerState[], at?: number, kernel?: string[] } = {}): HostSample {
  const others = [1, 2, 3].filter(j => j !== i)
  const routes = others.map(j => o.relay !== undefined && o.relay[0] === j ? route(j, o.relay[1]) : route(j, j))
  const wg = o.wg ?? others.map(j => peer(j, [link(j), ...routes.filter(r => r.via === M(j).peerId).map(r => r.destination)]))
  return { host: i, at: o.at ?? 1000, status: status(i), peers: others.map(peerRow), routes, wg: { peers: wg } as unknown as DeviceState, kernelRoutes: o.kernel ?? [MESH, 'fe80::/64'] }
}
const rules = (v: ReturnType<typeof checkRound>): string[] => v.map(x => `${x.host} ${x.rule}`)

test('a healthy direct mesh and a healthy relayed one show no violation', () => {
  assert.equal(checkRound([sample(1), sample(2), sample(3)], ctx()), [])
  // 1 reaches 3 through 2: 3's /64 on 2's entry, 3's own entry keeps only its link /128.
  assert.equal(checkRound([sample(1, { relay: [3, 2] }), sample(2), sample(3, { relay: [1, 2] })], ctx()), [])
})

test('allowed-ips: a relayed /64 left on the direct entry (and missing on the relay) flags both peers', () => {
  const stale = sample(1, { relay: [3, 2], wg: [peer(2, [link(2), M(2).prefix]), peer(3, [link(3), M(3).prefix])] })
  const v = checkRound([stale], ctx())
  assert.equal(rules(v).sort(), ['1 allowed-ips', '1 allowed-ips'])
  assert.match(v[0]?.detail ?? '', /want/)
})

test('allowed-ips: a peer missing its link /128 flags', () => {
  assert.equal(rules(checkRound([sample(1, { wg: [peer(2, [link(2), M(2).prefix]), peer(3, [M(3).prefix])] })], ctx())), ['1 allowed-ips'])
})

test('one-owner: a /64 on two WireGuard peers of one host flags', () => {
  const v = checkRound([sample(1, { wg: [peer(2, [link(2), M(2).prefix, M(3).prefix]), peer(3, [link(3), M(3).prefix])] })], ctx())
  assert.ok(v.some(x => x.rule === 'one-owner' && x.subject === M(3).prefix), JSON.stringify(v))
})

test('one-owner across hosts: two members claiming one /64 flags', () => {
  const s2 = sample(2)
  const thief: HostSample = { ...s2, status: { ...status(2), prefix: M(3).prefix } }
  const v = checkRound([sample(1), thief], ctx())
  assert.ok(v.some(x => x.host === 0 && x.rule === 'one-owner' && x.subject === M(3).prefix), JSON.stringify(v))
  assert.ok(v.some(x => x.rule === 'identity' && x.host === 2), 'host 2 also changed its prefix')
})

test('forbidden: ::/0, the mesh prefix or a short prefix on a peer flags at once', () => {
  for (const bad of ['::/0', MESH, 'fd12:3456::/32']) {
    const v = checkRound([sample(1, { wg: [peer(2, [link(2), M(2).prefix, bad]), peer(3, [link(3), M(3).prefix])] })], ctx())
    assert.ok(v.some(x => x.rule === 'forbidden'), `${bad}: ${JSON.stringify(v)}`)
  }
})

test('unknown-peer: a WireGuard peer that is no member flags; a departed one within the bound does not', () => {
  const stranger = { ...peer(2, ['fd12:3456:789a:9::2/128']), publicKey: 'stranger=' } as PeerState
  const wg = [peer(2, [link(2), M(2).prefix]), peer(3, [link(3), M(3).prefix])]
  assert.equal(rules(checkRound([sample(1, { wg: [...wg, stranger] })], ctx())), ['1 unknown-peer'])
  const gone = { ...peer(3, [link(3), M(3).prefix]) }
  const only2 = ctx({ members: N.filter(x => x.host !== 3), departed: [{ ...M(3), at: 900 }] })
  assert.equal(rules(checkRound([sample(1, { wg: [wg[0] as PeerState, gone], at: 1000 })], only2)).filter(r => r.includes('unknown')), [])
})

test('departed: still known after the purge bound flags (peer, peers row, route, kernel route); before the bound it does not', () => {
  const c = ctx({ departed: [{ ...M(3), at: 0 }] })
  const early = sample(1, { at: 5_000 })
  assert.equal(checkRound([early], c).filter(x => x.rule === 'departed'), [])
  const late = sample(1, { at: 10_001, kernel: [MESH, M(3).prefix] })
  const v = checkRound([late], c).filter(x => x.rule === 'departed')
  assert.is(v.length, 1)
  assert.match(v[0]?.detail ?? '', /a WireGuard peer, its \/64 on a WireGuard peer, a peers row, a route, a kernel route/)
  // Purged everywhere: host 1 knows only host 2.
  const clean: HostSample = { host: 1, at: 20_000, status: status(1), peers: [peerRow(2)], routes: [route(2, 2)], wg: { peers: [peer(2, [link(2), M(2).prefix])] } as unknown as DeviceState, kernelRoutes: [MESH] }
  assert.equal(checkRound([clean], c), [])
})

test('kernel-route: a live daemon without the mesh route flags', () => {
  assert.equal(rules(checkRound([sample(1, { kernel: ['fe80::/64'] })], ctx())), ['1 kernel-route'])
})

test('parseKernelRoutes takes the destination of each line', () => {
  assert.equal(parseKernelRoutes(`${MESH} proto 44 metric 1024 pref medium\nfe80::/64 proto kernel metric 256 pref medium\n`), [MESH, 'fe80::/64'])
})

test.run()
