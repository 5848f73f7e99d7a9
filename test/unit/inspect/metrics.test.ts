import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry } from 'prom-client'
import { createMetrics, routeChanges } from '../../../src/metrics/registry.ts'
import { closeMetrics, listenMetrics } from '../../../src/metrics/server.ts'
import type { Route } from '../../../src/routing/types.ts'
import { parseProm } from './fixtures.ts'


const direct = (via: string): Route => ({ via, kind: 'direct', metric: 1024, path: ['S', via], since: 0 })
const relay = (via: string, dest: string): Route => ({ via, kind: 'relay', metric: 2048, path: ['S', via, dest], since: 0 })

test('routeChanges counts next-hop/kind changes and reachability changes, not since', () => {
  const a = new Map([['B', direct('B')], ['C', direct('C')], ['D', direct('D')]])
  const b = new Map([['B', direct('B')], ['C', relay('B', 'C')], ['E', direct('E')]])
  assert.is(routeChanges(null, a), 0, 'the first pass is no change')
  assert.is(routeChanges(a, a), 0)
  assert.is(routeChanges(a, new Map([...a, ['B', { ...direct('B'), since: 99 }]])), 0)
  assert.is(routeChanges(a, b), 3, 'C relayed, D gone, E new')
})

test('renders every gridmesh_ metric from pass observations, events and sources', async () => {
  const registry = new Registry()
  const m = createMetrics(registry)
  m.setSources({ rejected: () => ({ signature: 2, expired: 0 }), unhandled: () => 1 })
  const links = new Map([['B', { state: 'up', rttMs: 1.5 }], ['C', { state: 'down', rttMs: null }]])
  m.observePass({ members: 3, peers: [{ state: 'direct' }, { state: 'relayed' }], links, routes: new Map([['B', direct('B')], ['C', direct('C')]]) })
  m.observePass({ members: 3, peers: [{ state: 'direct' }, { state: 'relayed' }], links, routes: new Map([['B', direct('B')], ['C', relay('B', 'C')]]) })
  await m.timePass(async () => {})()
  await m.timePass(async () => { throw new Error('boom') })().catch(() => {})
  m.dhtOp('put', 20, true)
  m.dhtOp('get', 5000, false)
  m.wireguardRestarted()
  const p = parseProm(await registry.metrics())
  assert.is(p.get('gridmesh_members'), 3)
  assert.is(p.get('gridmesh_peers{state="direct"}'), 1)
  assert.is(p.get('gridmesh_peers{state="relayed"}'), 1)
  assert.is(p.get('gridmesh_peers{state="unreachable"}'), 0)
  assert.is(p.get('gridmesh_link_rtt_seconds{peer="B"}'), 0.0015)
  assert.is(p.get('gridmesh_link_rtt_seconds{peer="C"}'), undefined, 'no RTT series until measured')
  assert.is(p.get('gridmesh_link_up{peer="B"}'), 1)
  assert.is(p.get('gridmesh_link_up{peer="C"}'), 0)
  assert.is(p.get('gridmesh_route_changes_total'), 1)
  assert.is(p.get('gridmesh_reconciles_total{result="ok"}'), 1)
  assert.is(p.get('gridmesh_reconciles_total{result="error"}'), 1)
  assert.is(p.get('gridmesh_reconcile_duration_seconds_count'), 2)
  assert.is(p.get('gridmesh_dht_put_duration_seconds_count'), 1)
  assert.is(p.get('gridmesh_dht_get_duration_seconds_bucket{le="5"}'), 1)
  assert.is(p.get('gridmesh_dht_failures_total{op="get"}'), 1)
  assert.is(p.get('gridmesh_dht_failures_total{op="put"}'), 0)
  assert.is(p.get('gridmesh_records_rejected_total{reason="signature"}'), 2)
  assert.is(p.get('gridmesh_unhandled_errors_total'), 1)
  assert.is(p.get('gridmesh_wireguard_restarts_total'), 1)
})

test('departed peers drop out of the per-peer series', async () => {
  const registry = new Registry()
  const m = createMetrics(registry)
  m.observePass({ members: 2, peers: [], links: new Map([['B', { state: 'up', rttMs: 1 }]]), routes: new Map() })
  m.observePass({ members: 1, peers: [], links: new Map(), routes: new Map() })
  assert.not.match(await registry.metrics(), /peer="B"/)
})

test('two registries never share values (no global state)', async () => {
  const a = createMetrics(new Registry())
  const b = createMetrics(new Registry())
  a.wireguardRestarted()
  assert.is(parseProm(await b.registry.metrics()).get('gridmesh_wireguard_restarts_total'), 0)
})

test('the listener serves GET /metrics only', async () => {
  const m = createMetrics(new Registry())
  const server = await listenMetrics('127.0.0.1:0', m.registry)
  try {
    const addr = server.address()
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0
    const ok = await fetch(`http://127.0.0.1:${port}/metrics`)
    assert.is(ok.status, 200)
    assert.match(ok.headers.get('content-type') ?? '', /text\/plain/)
    assert.match(await ok.text(), /^# HELP gridmesh_/m)
    assert.is((await fetch(`http://127.0.0.1:${port}/`)).status, 404)
    assert.is((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 405)
  } finally {
    await closeMetrics(server)
  }
})

test.run()
