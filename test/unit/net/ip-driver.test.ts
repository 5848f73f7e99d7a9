import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createIpDriver } from '../../../src/net/ip-driver.ts'
import { parseRouteJson, parseAddrJson } from '../../../src/net/ip-read.ts'
import { createRecordingRunner } from '../../../src/net/command-fake.ts'
import { createFakeNetDriver } from '../../../src/net/fake.ts'
import type { Ipv6Address, Ipv6Prefix } from '../../../src/net/prefix.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'

const LINK = '[{"ifname":"gm0","flags":["POINTOPOINT","NOARP","UP","LOWER_UP"],"mtu":1420}]'
const ADDRS = JSON.stringify([{ ifname: 'gm0', addr_info: [
  { family: 'inet6', local: 'fd5e:1a2b:3c4d:a::1', prefixlen: 64, scope: 'global' },
  { family: 'inet6', local: 'fd5e:1a2b:3c4d:a::99', prefixlen: 64, scope: 'global' },
  { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }
] }])
const ROUTES = JSON.stringify([
  { dst: 'fd5e:1a2b:3c4d:b::/64', dev: 'gm0', protocol: '77', metric: 1024 },
  { dst: 'fd5e:1a2b:3c4d:9::/64', dev: 'gm0', protocol: '77', metric: 1024 }
])

function system () {
  return createRecordingRunner(c => {
    const l = [c.cmd, ...c.args].join(' ')
    if (l.startsWith('ip -j link show')) return { stdout: LINK }
    if (l.startsWith('ip -j -6 addr show')) return { stdout: ADDRS }
    if (l.startsWith('ip -j -6 route show dev gm0 proto 77')) return { stdout: ROUTES }
    return undefined
  })
}
const desired = {
  addresses: [{ address: 'fd5e:1a2b:3c4d:a::1' as Ipv6Address, prefixLength: 64 }],
  mtu: 1420,
  routes: [{ destination: 'fd5e:1a2b:3c4d:b::/64' as Ipv6Prefix }, { destination: 'fd5e:1a2b:3c4d:c::2/128' as Ipv6Prefix, metric: 10 }]
}

test('applyInterface changes only what differs; link-local and kernel routes untouched', async () => {
  const r = system()
  await createIpDriver({ runner: r }).applyInterface('gm0', desired)
  const changes = r.lines().filter(l => !l.startsWith('ip -j'))
  assert.equal(changes, [
    'ip -6 addr del fd5e:1a2b:3c4d:a::99/64 dev gm0',
    'ip -6 route del fd5e:1a2b:3c4d:9::/64 dev gm0 proto 77 metric 1024',
    'ip -6 route replace fd5e:1a2b:3c4d:c::2/128 dev gm0 proto 77 metric 10'
  ])
})

test('mtu or down link → one ip link set', async () => {
  const r = system()
  await createIpDriver({ runner: r }).applyInterface('gm0', { ...desired, mtu: 1280 })
  assert.ok(r.lines().includes('ip link set dev gm0 mtu 1280 up'))
})

test('ip JSON: host routes get /128, link-local addresses are skipped', () => {
  assert.equal(parseRouteJson('[{"dst":"fd00::2","metric":5}]'), [{ dst: 'fd00::2/128', metric: 5, src: null }])
  assert.equal(parseAddrJson(ADDRS), ['fd5e:1a2b:3c4d:a::1/64', 'fd5e:1a2b:3c4d:a::99/64'])
  try { parseRouteJson('{nope'); assert.unreachable() } catch (err) {
    assert.ok(isGridmeshError(err)); assert.is(err.code, ErrorCodes.DRIVER_FAILED)
  }
})

test('setSysctl writes /proc/sys files only when different, refuses ..', async () => {
  const root = mkdtempSync(join(tmpdir(), 'gm-sysctl-'))
  try {
    mkdirSync(join(root, 'net/ipv6/conf/all'), { recursive: true })
    writeFileSync(join(root, 'net/ipv6/conf/all/forwarding'), '0\n')
    const d = createIpDriver({ runner: system(), procSysRoot: root })
    await d.setSysctl('net.ipv6.conf.all.forwarding', '1')
    assert.is(readFileSync(join(root, 'net/ipv6/conf/all/forwarding'), 'utf8'), '1\n')
    try { await d.setSysctl('net/../../etc/passwd', 'x'); assert.unreachable() } catch (err) {
      assert.ok(isGridmeshError(err)); assert.match(err.message, 'invalid sysctl key')
    }
    try { await d.setSysctl('net.ipv6.conf.nope.forwarding', '1'); assert.unreachable() } catch (err) {
      assert.ok(isGridmeshError(err)); assert.is(err.code, ErrorCodes.DRIVER_FAILED)
    }
  } finally { rmSync(root, { recursive: true, force: true }) }
})

test('fake net driver: stable text, idempotent', async () => {
  const f = createFakeNetDriver()
  await f.applyInterface('gm0', desired)
  await f.applyInterface('gm0', desired)
  await f.setSysctl('net.ipv6.conf.all.forwarding', '1')
  assert.is(f.changeCount, 2)
  assert.is(f.text(), [
    'iface gm0 mtu 1420 up',
    'iface gm0 addr fd5e:1a2b:3c4d:a::1/64',
    'iface gm0 route fd5e:1a2b:3c4d:b::/64 metric 1024',
    'iface gm0 route fd5e:1a2b:3c4d:c::2/128 metric 10',
    'sysctl net.ipv6.conf.all.forwarding=1'
  ].join('\n'))
})

test.run()
