/**
 * Issue 18 with real daemons: peers shows wgPublicKey and a summary line,
 * the tables' short PeerId form and a PeerId end work as `routes --explain`
 * input, `gridmesh ping` shows the path over a direct and a relayed link,
 * `gridmesh doctor` passes a healthy node and names two broken setups, a workload whose namespace is deleted shows `gone` with its veth
 * removed, and a restart right after kill -9 goes ahead.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { createMeshLab, type MeshLab } from '../../netns/mesh.ts'
import { waitFor } from '../../netns/lab.ts'
import { shortPeerId } from '../../src/admin/peer-ref.ts'
import type { Explanation, GraphView, PeerRow, WorkloadView } from '../../src/admin/contract.ts'

const run = promisify(execFile)
let m: MeshLab
let ns = ''

const cli = (i: number, args: readonly string[]): ReturnType<MeshLab['cli']> => m.cli(i, [...args, '--admin-socket', m.adminSocket(i)])

test.before(async () => {
  m = await createMeshLab({ hosts: 3, mesh: 'ops' })
  ns = `${m.lab.id}-ow`
  await run('ip', ['netns', 'add', ns])
})
test.after(async () => {
  try { await m.destroy() } finally { if (ns !== '') await run('ip', ['netns', 'del', ns]).catch(() => undefined) }
})

test('a 3-host mesh comes up (host 3 with --log-format pretty)', async () => {
  m.start(1); m.start(2); m.start(3, { args: ['--log-format', 'pretty'] })
  await m.waitFullMesh([1, 2, 3], 90_000)
  const log = readFileSync(m.proc(3)?.logFile ?? '', 'utf8')
  assert.match(log, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[daemon\] node running /m)
  assert.not.match(log, /^\{"level"/m, 'no JSON lines')
})

test('peers: wgPublicKey in --json, a summary line in the table', async () => {
  const other = await m.status(2)
  const r = await cli(1, ['peers', '--json'])
  assert.is(r.code, 0, r.stderr)
  const rows = JSON.parse(r.stdout) as PeerRow[]
  assert.is(rows.find(p => p.peerId === other.peerId)?.wgPublicKey, other.wgPublicKey)
  const t = await cli(1, ['peers'])
  assert.is(t.stdout.trimEnd().split('\n').at(-1), '2/2 direct', t.stdout)
})

interface PingJson { peerId: string, path: { kind: string, via: string | null, path: string[] }, probes: Array<{ seq: number, rttMs: number | null }>, received: number, lossPct: number }

test('gridmesh ping: a direct path, then a relayed one after a cut, with RTT per probe and loss', async () => {
  const two = await m.status(2)
  // Polled: right after the mesh forms, the two ends can still disagree on a path for a moment; a reply must come within 30 s.
  let direct = await cli(1, ['ping', shortPeerId(two.peerId), '--count', '3'])
  for (const until = Date.now() + 30_000; direct.code !== 0 && Date.now() < until;) direct = await cli(1, ['ping', shortPeerId(two.peerId), '--count', '3'])
  assert.is(direct.code, 0, direct.stderr + direct.stdout)
  assert.match(direct.stdout, /path direct\n/)
  assert.match(direct.stdout, /reply from .*: seq=1 time=[\d.]+ ms/)
  assert.match(direct.stdout, /--- 3 sent, \d received, \d+% loss/)
  await m.lab.cut(1, 2)
  try {
    await waitFor(async () => (await m.peers(1)).find(p => p.peerId === two.peerId)?.state === 'relayed', { what: '1>2 relayed', timeoutMs: 30_000, intervalMs: 300 })
    const three = (await m.status(3)).peerId
    const r = await cli(1, ['ping', two.address, '--count', '3', '--json'])
    assert.is(r.code, 0, r.stderr)
    const p = JSON.parse(r.stdout) as PingJson
    assert.equal([p.peerId, p.path.kind, p.path.via], [two.peerId, 'relayed', three])
    assert.is(p.path.path.at(1), three)
    assert.is(p.probes.length, 3)
    assert.ok(p.received >= 1, `no reply over the relay: ${r.stdout}`)
    const g = JSON.parse((await cli(1, ['graph', '--json'])).stdout) as GraphView
    const one = (await m.status(1)).peerId
    assert.is(g.edges.find(e => [e.a, e.b].sort().join() === [one, two.peerId].sort().join())?.state, 'down')
    assert.equal(g.relays.find(r => r.destination === two.peerId)?.via, three)
    assert.is(g.nodes.length, 3)
    await waitFor(async () => {
      const r3 = JSON.parse((await cli(3, ['graph', '--json'])).stdout) as GraphView
      const pairs = r3.relaying.map(x => `${x.from}>${x.to}`).sort()
      if (pairs.join() !== [`${one}>${two.peerId}`, `${two.peerId}>${one}`].sort().join()) throw new Error(`relaying ${pairs.join()}`)
      return true
    }, { what: 'host 3 lists the pairs it relays', timeoutMs: 20_000, intervalMs: 300 })
    assert.match((await cli(3, ['status'])).stdout, /^relaying for +2 routes: /m)
    const human = await cli(1, ['ping', two.peerId.slice(-8), '--count', '1'])
    assert.match(human.stdout, new RegExp(`path relayed via ${shortPeerId(three).replace('…', '.')}`))
  } finally { await m.lab.heal(1, 2) }
})

test('routes --explain takes the short form of the tables and a PeerId end', async () => {
  const other = (await m.status(2)).peerId
  for (const target of [shortPeerId(other), other.slice(-6)]) {
    const r = await cli(1, ['routes', '--explain', target, '--json'])
    assert.is(r.code, 0, `${target}: ${r.stderr}`)
    assert.is((JSON.parse(r.stdout) as Explanation).destinationPeer, other)
  }
  const bad = await cli(1, ['routes', '--explain', '12D3KooW…zzzzzz'])
  assert.is(bad.code, 1)
  assert.not.match(bad.stderr, /%[0-9A-F]{2}|\?target=/, bad.stderr)
  assert.is(bad.stderr.trimEnd().split('\n').length, 1)
})

interface CheckJson { name: string, status: string, detail: string, fix?: string }

test('gridmesh doctor: healthy node exits 0; a dead bootstrap and ports held by another daemon fail with fixes', async () => {
  const boot = `${m.lab.host(1).ipv4}:7700`
  const healthy = await cli(2, ['doctor', '--mesh', 'ops', '--state-dir', m.stateDir(2), '--bootstrap', boot, '--json'])
  const h = JSON.parse(healthy.stdout) as CheckJson[]
  assert.is(healthy.code, 0, healthy.stdout)
  assert.equal(h.filter(c => c.status === 'fail'), [])
  assert.is(h.find(c => c.name === 'admin socket')?.status, 'ok')
  assert.is(h.find(c => c.name === 'bootstrap')?.status, 'ok')

  const deadBoot = await cli(2, ['doctor', '--mesh', 'ops', '--state-dir', m.stateDir(2), '--bootstrap', `${m.lab.host(1).ipv4}:7799`])
  assert.is(deadBoot.code, 1)
  assert.match(deadBoot.stdout, /^FAIL {2}bootstrap .*7799/m)
  assert.match(deadBoot.stdout, /fix: check each address and port/)

  // A second node on this host with the default ports: the running daemon holds them.
  const second = await m.cli(2, ['doctor', '--mesh', 'other', '--state-dir', '/tmp/none', '--admin-socket', `${m.adminSocket(2)}.other`])
  assert.is(second.code, 1)
  assert.match(second.stdout, /^FAIL {2}ports .*UDP 51820 \(--wg-port\)/m)
  assert.match(second.stdout, /fix: .*--probe-port/)
})

test('a workload whose namespace is deleted shows gone, and its veth is removed', async () => {
  const add = await cli(1, ['workload', 'add', 'ow', '--netns', ns, '--json'])
  assert.is(add.code, 0, add.stderr)
  const w = JSON.parse(add.stdout) as WorkloadView
  await run('ip', ['netns', 'del', ns])
  await waitFor(async () => {
    const r = await cli(1, ['workload', 'list', '--json'])
    const state = (JSON.parse(r.stdout) as WorkloadView[]).find(x => x.name === 'ow')?.state
    if (state !== 'gone') throw new Error(`state ${String(state)}`)
    return true
  }, { what: 'workload shown gone', timeoutMs: 20_000, intervalMs: 300 })
  const links = await m.lab.exec(1, 'ip', ['-o', 'link', 'show'])
  assert.not.match(links.stdout, new RegExp(`${w.interface}[@:]`), 'veth removed')
})

test('kill -9 then restart at once: the dead daemon\'s lock is taken over', async () => {
  const before = await m.status(1)
  assert.is(await m.stop(1, 'SIGKILL'), null)
  m.start(1)
  const after = await m.waitReady(1, 60_000)
  assert.is(after.peerId, before.peerId)
  assert.equal(m.unexpectedExits(), [], m.unexpectedExits().join('\n'))
})

test.run()
