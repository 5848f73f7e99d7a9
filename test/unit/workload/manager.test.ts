import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { createWorkloadManager, type WorkloadManager } from '../../../src/workload/manager.ts'
import { createFakeVethDriver, type FakeVethDriver } from '../../../src/workload/fake.ts'
import { createVethDriver, type VethDriver } from '../../../src/workload/veth-driver.ts'
import { loadWorkloads, WORKLOADS_FILE } from '../../../src/workload/state.ts'
import { createRecordingRunner } from '../../../src/net/command-fake.ts'
import { parseIpv6Prefix, type Ipv6Prefix } from '../../../src/net/prefix.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'

const PREFIX = parseIpv6Prefix('fd00:aa:bb:1::/64')
const silent = pino({ level: 'silent' })

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gm-wm-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

function manager (dir: string, driver: VethDriver, prefix: () => Ipv6Prefix = () => PREFIX): WorkloadManager {
  return createWorkloadManager({ driver, logger: silent }, { stateDir: dir, prefix, mtu: 1420 })
}

async function refused (p: Promise<unknown>, message: RegExp): Promise<void> {
  try { await p; assert.unreachable('expected a refusal') } catch (err) {
    assert.ok(isGridmeshError(err), String(err))
    assert.is(err.code, ErrorCodes.ADMIN_REQUEST)
    assert.match(err.message, message)
  }
}

test('add gives lowest free addresses from ::100, persists them, and list shows them', () => withDir(async dir => {
  const fake = createFakeVethDriver(['ns1', 'ns2'])
  const m = manager(dir, fake)
  await m.start()
  const a = await m.add({ name: 'w1', netns: 'ns1' })
  const b = await m.add({ name: 'w2', netns: 'ns2' })
  assert.equal(a, { name: 'w1', netns: 'ns1', address: 'fd00:aa:bb:1::100', interface: 'gmw60c559', state: 'up' })
  assert.is(b.address, 'fd00:aa:bb:1::101')
  assert.is(fake.text(), 'gmw06f8fa netns ns2 address fd00:aa:bb:1::101 mtu 1420\ngmw60c559 netns ns1 address fd00:aa:bb:1::100 mtu 1420')
  assert.equal((await loadWorkloads(dir)).map(e => [e.name, e.host]), [['w1', 0x100], ['w2', 0x101]])
  assert.equal((await m.list()).map(w => w.name), ['w1', 'w2'])
}))

test('bad requests are refused with one clear reason and change nothing', () => withDir(async dir => {
  const fake = createFakeVethDriver(['ns1', 'ns2'])
  const m = manager(dir, fake)
  await m.start()
  await m.add({ name: 'w1', netns: 'ns1' })
  await refused(m.add({ name: 'w1', netns: 'ns2' }), /^workload w1 exists \(address fd00:aa:bb:1::100, netns ns1\)$/)
  await refused(m.add({ name: 'w9', netns: 'ns1' }), /ns1 already has workload w1/)
  await refused(m.add({ name: 'w2', netns: 'gone' }), /^network namespace gone does not exist \(ip netns list\)$/)
  await refused(m.add({ name: 'Bad!', netns: 'ns2' }), /invalid workload name/)
  await refused(m.remove('w7'), /^no workload named w7$/)
  assert.is(fake.links.size, 1)
  assert.is((await loadWorkloads(dir)).length, 1)
}))

test('remove deletes the veth, frees the address for the next add, and forgets the name', () => withDir(async dir => {
  const fake = createFakeVethDriver(['ns1', 'ns2', 'ns3'])
  const m = manager(dir, fake)
  await m.start()
  await m.add({ name: 'w1', netns: 'ns1' })
  await m.add({ name: 'w2', netns: 'ns2' })
  assert.is((await m.remove('w1')).address, 'fd00:aa:bb:1::100')
  assert.is((await m.add({ name: 'w3', netns: 'ns3' })).address, 'fd00:aa:bb:1::100')
  assert.equal((await loadWorkloads(dir)).map(e => e.name), ['w3', 'w2'])
}))

