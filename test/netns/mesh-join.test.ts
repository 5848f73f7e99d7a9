/**
 * Issue 3 acceptance: nodes find each other over the private DHT and build the
 * full mesh by themselves. Real daemons, real wireguard-go, real pings.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createMeshLab, type MeshLab } from '../../netns/mesh.ts'
import { waitFor } from '../../netns/lab.ts'
import { waitAllPairsPing } from '../../netns/route-watch.ts'

const SIX = [1, 2, 3, 4, 5, 6]
let m: MeshLab

function shuffled<T> (xs: readonly T[]): T[] {
  const a = [...xs]
  for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [a[i], a[j]] = [a[j] as T, a[i] as T] }
  return a
}

test.before(async () => { m = await createMeshLab({ hosts: 7 }) })
test.after(async () => { await m.destroy() })

test('6 hosts started in random order with only host 1 as bootstrap form a full mesh', async () => {
  const order = shuffled(SIX)
  for (const i of order) { m.start(i); await new Promise(resolve => setTimeout(resolve, 150)) }
  await m.waitFullMesh(SIX, 90_000)
  // Startup load can still flap a link for a moment after the first full view: poll to a deadline.
  await waitFor(async () => {
    for (const i of SIX) {
      const peers = await m.peers(i)
      if (peers.length !== 5) throw new Error(`host ${i} lists ${peers.length} peers`)
      if (!peers.every(p => p.state === 'direct' && p.via === null)) throw new Error(`host ${i}: not all direct`)
    }
    return true
  }, { what: 'every host lists 5 direct peers', timeoutMs: 30_000 })
})

test('every ordered pair pings the other node address over the overlay', async () => {
  await waitAllPairsPing(m, SIX)
})

test('WireGuard on every host has exactly the 5 other members, each with its own /64', async () => {
  const statuses = await Promise.all(SIX.map(i => m.status(i)))
  for (const [k, i] of SIX.entries()) {
    const dev = await m.wg(i)
    const others = statuses.filter((_, j) => j !== k)
    assert.is(dev.peers.length, 5)
    for (const o of others) {
      const p = dev.peers.find(x => x.publicKey === o.wgPublicKey)
      assert.ok(p !== undefined, `host ${i} has ${o.peerId}`)
      assert.ok((p.allowedIps as readonly string[]).includes(o.prefix), `host ${i}: ${o.prefix} on its owner`)
      assert.not.ok(p.allowedIps.some(a => a === o.meshPrefix || a === '::/0'), 'never the mesh prefix or ::/0')
    }
  }
})

test('a restarted node keeps PeerId, WireGuard key and prefix, and the mesh heals around it', async () => {
  const before = await m.status(3)
  assert.is(await m.stop(3, 'SIGTERM'), 0, 'graceful stop exits 0')
  m.start(3)
  const after = await m.waitReady(3)
  assert.is(after.peerId, before.peerId)
  assert.is(after.wgPublicKey, before.wgPublicKey)
  assert.is(after.prefix, before.prefix)
  assert.ok(after.seq > before.seq, 'published seq only grows')
  await m.waitFullMesh(SIX, 60_000)
  await waitAllPairsPing(m, SIX, ' after the restart')
})

test('a 7th host joining the running mesh becomes reachable from all', async () => {
  m.start(7)
  const seven = await m.waitReady(7)
  const ALL = [...SIX, 7]
  await m.waitFullMesh(ALL, 60_000)
  for (const i of SIX) {
    assert.ok(await m.lab.ping6(i, seven.address, { count: 2, timeoutS: 2 }), `host ${i} reaches the joiner`)
  }
})

test('no daemon counted an unhandled error', async () => {
  for (const i of [...SIX, 7]) assert.is((await m.status(i)).counters.unhandled, 0, `host ${i}`)
})

test('graceful stop of every daemon removes interfaces and leaves no process', async () => {
  for (const i of [...SIX, 7]) assert.is(await m.stop(i, 'SIGTERM'), 0, `host ${i} exits 0`)
  for (const i of [...SIX, 7]) {
    const link = await m.lab.exec(i, 'ip', ['link', 'show', 'gridmesh0'])
    assert.ok(link.code !== 0, `host ${i}: interface removed`)
    const socks = await m.lab.exec(i, 'ls', ['/run/wireguard'])
    assert.is(socks.stdout.trim(), '', `host ${i}: no UAPI socket left`)
  }
  await waitFor(async () => (await m.lab.exec(1, 'pgrep', ['-f', 'wireguard-go -f gridmesh0'])).code !== 0, { what: 'no wireguard-go left', timeoutMs: 5000 })
})

test.run()
