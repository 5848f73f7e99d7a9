/**
 * Honest workload state (issue 18): a workload whose namespace is deleted
 * while the node runs shows `gone` (not `up`), its host veth is removed, and
 * it comes back with the same address when the namespace is re-created.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { createWorkloadManager } from '../../../src/workload/manager.ts'
import { createFakeVethDriver } from '../../../src/workload/fake.ts'
import { parseIpv6Prefix } from '../../../src/net/prefix.ts'

test('ip netns del → gone and cleaned up; the namespace back → up again, same address', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gm-gone-'))
  const fake = createFakeVethDriver(['ns1', 'ns2'])
  const m = createWorkloadManager({ driver: fake, logger: pino({ level: 'silent' }) },
    { stateDir: dir, prefix: () => parseIpv6Prefix('fd00:aa:bb:1::/64'), mtu: 1420 })
  try {
    await m.start()
    const added = await m.add({ name: 'w1', netns: 'ns1' })
    await m.add({ name: 'w2', netns: 'ns2' })
    fake.namespaces.delete('ns1')
    const list = await m.list()
    const w1 = list.find(w => w.name === 'w1')
    assert.is(w1?.state, 'gone')
    assert.match(w1?.error ?? '', /ns1 was deleted/)
    assert.is(list.find(w => w.name === 'w2')?.state, 'up', 'the others are untouched')
    assert.not.ok(fake.links.has(added.interface), 'no veth left for the gone workload')
    fake.namespaces.add('ns1')
    const back = (await m.list()).find(w => w.name === 'w1')
    assert.is(back?.state, 'up')
    assert.is(back?.address, added.address)
    assert.ok(fake.links.has(added.interface))
  } finally {
    await m.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
