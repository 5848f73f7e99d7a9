/** `gridmesh doctor` (issue 18): every check, healthy and broken, with a fix per failure. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { renderChecks, runChecks, type DoctorConfig, type DoctorHost } from '../../../src/cli/doctor-checks.ts'
import { dialTarget, doctorConfig } from '../../../src/cli/doctor.ts'
import type { StatusView } from '../../../src/admin/contract.ts'

const CONFIG: DoctorConfig = {
  adminSocket: '/run/gridmesh/gridmesh.sock', wgPort: 51820, probePort: 51821, listen: { host: '0.0.0.0', port: 7700 },
  bootstrap: [{ entry: '10.0.0.1:7700', host: '10.0.0.1', port: 7700 }]
}

function host (over: Partial<DoctorHost> = {}): DoctorHost {
  return {
    which: async cmd => `/usr/bin/${cmd}`,
    exists: async () => true,
    run: async (cmd, args) => ({ code: 0, stdout: cmd === 'timedatectl' ? 'yes\n' : args[0] === '--version' ? 'nftables v1.0.6\n' : '' }),
    udpFree: async () => true,
    tcpFree: async () => true,
    tcpReachable: async () => true,
    daemon: async () => ({ status: { peerId: '12D3KooWx', members: 3 } as StatusView }),
    now: () => Date.UTC(2026, 0, 1),
    ...over
  }
}

const byName = async (h: DoctorHost, c = CONFIG): Promise<Map<string, { status: string, fix?: string | undefined }>> =>
  new Map((await runChecks(h, c)).map(r => [r.name, r]))

test('a healthy node: every check ok; ports in use by the running daemon are fine', async () => {
  const r = await runChecks(host({ udpFree: async () => false, tcpFree: async () => false }), CONFIG)
  assert.equal(r.map(x => [x.name, x.status]), [
    ['wireguard', 'ok'], ['tools', 'ok'], ['admin socket', 'ok'], ['ports', 'ok'], ['bootstrap', 'ok'], ['nftables', 'ok'], ['clock', 'ok']
  ])
  assert.match(renderChecks(r), /^ok {4}wireguard/m)
})

test('broken: ports held by another process, no daemon: FAIL with a fix', async () => {
  const r = await byName(host({ udpFree: async p => p !== 51821, daemon: async () => ({ error: 'no gridmesh daemon at x', code: 'ERR_DAEMON_UNREACHABLE' }) }))
  assert.is(r.get('ports')?.status, 'fail')
  assert.match(r.get('ports')?.fix ?? '', /--probe-port/)
  assert.is(r.get('admin socket')?.status, 'warn')
})

test('broken: no bootstrap reachable, no wireguard, missing tools, a clock in the past', async () => {
  const r = await byName(host({
    tcpReachable: async () => false,
    exists: async () => false,
    which: async cmd => cmd === 'wireguard-go' || cmd === 'nft' ? null : `/usr/bin/${cmd}`,
    now: () => Date.UTC(2001, 0, 1)
  }))
  for (const name of ['bootstrap', 'wireguard', 'tools', 'clock']) {
    assert.is(r.get(name)?.status, 'fail', name)
    assert.ok((r.get(name)?.fix ?? '').length > 0, `${name} has a fix`)
  }
  assert.match(r.get('tools')?.fix ?? '', /nftables/)
})

test('an admin socket that is a regular file is a failure, not "not running"', async () => {
  const r = await byName(host({ daemon: async () => ({ error: '/x is a regular file, not a socket; …', code: 'ERR_DAEMON_UNREACHABLE' }) }))
  assert.is(r.get('admin socket')?.status, 'fail')
})

test('config: the same sources as up; bootstraps become TCP targets', () => {
  const { config, check } = doctorConfig({ mesh: 'lab', stateDir: '/s', wgPort: '6000', bootstrap: ['10.0.0.1:7700', '/ip6/::1/tcp/7701'] }, {})
  assert.is(check.status, 'ok')
  assert.is(config.wgPort, 6000)
  assert.equal(config.bootstrap, [{ entry: '10.0.0.1:7700', host: '10.0.0.1', port: 7700 }, { entry: '/ip6/::1/tcp/7701', host: '::1', port: 7701 }])
  assert.is(doctorConfig({}, {}).check.status, 'warn', 'no config: checked with defaults')
  assert.is(doctorConfig({ mesh: 'lab', stateDir: '/s', meshPrefix: 'fd00:1:2:3::/64' }, {}).check.status, 'fail')
  assert.equal(dialTarget('gm.example.org:7700'), { host: 'gm.example.org', port: 7700 })
})

test.run()
