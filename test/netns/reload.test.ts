/**
 * Issue 16/18: SIGHUP is a live reload, never a death. Host 3 runs from a
 * config file; we change its log level and bootstrap list, check
 * `gridmesh reload --dry-run` shows exactly that, send SIGHUP, and check the
 * daemon is still up, no WireGuard session anywhere was reset (same peers,
 * handshakes and transfer counters never go back), the new log level took
 * effect (debug lines from the new, unreachable seed's redials) and the new
 * seed is dialed. A bad config then changes nothing and says why (exit 2).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createMeshLab, GRIDMESH_BIN, LISTEN_PORT, type MeshLab } from '../../netns/mesh.ts'
import { waitFor, type LabProcess } from '../../netns/lab.ts'
import { waitAllPairsPing } from '../../netns/route-watch.ts'
import type { DeviceState } from '../../src/wireguard/types.ts'

let m: MeshLab
let h3: LabProcess
let configFile = ''

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const HOSTS = [1, 2, 3] as const

function writeConfig (lines: readonly string[]): void {
  writeFileSync(configFile, [
    `mesh: ${m.mesh}`, `stateDir: ${m.stateDir(3)}`, `adminSocket: ${m.adminSocket(3)}`, `listen: 0.0.0.0:${LISTEN_PORT}`, ...lines
  ].join('\n') + '\n')
}

const debugLines = (): string[] => readFileSync(h3.logFile, 'utf8').split('\n').filter(l => l.includes('"level":20'))

/** Every host's WireGuard sessions, keyed `host>peerKey`. */
async function sessions (): Promise<Map<string, DeviceState['peers'][number]>> {
  const out = new Map<string, DeviceState['peers'][number]>()
  for (const i of HOSTS) for (const p of (await m.wg(i)).peers) out.set(`${i}>${p.publicKey}`, p)
  return out
}

test.before(async () => {
  // The file must decide the log level: an inherited GRIDMESH_LOG_LEVEL would override it.
  delete process.env.GRIDMESH_LOG_LEVEL
  m = await createMeshLab({ hosts: 3 })
  configFile = join(m.lab.dir, 'h3.yaml')
})
test.after(async () => { await m.destroy() })

test('SIGHUP reloads log level and bootstrap list without resetting any WireGuard session', async () => {
  m.start(1); await sleep(200); m.start(2)
  const seed1 = `${m.lab.host(1).ipv4}:${LISTEN_PORT}`
  // A seed nobody listens on (host 2, wrong port): its redials fail, at debug level.
  const deadSeed = `${m.lab.host(2).ipv4}:${LISTEN_PORT + 91}`
  writeConfig(['logLevel: info', `bootstrap: ["${seed1}"]`])
  h3 = m.lab.spawn(3, GRIDMESH_BIN, ['up', '--config', configFile], { logFile: 'h3.log' })
  try {
    await m.waitFullMesh([...HOSTS], 60_000)
  } catch (err) { throw new Error(`${String(err)}\n${m.unexpectedExits().join('\n')}`) }
  // Polled: right after the mesh forms, the two ends of a pair can still disagree on a path for a moment.
  await waitAllPairsPing(m, [...HOSTS])
  await waitFor(async () => [...(await sessions()).values()].every(p => p.latestHandshake > 0) && (await sessions()).size === 6,
    { what: 'a handshake on every session', timeoutMs: 30_000, intervalMs: 500 })
  assert.equal(debugLines(), [], 'info level: no debug lines yet')

  writeConfig(['logLevel: debug', `bootstrap: ["${seed1}", "${deadSeed}"]`])
  const dry = await m.cli(3, ['reload', '--dry-run', '--admin-socket', m.adminSocket(3)])
  assert.is(dry.code, 0, dry.stderr)
  assert.match(dry.stdout, /would apply: bootstrap \[.*\] -> \[.*:7791\]/)
  assert.match(dry.stdout, /would apply: logLevel info -> debug/)
  assert.not.match(dry.stdout, /needs a restart/)
  await sleep(1500)
  assert.equal(debugLines(), [], 'a dry run changes nothing')

  const before = await sessions()
  h3.kill('SIGHUP')
  await waitFor(() => debugLines().some(l => l.includes('redial failed') && l.includes(String(LISTEN_PORT + 91))),
    { what: 'debug lines about the new seed', timeoutMs: 20_000, intervalMs: 250 })
  assert.ok(h3.running, `host 3 survived SIGHUP\n${m.unexpectedExits().join('\n')}`)
  assert.ok(readFileSync(h3.logFile, 'utf8').includes('reload: applied: logLevel info -> debug'))
  assert.is((await m.status(3)).members, 3)
  await waitAllPairsPing(m, [...HOSTS])
  const after = await sessions()
  for (const [k, p] of before) {
    const q = after.get(k)
    assert.ok(q !== undefined, `${k}: WireGuard peer still there`)
    assert.ok(q.latestHandshake >= p.latestHandshake && q.latestHandshake > 0, `${k}: handshake not reset (${p.latestHandshake} → ${q.latestHandshake})`)
    assert.ok(q.rxBytes >= p.rxBytes && q.txBytes >= p.txBytes, `${k}: transfer counters not reset (rx ${p.rxBytes} → ${q.rxBytes})`)
  }
  assert.is(after.size, before.size)
})

test('restart-only changes are reported and kept; a bad config reload changes nothing and exits 2', async () => {
  const seed1 = `${m.lab.host(1).ipv4}:${LISTEN_PORT}`
  const deadSeed = `${m.lab.host(2).ipv4}:${LISTEN_PORT + 91}`
  writeConfig(['logLevel: debug', `bootstrap: ["${seed1}", "${deadSeed}"]`, 'wgPort: 51999'])
  const r = await m.cli(3, ['reload', '--admin-socket', m.adminSocket(3)])
  assert.is(r.code, 0, r.stderr)
  assert.not.match(r.stdout, /applied/)
  assert.match(r.stdout, /needs a restart \(running value kept\): wgPort 51820 -> 51999/)
  assert.is((await m.wg(3)).listenPort, 51820)

  writeConfig(['logLevel: shouty'])
  const bad = await m.cli(3, ['reload', '--admin-socket', m.adminSocket(3)])
  assert.is(bad.code, 2, bad.stderr)
  assert.match(bad.stderr, /reload refused, nothing changed: .*logLevel/)
  assert.is(bad.stderr.trim().split('\n').length, 1, bad.stderr)
  writeFileSync(configFile, 'mesh: [broken\n')
  h3.kill('SIGHUP')
  await waitFor(() => readFileSync(h3.logFile, 'utf8').includes('reload: reload refused, nothing changed'), { what: 'the refused SIGHUP logged', timeoutMs: 10_000 })
  await sleep(500)
  assert.ok(h3.running)
  await waitAllPairsPing(m, [...HOSTS])
  // Still at debug level, still redialing the dead seed: the refused reloads touched nothing.
  const n = debugLines().length
  await waitFor(() => debugLines().length > n, { what: 'more debug lines after the refused reloads', timeoutMs: 20_000 })
  const code = await m.lab.kill(3, h3, 'SIGTERM', 15_000)
  assert.is(code, 0, 'graceful stop after the reloads')
})

test.run()
