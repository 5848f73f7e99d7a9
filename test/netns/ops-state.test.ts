/**
 * Issue 18 with real daemons: peers shows wgPublicKey and a summary line,
 * the tables' short PeerId form and a PeerId end work as `routes --explain`
 * input, a workload whose namespace is deleted shows `gone` with its veth
 * removed, and a restart right after kill -9 goes ahead.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createMeshLab, type MeshLab } from '../../netns/mesh.ts'
import { waitFor } from '../../netns/lab.ts'
import { shortPeerId } from '../../src/admin/peer-ref.ts'
import type { Explanation, PeerRow, WorkloadView } from '../../src/admin/contract.ts'

const run = promisify(execFile)
let m: MeshLab
let ns = ''

const cli = (i: number, args: readonly string[]): ReturnType<MeshLab['cli']> => m.cli(i, [...args, '--admin-socket', m.adminSocket(i)])

test.before(async () => {
  m = await createMeshLab({ hosts: 2, mesh: 'ops' })
  ns = `${m.lab.id}-ow`
  await run('ip', ['netns', 'add', ns])
})
test.after(async () => {
  try { await m.destroy() } finally { if (ns !== '') await run('ip', ['netns', 'del', ns]).catch(() => undefined) }
})

test('a 2-host mesh comes up', async () => {
  m.start(1); m.start(2)
  await m.waitFullMesh([1, 2], 90_000)
})

test('peers: wgPublicKey in --json, a summary line in the table', async () => {
  const other = await m.status(2)
  const r = await cli(1, ['peers', '--json'])
  assert.is(r.code, 0, r.stderr)
  const rows = JSON.parse(r.stdout) as PeerRow[]
  assert.is(rows.find(p => p.peerId === other.peerId)?.wgPublicKey, other.wgPublicKey)
  const t = await cli(1, ['peers'])
  assert.is(t.stdout.trimEnd().split('\n').at(-1), '1/1 direct', t.stdout)
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
