/**
 * Issue 5 acceptance (workloads): a network namespace on a node gets an
 * address of the node's /64 through a veth pair, reaches a workload on
 * another node across the mesh, still does through a relay when the direct
 * link is cut, and keeps its address when the daemon restarts. Real daemons,
 * real wireguard-go, real pings from inside the workload namespaces.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createMeshLab, type MeshLab } from '../../netns/mesh.ts'
import { waitFor } from '../../netns/lab.ts'
import type { WorkloadView } from '../../src/workload/manager.ts'

const run = promisify(execFile)
const HOSTS = [1, 2, 3]
let m: MeshLab
let ws1 = ''
let ws3 = ''
const addr = new Map<string, string>()

/** Runs the CLI on host i against its daemon's socket. */
const cli = (i: number, args: readonly string[]): ReturnType<MeshLab['cli']> => m.cli(i, [...args, '--admin-socket', m.adminSocket(i)])

/** Pings `to` from inside workload namespace `ns` (one echo); true on a reply. */
async function pingFrom (ns: string, to: string): Promise<boolean> {
  try { await run('ip', ['netns', 'exec', ns, 'ping', '-6', '-n', '-q', '-c', '1', '-W', '2', to]); return true } catch { return false }
}

async function waitPing (ns: string, to: string, what: string): Promise<void> {
  await waitFor(async () => { if (!await pingFrom(ns, to)) throw new Error('no reply'); return true }, { what, timeoutMs: 60_000, intervalMs: 300 })
}

test.before(async () => {
  m = await createMeshLab({ hosts: 3, mesh: 'wl' })
  ws1 = `${m.lab.id}-w1`
  ws3 = `${m.lab.id}-w3`
  for (const ns of [ws1, ws3]) {
    await run('ip', ['netns', 'add', ns])
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
  }
})
test.after(async () => {
  try { await m.destroy() } finally {
    for (const ns of [ws1, ws3]) if (ns !== '') await run('ip', ['netns', 'del', ns]).catch(() => undefined)
  }
})

test('a 3-host mesh comes up', async () => {
  for (const i of HOSTS) m.start(i)
  await m.waitFullMesh(HOSTS, 90_000)
})

test('workload add on hosts 1 and 3 gives each namespace ::100 of its node /64', async () => {
  for (const [i, name, ns] of [[1, 'w1', ws1], [3, 'w3', ws3]] as const) {
    const r = await cli(i, ['workload', 'add', name, '--netns', ns, '--json'])
    assert.is(r.code, 0, r.stderr)
    const w = JSON.parse(r.stdout) as WorkloadView
    const prefix = (await m.status(i)).prefix
    assert.is(w.address, prefix.replace('::/64', '::100'))
    assert.is(w.state, 'up')
    addr.set(name, w.address)
    const inside = await run('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', 'gm0'])
    assert.match(inside.stdout, `${w.address}/128`)
    console.log(`  host ${i}: workload ${name} in ${ns} has ${w.address} (${w.interface})`)
  }
})

test('the workloads ping each other across the mesh (direct)', async () => {
  await waitPing(ws1, addr.get('w3') ?? '', 'w1 reaches w3')
  await waitPing(ws3, addr.get('w1') ?? '', 'w3 reaches w1')
})

test('with the direct link 1-3 cut, they still ping each other through host 2', async () => {
  await m.lab.cut(1, 3)
  const prefix3 = (await m.status(3)).prefix
  await waitFor(async () => {
    const r = (await m.routes(1)).find(x => x.destination === prefix3)
    if (r?.kind !== 'relay') throw new Error(`host 1 -> 3 is ${r?.kind ?? 'absent'}`)
    return true
  }, { what: 'host 1 relays to host 3', timeoutMs: 60_000, intervalMs: 200 })
  await waitPing(ws1, addr.get('w3') ?? '', 'w1 reaches w3 through the relay')
  await waitPing(ws3, addr.get('w1') ?? '', 'w3 reaches w1 through the relay')
})

test('a graceful stop removes the workload veth; the restarted daemon re-creates it at the same address', async () => {
  assert.is(await m.stop(1, 'SIGTERM'), 0)
  const veths = await m.lab.run(1, 'ip', ['-o', 'link', 'show', 'type', 'veth'])
  assert.not.match(veths, /gmw/, 'no workload veth left on host 1')
  assert.ok(await run('ip', ['-n', ws1, 'link', 'show', 'gm0']).then(() => false, () => true), 'gm0 gone from the workload namespace')
  m.start(1)
  await m.waitReady(1, 60_000)
  const list = await cli(1, ['workload', 'list', '--json'])
  assert.is(list.code, 0, list.stderr)
  assert.equal((JSON.parse(list.stdout) as WorkloadView[]).map(w => [w.name, w.address, w.state]), [['w1', addr.get('w1'), 'up']])
  await waitPing(ws1, addr.get('w3') ?? '', 'w1 reaches w3 after the restart')
})

test('bad requests are one-line errors with the contract exit codes', async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['workload', 'add', 'w1', '--netns', ws3], 1, /workload w1 exists \(address /],
    [['workload', 'add', 'w2', '--netns', `${m.lab.id}-nope`], 1, /network namespace \S+-nope does not exist \(ip netns list\)/],
    [['workload', 'add', 'Bad_Name', '--netns', ws3], 2, /invalid workload name/],
    [['workload', 'remove', 'nope'], 1, /no workload named nope/]
  ]
  for (const [args, code, message] of cases) {
    const r = await cli(1, args)
    assert.is(r.code, code, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
    assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
  }
})

test('workload remove deletes the veth and the list is empty', async () => {
  const r = await cli(1, ['workload', 'remove', 'w1'])
  assert.is(r.code, 0, r.stderr)
  const list = await cli(1, ['workload', 'list'])
  assert.is(list.code, 0)
  console.log(list.stdout.trimEnd())
  assert.not.match(list.stdout, /w1/)
  assert.ok(await run('ip', ['-n', ws1, 'link', 'show', 'gm0']).then(() => false, () => true), 'gm0 gone')
  const table = await cli(3, ['workload', 'list'])
  console.log(table.stdout.trimEnd())
})

test('graceful stop of every daemon exits 0 and leaves no gmw veth', async () => {
  for (const i of HOSTS) assert.is(await m.stop(i, 'SIGTERM'), 0, `host ${i}`)
  for (const i of HOSTS) assert.not.match(await m.lab.run(i, 'ip', ['-o', 'link', 'show']), /gmw/, `host ${i}`)
})

test.run()