test('a restart keeps every workload at its address; stop leaves no veth behind', () => withDir(async dir => {
  const fake = createFakeVethDriver(['ns1', 'ns2'])
  const first = manager(dir, fake)
  await first.start()
  await first.add({ name: 'w1', netns: 'ns1' })
  await first.add({ name: 'w2', netns: 'ns2' })
  await first.remove('w1')
  const before = fake.text()
  await first.stop()
  assert.is(fake.text(), '')
  const second = manager(dir, fake)
  await second.start()
  assert.is(fake.text(), before)
  assert.equal((await second.list()).map(w => [w.name, w.address, w.state]), [['w2', 'fd00:aa:bb:1::101', 'up']])
}))

test('start removes stale gmw veths and reports a workload whose namespace vanished', () => withDir(async dir => {
  const fake = createFakeVethDriver(['ns1'])
  const m1 = manager(dir, fake)
  await m1.start()
  await m1.add({ name: 'w1', netns: 'ns1' })
  fake.links.set('gmwdeadbe', { ifname: 'gmwdeadbe', netns: 'ns1' as never, address: 'fd00::1' as never, mtu: 1420 })
  fake.links.delete('gmw60c559')
  fake.namespaces.delete('ns1')
  const m2 = manager(dir, fake)
  await m2.start()
  assert.is(fake.text(), '')
  const [w] = await m2.list()
  assert.is(w?.state, 'missing-netns')
  assert.match(w?.error ?? '', /ns1 does not exist/)
}))

test('a failed persist undoes the veth (nothing half-added)', () => withDir(async dir => {
  const fake = createFakeVethDriver(['ns1'])
  const m = manager(join(dir, 'no-such-dir'), fake)
  await m.start()
  await m.add({ name: 'w1', netns: 'ns1' }).then(() => assert.unreachable(), () => {})
  assert.is(fake.text(), '')
  assert.equal(await m.list(), [])
}))

test('a corrupt workloads.json fails start with STATE_CORRUPT', () => withDir(async dir => {
  await writeFile(join(dir, WORKLOADS_FILE), '{nope')
  try { await manager(dir, createFakeVethDriver()).start(); assert.unreachable() } catch (err) {
    assert.ok(isGridmeshError(err)); assert.is(err.code, ErrorCodes.STATE_CORRUPT)
  }
}))

test('reconcile at start through the real driver: delete the stale veth, re-create the persisted one (golden)', () => withDir(async dir => {
  await writeFile(join(dir, WORKLOADS_FILE), JSON.stringify({ version: 1, workloads: [{ name: 'w1', netns: 'ns1', host: 0x100 }] }))
  const runner = createRecordingRunner(c => {
    const l = c.args.join(' ')
    if (l === '-j link show type veth') return { stdout: '[{"ifname":"gmw60c559"},{"ifname":"gmwdeadbe"},{"ifname":"eth0"}]' }
    if (l === '-j link show dev gmwdeadbe') return { stdout: '[{"ifindex":9,"ifname":"gmwdeadbe"}]' }
    if (l.includes('-j link show dev')) return { code: 1 }
    return undefined
  })
  const sysctls: string[] = []
  await manager(dir, createVethDriver({ runner, setSysctl: async (k, v) => { sysctls.push(`${k}=${v}`) } })).start()
  assert.equal(runner.lines(), [
    'ip -j link show type veth',
    'ip -j link show dev gmwdeadbe',
    'ip link del dev gmwdeadbe',
    'ip -n ns1 link show dev lo',
    'ip -j link show dev gmw60c559',
    'ip -n ns1 -j link show dev gm0',
    'ip link add gmw60c559 mtu 1420 type veth peer name gm0 mtu 1420 netns ns1',
    'ip -n ns1 -6 addr replace fd00:aa:bb:1::100/128 dev gm0 nodad',
    'ip -n ns1 link set dev gm0 mtu 1420 up',
    'ip -n ns1 -6 route replace default via fe80::1 dev gm0',
    'ip link set dev gmw60c559 mtu 1420 up',
    'ip -6 addr replace fe80::1/64 dev gmw60c559 nodad',
    'ip -6 route replace fd00:aa:bb:1::100/128 dev gmw60c559 proto 77'
  ])
  assert.equal(sysctls, ['net/ipv6/conf/gmw60c559/forwarding=1'])
}))

test.run()
