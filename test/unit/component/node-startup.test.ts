/**
 * The whole start of a node (node.ts phase 2) is all-or-nothing: state lock,
 * state file, WireGuard interface, sysctls, nftables, mesh services,
 * workloads, admin socket. A failure at each step in turn must leave no
 * interface (fake WireGuard down), no nftables table, no lock file, no
 * admin socket, no running transport and no timer; a start that succeeds
 * leaves the same nothing after stop(). Real files in a temp dir, fakes for
 * the system and the network, fake time.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFakeTime } from '../../../src/time/fake.ts'
import { MemoryNetwork } from '../../../src/mesh/memory-network.ts'
import { createRoutingProber } from './prober-fake.ts'
import { configSchema } from '../../../src/config/schema.ts'
import { INITIAL_NODE_STATE } from '../../../src/mesh/node-state.ts'
import { createFakeNetDriver } from '../../../src/net/fake.ts'
import { createFakeWireGuardDriver } from '../../../src/wireguard/fake.ts'
import { createFakeVethDriver } from '../../../src/workload/fake.ts'
import { startPreparedNode, type SystemPorts } from '../../../src/daemon/node.ts'
import { acquireStateLock } from '../../../src/daemon/lock.ts'
import { testLogger } from '../../../src/log.ts'
import { drive, identityFor, MESH, MESH_PREFIX } from './fake-root.ts'

const time = createFakeTime()
const network = new MemoryNetwork({ time })
const boom = (): Error => new Error('injected failure')

interface World { sawMesh: () => boolean, sys: SystemPorts, wgText: () => string, nft: { applied: boolean }, transportStopped: () => boolean | null, scope: ReturnType<typeof time.scope> }

async function world (i: number): Promise<World> {
  const identity = await identityFor(i)
  const wg = createFakeWireGuardDriver({ meshPrefix: MESH_PREFIX })
  const nft = { applied: false }
  const scope = time.scope()
  let stopped: boolean | null = null
  const sys: SystemPorts = {
    wg: Object.assign(wg, { onRestart: () => () => {}, backend: 'fake' }),
    net: createFakeNetDriver(),
    nft: { apply: async () => { nft.applied = true }, remove: async () => { nft.applied = false } },
    veth: createFakeVethDriver(),
    mesh: {
      time: scope,
      createNode: async (t) => {
        const node = network.node({ peerId: identity.peerId, addrs: [`/ip4/10.0.1.${i}/tcp/7700`], validator: t.validator, selector: t.selector })
        stopped = false
        return { ...node, stop: async () => { stopped = true; await node.stop() } }
      },
      createProber: createRoutingProber(network, identity.peerId, scope),
      memory: () => ({ rssMb: 0, heapUsedMb: 0 })
    }
  }
  return { sawMesh: () => stopped !== null, sys, wgText: () => wg.text(), nft, transportStopped: () => stopped, scope }
}

const steps: ReadonlyArray<[string, (sys: SystemPorts) => SystemPorts]> = [
  ['bringing the WireGuard interface up', s => ({ ...s, wg: Object.assign(Object.create(s.wg) as SystemPorts['wg'], { up: async () => { throw boom() } }) })],
  ['the interface sysctls', s => ({ ...s, net: { ...s.net, setSysctl: async () => { throw boom() } } })],
  ['the nftables rules', s => ({ ...s, nft: { ...s.nft, apply: async () => { throw boom() } } })],
  ['the mesh services (libp2p)', s => ({ ...s, mesh: { ...s.mesh, createNode: async () => { throw boom() } } })],
  ['the workloads', s => ({ ...s, veth: { ...s.veth, list: async () => { throw boom() } } })]
]

let index = 40
async function startIn (dir: string, sys: SystemPorts, i: number, adminSocket = join(dir, 'admin.sock')): Promise<Awaited<ReturnType<typeof startPreparedNode>>> {
  const config = configSchema.parse({ mesh: MESH, stateDir: dir, interface: 'gm0', listen: `10.0.1.${i}:7700`, adminSocket })
  // Phase 1 takes the state-dir lock; phase 2 must give it back on any failure.
  const prepared = { meshPrefix: MESH_PREFIX, requested: null, identity: await identityFor(i), state: INITIAL_NODE_STATE, closed: null, psk: null, release: await acquireStateLock(dir) }
  return await drive(time, startPreparedNode(config, testLogger(), prepared, sys, 0, { unhandled: 0 }))
}

for (const [step, fail] of [...steps, ['the admin socket', (s: SystemPorts) => s] as const]) {
  test(`node start: a failure at ${step} undoes every step before it`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gm-start-'))
    try {
      const i = index++
      const w = await world(i)
      // A unix socket path longer than sun_path (108 bytes) cannot be listened on: the last step fails.
      const adminSocket = step === 'the admin socket' ? join(dir, `${'x'.repeat(120)}.sock`) : join(dir, 'admin.sock')
      let failed: unknown = null
      await startIn(dir, fail(w.sys), i, adminSocket).catch((err: unknown) => { failed = err })
      assert.ok(failed !== null, 'the start failed')
      if (step !== 'the admin socket') assert.match(String(failed), 'injected')
      else assert.ok(w.sawMesh(), `the start got as far as the mesh before failing (${String(failed)})`)
      assert.is(w.wgText(), 'down', 'no WireGuard interface')
      assert.not.ok(w.nft.applied, 'no nftables table')
      assert.not.ok(w.transportStopped() === false, 'no transport left running')
      assert.equal((await readdir(dir)).filter(f => f === 'daemon.pid' || f.endsWith('.sock')), [], 'no lock file, no admin socket')
      await time.advance(1_000)
      assert.is(w.scope.pending, 0, 'no timer left')
    } finally { await rm(dir, { recursive: true, force: true }) }
  })
}

test('node start: a start that succeeds holds everything until stop, then nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gm-start-'))
  try {
    const i = index++
    const w = await world(i)
    const node = await startIn(dir, w.sys, i)
    assert.match(w.wgText(), /^device /)
    assert.ok(w.nft.applied)
    assert.ok((await readdir(dir)).includes('daemon.pid'))
    await drive(time, node.stop())
    assert.is(w.wgText(), 'down')
    assert.not.ok(w.nft.applied)
    assert.ok(w.transportStopped() === true)
    assert.equal((await readdir(dir)).filter(f => f === 'daemon.pid' || f.endsWith('.sock')), [])
    assert.is(w.scope.pending, 0)
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test.run()
