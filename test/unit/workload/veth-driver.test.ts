import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createVethDriver, type WorkloadLink } from '../../../src/workload/veth-driver.ts'
import { createRecordingRunner, type RecordedCall } from '../../../src/net/command-fake.ts'
import { parseNetnsName } from '../../../src/workload/names.ts'
import type { Ipv6Address } from '../../../src/net/prefix.ts'

const LINK: WorkloadLink = { ifname: 'gmw60c559', netns: parseNetnsName('ws1'), address: 'fd00:1:2:3::100' as Ipv6Address, mtu: 1420 }
const HOST = '[{"ifindex":7,"link_index":2,"ifname":"gmw60c559","link_netnsid":0}]'
const PEER = (linkIndex: number): string => `[{"ifindex":2,"link_index":${linkIndex},"ifname":"gm0","link_netnsid":0}]`

/** A fake system: which of the two ends exist. */
function system (host: string | null, peer: string | null) {
  const sysctls: string[] = []
  const runner = createRecordingRunner((c: RecordedCall) => {
    const l = c.args.join(' ')
    if (l === '-j link show dev gmw60c559') return host === null ? { code: 1, stderr: 'Device "gmw60c559" does not exist.' } : { stdout: host }
    if (l === '-n ws1 -j link show dev gm0') return peer === null ? { code: 1, stderr: 'Device "gm0" does not exist.' } : { stdout: peer }
    return undefined
  })
  const driver = createVethDriver({ runner, setSysctl: async (k, v) => { sysctls.push(`${k}=${v}`) } })
  return { runner, driver, sysctls }
}

const CONFIGURE = [
  'ip -n ws1 -6 addr replace fd00:1:2:3::100/128 dev gm0 nodad',
  'ip -n ws1 link set dev gm0 mtu 1420 up',
  'ip -n ws1 -6 route replace default via fe80::1 dev gm0',
  'ip link set dev gmw60c559 mtu 1420 up',
  'ip -6 addr replace fe80::1/64 dev gmw60c559 nodad',
  'ip -6 route replace fd00:1:2:3::100/128 dev gmw60c559 proto 77'
]
const READS = ['ip -j link show dev gmw60c559', 'ip -n ws1 -j link show dev gm0']

test('apply on a clean host creates the pair with the peer inside the namespace, then addresses and routes (golden)', async () => {
  const s = system(null, null)
  await s.driver.apply(LINK)
  assert.equal(s.runner.lines(), [
    ...READS,
    'ip link add gmw60c559 mtu 1420 type veth peer name gm0 mtu 1420 netns ws1',
    ...CONFIGURE
  ])
  assert.equal(s.sysctls, ['net/ipv6/conf/gmw60c559/forwarding=1'])
})

test('apply on a healthy pair creates and deletes nothing (only idempotent replaces)', async () => {
  const s = system(HOST, PEER(7))
  await s.driver.apply(LINK)
  assert.equal(s.runner.lines(), [...READS, ...CONFIGURE])
})

test('a host end whose peer is gone (or is someone else) is replaced', async () => {
  const s = system(HOST, null)
  await s.driver.apply(LINK)
  assert.equal(s.runner.lines().slice(0, 4), [...READS, 'ip link del dev gmw60c559', 'ip link add gmw60c559 mtu 1420 type veth peer name gm0 mtu 1420 netns ws1'])
})

test('a gm0 in the namespace that is not our peer is refused, not deleted', async () => {
  const s = system(null, PEER(99))
  await s.driver.apply(LINK).then(() => assert.unreachable(), (e: Error) => { assert.match(e.message, /already has an interface gm0/) })
  assert.equal(s.runner.lines(), READS)
})

test('remove deletes the host end (the peer and the route go with it); absent is a no-op', async () => {
  const present = system(HOST, null)
  await present.driver.remove('gmw60c559')
  assert.equal(present.runner.lines(), ['ip -j link show dev gmw60c559', 'ip link del dev gmw60c559'])
  const absent = system(null, null)
  await absent.driver.remove('gmw60c559')
  assert.equal(absent.runner.lines(), ['ip -j link show dev gmw60c559'])
})

test('list returns only gmw<hex6> veths', async () => {
  const runner = createRecordingRunner(() => ({ stdout: JSON.stringify([{ ifname: 'gmw60c559' }, { ifname: 'veth0' }, { ifname: 'gmwzzz' }, { ifname: 'gmw4b5e57' }]) }))
  const driver = createVethDriver({ runner, setSysctl: async () => {} })
  assert.equal(await driver.list(), ['gmw60c559', 'gmw4b5e57'])
  assert.equal(runner.lines(), ['ip -j link show type veth'])
})

test('netnsExists asks ip to enter the namespace', async () => {
  const runner = createRecordingRunner(c => c.args[1] === 'ws1' ? undefined : { code: 255, stderr: 'Cannot open network namespace' })
  const driver = createVethDriver({ runner, setSysctl: async () => {} })
  assert.ok(await driver.netnsExists(parseNetnsName('ws1')))
  assert.not.ok(await driver.netnsExists(parseNetnsName('nope')))
  assert.equal(runner.lines(), ['ip -n ws1 link show dev lo', 'ip -n nope link show dev lo'])
})

test.run()
