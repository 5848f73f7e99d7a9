/**
 * Start-up is all-or-nothing (issue 19, attack 4): a failure at any step of
 * the mesh services' start undoes every step before it — the transport is
 * stopped (no port held), the prober's socket closed, the WireGuard restart
 * hooks removed, every timer cancelled — and the error comes out unchanged,
 * so the CLI exits with its code. One case per step, on the fakes.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createFakeTime } from '../../../src/time/fake.ts'
import { MemoryNetwork } from '../../../src/mesh/memory-network.ts'
import { ErrorCodes, exitCodeFor, isGridmeshError } from '../../../src/errors.ts'
import { startFakeNode, type FakeNode, type FakeNodeOptions } from './fake-root.ts'
import type { MeshNode } from '../../../src/mesh/transport.ts'
import type { MeshPorts } from '../../../src/daemon/mesh-services.ts'

const time = createFakeTime()
const network = new MemoryNetwork({ time })

async function drive<T> (work: Promise<T>): Promise<T> {
  let out: { ok: true, value: T } | { ok: false, err: unknown } | null = null
  work.then(value => { out = { ok: true, value } }, (err: unknown) => { out = { ok: false, err } })
  for (let waited = 0; out === null; waited += 50) {
    if (waited > 60_000) throw new Error('start did not settle within 60 s of virtual time')
    await time.advance(50)
  }
  const done = out as { ok: true, value: T } | { ok: false, err: unknown }
  if (!done.ok) throw done.err
  return done.value
}

/** What the spies saw of one start. */
interface Seen { transport: MeshNode | null, transportStopped: boolean, probers: number, probersStopped: number, restartHooks: number }

function spy (seen: Seen, fail: (ports: MeshPorts) => MeshPorts) {
  return (base: MeshPorts): MeshPorts => fail({
    ...base,
    createNode: async (init) => {
      const node = await base.createNode(init)
      seen.transport = node
      return { ...node, stop: async () => { seen.transportStopped = true; await node.stop() } }
    },
    createProber: (init) => {
      const p = base.createProber(init)
      seen.probers++
      return { ...p, stop: () => { seen.probersStopped++; p.stop() } }
    },
    wg: Object.assign(Object.create(base.wg) as MeshPorts['wg'], {
      onRestart: () => { seen.restartHooks++; return () => { seen.restartHooks-- } }
    })
  })
}

const boom = (): Error => new Error('injected failure')

const steps: ReadonlyArray<[string, (ports: MeshPorts) => MeshPorts, FakeNodeOptions, (err: unknown) => void]> = [
  ['the interface addresses', p => ({ ...p, net: { ...p.net, applyInterface: async () => { throw boom() } } }), {}, err => { assert.match(String(err), 'injected') }],
  ['the transport (libp2p)', p => ({ ...p, createNode: async () => { throw boom() } }), {}, err => { assert.match(String(err), 'injected') }],
  ['persisting the first seq (state.json)', p => p, { persistSeq: async () => { throw boom() } }, err => { assert.match(String(err), 'injected') }],
  ['no underlay address to publish (--listen 127.0.0.1:…)', p => p, { addrs: ['/ip4/127.0.0.1/tcp/7700'] }, err => {
    assert.ok(isGridmeshError(err) && err.code === ErrorCodes.CONFIG_INVALID, String(err))
    assert.is(exitCodeFor(err), 2)
    assert.match(String(err), 'no underlay address to publish')
  }],
  ['the prober socket', p => ({ ...p, createProber: (init) => ({ ...p.createProber(init), start: async () => { throw boom() } }) }), {}, err => { assert.match(String(err), 'injected') }]
]

let index = 10
for (const [step, fail, opts, check] of steps) {
  test(`a failure at ${step} undoes everything started before it`, async () => {
    const seen: Seen = { transport: null, transportStopped: false, probers: 0, probersStopped: 0, restartHooks: 0 }
    const scope = time.scope()
    const i = index++
    let started: FakeNode | null = null
    try {
      started = await drive(startFakeNode(network, time, i, { ...opts, scope, ports: spy(seen, fail) }))
    } catch (err) {
      check(err)
    }
    assert.is(started, null, 'the start failed')
    if (seen.transport !== null) assert.ok(seen.transportStopped, 'the transport was stopped')
    assert.is(seen.probersStopped >= seen.probers, true, 'every prober was stopped')
    assert.is(seen.restartHooks, 0, 'no WireGuard restart hook is left')
    await time.advance(1_000)
    assert.is(scope.pending, 0, 'no timer is left')
  })
}

test('a start that succeeds keeps its parts until stop, then leaves nothing', async () => {
  const seen: Seen = { transport: null, transportStopped: false, probers: 0, probersStopped: 0, restartHooks: 0 }
  const scope = time.scope()
  const node = await drive(startFakeNode(network, time, 30, { scope, ports: spy(seen, p => p) }))
  assert.is(seen.transportStopped, false)
  assert.is(seen.restartHooks, 2)
  await drive(node.services.stop())
  assert.ok(seen.transportStopped)
  assert.is(seen.restartHooks, 0)
  assert.is(scope.pending, 0)
})

test.run()
