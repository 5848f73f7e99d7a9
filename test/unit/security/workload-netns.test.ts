/**
 * Attack 6 (issue 19): `workload add --netns` with the node's own namespace
 * moved the host's default route onto the workload veth (and removing the
 * workload left the host without one). The node's own namespace and any
 * namespace holding a mesh interface are refused before anything is created.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { createWorkloadManager } from '../../../src/workload/manager.ts'
import { createVethDriver } from '../../../src/workload/veth-driver.ts'
import { loadWorkloads } from '../../../src/workload/state.ts'
import { createRecordingRunner, type RecordedCall } from '../../../src/net/command-fake.ts'
import { parseIpv6Prefix } from '../../../src/net/prefix.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'

const PREFIX = parseIpv6Prefix('fd00:aa:bb:1::/64')
// Namespace files by identity: `host` is the node's own namespace under another name.
const IDS: Record<string, string> = { '/proc/self/ns/net': '4:100', '/run/netns/host': '4:100', '/run/netns/meshns': '4:200', '/run/netns/ws': '4:300' }
const LINKS: Record<string, string> = {
  meshns: '[{"ifindex":1,"ifname":"lo","linkinfo":null},{"ifindex":5,"ifname":"gridmesh0","linkinfo":{"info_kind":"tun"}}]',
  ws: '[{"ifindex":1,"ifname":"lo"}]',
  host: '[{"ifindex":1,"ifname":"lo"},{"ifindex":2,"ifname":"eth0","linkinfo":{"info_kind":"veth"}}]'
}

async function setup (): Promise<{ dir: string, runner: ReturnType<typeof createRecordingRunner>, add: (netns: string) => Promise<unknown> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gm-sec-wl-'))
  const runner = createRecordingRunner((c: RecordedCall) => {
    const l = c.args.join(' ')
    const m = /^-n (\S+) -d -j link show$/.exec(l)
    if (m !== null) return { stdout: LINKS[m[1] ?? ''] ?? '[]' }
    if (/ -j link show dev /.test(l)) return { code: 1, stderr: 'Device does not exist.' }
    if (l.endsWith('-j link show type veth')) return { stdout: '[]' }
    return undefined
  })
  const driver = createVethDriver({ runner, setSysctl: async () => {}, nsIdentity: async p => IDS[p] ?? null })
  const m = createWorkloadManager({ driver, logger: pino({ level: 'silent' }) }, { stateDir: dir, prefix: () => PREFIX, mtu: 1420 })
  await m.start()
  return { dir, runner, add: async netns => await m.add({ name: 'w1', netns }) }
}

async function refusedWith (p: Promise<unknown>, re: RegExp): Promise<void> {
  try { await p } catch (err) {
    assert.ok(isGridmeshError(err), String(err))
    assert.is(err.code, ErrorCodes.ADMIN_REQUEST)
    assert.match(err.message, re)
    return
  }
  assert.unreachable('expected a refusal')
}

for (const [ns, re] of [['host', /own namespace/], ['meshns', /mesh interface \(gridmesh0, tun\)/]] as const) {
  test(`workload add refuses ${ns === 'host' ? "the node's own namespace" : 'a namespace holding a mesh interface'}, creating nothing`, async () => {
    const s = await setup()
    try {
      await refusedWith(s.add(ns), re)
      assert.not.ok(s.runner.lines().some(l => / link add | route replace /.test(l)), s.runner.lines().join('\n'))
      assert.equal(await loadWorkloads(s.dir), [])
    } finally { await rm(s.dir, { recursive: true, force: true }) }
  })
}

test('a namespace of its own is still accepted', async () => {
  const s = await setup()
  try {
    await s.add('ws')
    assert.ok(s.runner.lines().some(l => l.startsWith('ip link add gmw')))
  } finally { await rm(s.dir, { recursive: true, force: true }) }
})

test.run()
