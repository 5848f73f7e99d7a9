/**
 * Real-system test of the WireGuard and net drivers: two network namespaces
 * joined by a veth pair, each running the drivers (wireguard-go, as this
 * machine has no kernel WireGuard) in its own mount namespace with a private
 * /var/run/wireguard, both using the SAME interface name. Needs root.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, execFileSync, spawnSync } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { mkdirSync } from 'node:fs'
import { priv, pub } from '../unit/wireguard/keys.fixture.ts'

const ROOT = new URL('../..', import.meta.url).pathname
const FIXTURE = new URL('./fixtures/wg-node.ts', import.meta.url).pathname
const tag = String(process.pid % 100000)
const NS = { a: `gmdrv-${tag}-a`, b: `gmdrv-${tag}-b` }
const IFACE = `gmt${tag}`
const MESH = 'fd5e:1a2b:3c4d::/48'
const PFX = { a: 'fd5e:1a2b:3c4d:a::', b: 'fd5e:1a2b:3c4d:b::' }
const UNDER = { a: '10.231.0.1', b: '10.231.0.2' }

interface Node { call: (op: string, arg?: unknown) => Promise<unknown>, proc: ChildProcessWithoutNullStreams }

function sh (cmd: string, args: string[]): string { return execFileSync(cmd, args, { encoding: 'utf8' }) }
function nsOk (ns: string, args: string[]): boolean { return spawnSync('ip', ['netns', 'exec', ns, ...args], { stdio: 'ignore' }).status === 0 }

function startNode (ns: string): Node {
  const proc = spawn('ip', ['netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'slave', 'sh', '-c',
    `mount -t tmpfs tmpfs /var/run/wireguard && exec "${process.execPath}" --import tsx "${FIXTURE}" ${IFACE} ${MESH}`],
  { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  proc.stderr.on('data', (b: Buffer) => process.stderr.write(`[${ns}] ${b.toString()}`))
  const waiting = new Map<number, (r: { ok: boolean, value?: unknown, error?: string }) => void>()
  void (async () => {
    for await (const line of createInterface({ input: proc.stdout })) {
      const r = JSON.parse(line) as { id: number, ok: boolean, value?: unknown, error?: string }
      waiting.get(r.id)?.(r)
    }
  })()
  let next = 0
  const call = (op: string, arg?: unknown): Promise<unknown> => new Promise((resolve, reject) => {
    const id = next++
    const timer = setTimeout(() => reject(new Error(`${ns} ${op}: timeout`)), 20000)
    waiting.set(id, r => { clearTimeout(timer); r.ok ? resolve(r.value) : reject(new Error(`${ns} ${op}: ${r.error ?? ''}`)) })
    proc.stdin.write(JSON.stringify({ id, op, arg }) + '\n')
  })
  return { call, proc }
}

function setupNetns (): void {
  mkdirSync('/var/run/wireguard', { recursive: true })
  sh('ip', ['netns', 'add', NS.a]); sh('ip', ['netns', 'add', NS.b])
  sh('ip', ['link', 'add', `gmva${tag}`, 'netns', NS.a, 'type', 'veth', 'peer', 'name', `gmvb${tag}`, 'netns', NS.b])
  for (const [k, ns] of [['a', NS.a], ['b', NS.b]] as const) {
    sh('ip', ['-n', ns, 'addr', 'add', `${UNDER[k]}/24`, 'dev', `gmv${k}${tag}`])
    sh('ip', ['-n', ns, 'link', 'set', `gmv${k}${tag}`, 'up'])
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
  }
}

function cleanup (nodes: Node[]): void {
  for (const n of nodes) n.proc.kill('SIGKILL')
  spawnSync('pkill', ['-KILL', '-f', `^wireguard-go -f ${IFACE}$`])
  spawnSync('ip', ['netns', 'del', NS.a]); spawnSync('ip', ['netns', 'del', NS.b])
}

const peerOf = (k: 'a' | 'b', allowed: string[]) => ({
  privateKey: priv(k === 'a' ? 11 : 12),
  listenPort: 51820,
  peers: [{
    publicKey: pub(k === 'a' ? 12 : 11),
    endpoint: `${UNDER[k === 'a' ? 'b' : 'a']}:51820`,
    allowedIps: allowed,
    persistentKeepalive: 0
  }]
})
const netOf = (k: 'a' | 'b') => ({
  addresses: [{ address: `${PFX[k]}1`, prefixLength: 64 }],
  mtu: 1420,
  routes: [{ destination: `${PFX[k === 'a' ? 'b' : 'a']}/64` }]
})
const ping = (from: string, to: string): boolean => nsOk(from, ['ping', '-6', '-c', '1', '-W', '2', to])
type Read = { peers: { latestHandshake: number, allowedIps: string[] }[] }

if (process.getuid?.() !== 0) {
  console.log('SKIP wg-driver netns test: needs root (ip netns, wireguard-go)')
  test.skip('wg driver across two namespaces (needs root)', () => {})
} else {
  test('wg driver: up, apply, ping, minimal re-apply, change, restart, down', async () => {
    const nodes: Node[] = []
    try {
      setupNetns()
      const a = startNode(NS.a); const b = startNode(NS.b); nodes.push(a, b)
      assert.is(await a.call('up', { privateKey: priv(11), listenPort: 51820 }), 'userspace')
      assert.is(await b.call('up', { privateKey: priv(12), listenPort: 51820 }), 'userspace')
      assert.equal(await a.call('apply', peerOf('a', [`${PFX.b}/64`])), [{ kind: 'add', publicKey: pub(12) }])
      await b.call('apply', peerOf('b', [`${PFX.a}/64`]))
      await a.call('net', netOf('a')); await b.call('net', netOf('b'))
      assert.ok(ping(NS.a, `${PFX.b}1`), 'ping a → b over the tunnel')
      assert.match(sh('ip', ['-n', NS.a, '-6', 'route', 'show', 'dev', IFACE]), `${PFX.b}/64 proto 77`)

      const hs1 = ((await a.call('read')) as Read).peers[0]?.latestHandshake ?? 0
      assert.ok(hs1 > 0, 'handshake happened')
      await new Promise(resolve => setTimeout(resolve, 1100))
      assert.equal(await a.call('apply', peerOf('a', [`${PFX.b}/64`])), [], 'same config: no change')
      await a.call('net', netOf('a'))
      assert.ok(ping(NS.a, `${PFX.b}1`))
      assert.is(((await a.call('read')) as Read).peers[0]?.latestHandshake, hs1, 'session kept')

      const changed = await a.call('apply', peerOf('a', [`${PFX.b}/64`, 'fd5e:1a2b:3c4d:c::/64']))
      assert.equal(changed, [{ kind: 'update', publicKey: pub(12), fields: ['allowedIps'] }])
      assert.equal(((await a.call('read')) as Read).peers[0]?.allowedIps, [`${PFX.b}/64`, 'fd5e:1a2b:3c4d:c::/64'])
      assert.ok(ping(NS.a, `${PFX.b}1`))

      // Supervision: kill -9 wireguard-go in a; it is restarted and everything re-applied.
      const before = (await a.call('info')) as { pid: number }
      spawnSync('kill', ['-KILL', String(before.pid)])
      let info = before as { pid: number, restarts: number }
      for (let i = 0; i < 100 && info.restarts === 0; i++) {
        await new Promise(resolve => setTimeout(resolve, 100))
        info = (await a.call('info')) as { pid: number, restarts: number }
      }
      assert.is(info.restarts, 1, 'restarted once')
      assert.ok(ping(NS.a, `${PFX.b}1`) || ping(NS.a, `${PFX.b}1`), 'ping after restart')

      for (const n of [a, b]) await n.call('down')
      for (const ns of [NS.a, NS.b]) assert.not.ok(nsOk(ns, ['ip', 'link', 'show', IFACE]), `no ${IFACE} left in ${ns}`)
      for (const n of [a, b]) assert.equal(((await n.call('info')) as { sockets: string[] }).sockets, [], 'no socket left')
      assert.is(spawnSync('pgrep', ['-f', `^wireguard-go -f ${IFACE}$`]).status, 1, 'no wireguard-go left')
    } finally {
      cleanup(nodes)
    }
  })
}

test.run()
