/**
 * The lab itself, tested for real: namespaces, underlay pings, the per-host /run/wireguard,
 * wireguard-go with the production interface name on two hosts, cut/heal, loss, two segments,
 * teardown and concurrent labs. Needs root (skipped otherwise).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { LAB_SH, createLab, waitFor } from '../../netns/lab.ts'
import type { Lab } from '../../netns/lab.ts'

const isRoot = process.getuid?.() === 0
if (!isRoot) process.stdout.write('lab.test.ts: skipped, needs root (network namespaces)\n')
const it = isRoot ? test : test.skip

/** Alive = present and not a zombie (orphans may wait for a non-reaping pid 1). */
function alive (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch { return false }
}

function namespacesOf (id: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n.startsWith(`${id}-`))
}

/** Pings from a to b and from b to a (in parallel); returns [forward, backward]. */
async function bothWays (lab: Lab, a: number, b: number, family: 4 | 6 = 4): Promise<[boolean, boolean]> {
  const addr = (i: number): string => family === 4 ? lab.host(i).ipv4 : lab.host(i).ipv6
  const [x, y] = await Promise.all([lab.ping(a, addr(b)), lab.ping(b, addr(a))])
  return [x, y]
}

let lab: Lab | undefined

test.before(async () => {
  if (isRoot) lab = await createLab({ hosts: 3 })
})
test.after(async () => { await lab?.destroy() })

function L (): Lab {
  if (lab === undefined) throw new Error('lab not created')
  return lab
}

it('3 hosts: addresses as documented, IPv4 and IPv6 pings between every pair', async () => {
  const l = L()
  assert.match(l.id, /^gm[0-9a-f]{6}$/)
  assert.is(l.hostList.length, 3)
  assert.equal(l.hosts[2], l.host(2))
  assert.is(l.host(2).ipv4, '10.77.0.2')
  assert.is(l.host(2).ipv6, 'fd77:77::2')
  assert.is(l.host(2).ns, `${l.id}-h2`)
  const pairs = [[1, 2], [1, 3], [2, 3]] as const
  const results = await Promise.all(pairs.flatMap(([a, b]) => [bothWays(l, a, b, 4), bothWays(l, a, b, 6)]))
  assert.equal(results, Array(6).fill([true, true]))
  // Loopback is up too.
  assert.ok(await l.ping(1, '127.0.0.1'))
  assert.ok(await l.ping6(1, '::1'))
})

it('commands of one host share /run/wireguard; another host does not see it', async () => {
  const l = L()
  await l.run(1, 'touch', ['/run/wireguard/marker'])
  assert.is((await l.exec(1, 'test', ['-e', '/run/wireguard/marker'])).code, 0, 'second exec on h1 sees it')
  assert.is((await l.exec(2, 'test', ['-e', '/run/wireguard/marker'])).code, 1, 'h2 must not see it')
  assert.not.ok(existsSync('/run/wireguard/marker'), 'the root mount namespace must not see it')
  // The bash CLI enters the same keeper, so humans see what the tests see.
  execFileSync('bash', [LAB_SH, 'exec', l.id, '1', 'test', '-e', '/run/wireguard/marker'])
  // ...and each exec is in the host's network namespace.
  assert.match(await l.run(2, 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']), '10.77.0.2/24')
})

it('wireguard-go as gridmesh0 on two hosts, driven by separate execs, carries a tunnel', async () => {
  const l = L()
  const wg = [1, 2].map(i => l.spawn(i, 'wireguard-go', ['-f', 'gridmesh0'], { logFile: `h${i}-wireguard-go.log` }))
  for (const i of [1, 2]) {
    await waitFor(async () => (await l.exec(i, 'test', ['-S', '/run/wireguard/gridmesh0.sock'])).code === 0,
      { what: `h${i} UAPI socket`, timeoutMs: 5000, intervalMs: 50 })
  }
  // The spawned pid is the daemon itself, in the host's network namespace.
  const [w1] = wg as [typeof wg[0]]
  assert.is(readFileSync(`/proc/${w1.pid}/comm`, 'utf8').trim(), 'wireguard-go')
  assert.is(execFileSync('readlink', [`/proc/${w1.pid}/ns/net`], { encoding: 'utf8' }),
    execFileSync('readlink', [`/proc/${l.host(1).keeperPid}/ns/net`], { encoding: 'utf8' }))

  const keys = await Promise.all([1, 2].map(async i => {
    const priv = (await l.run(i, 'wg', ['genkey'])).trim()
    const pub = (await l.run(i, 'wg', ['pubkey'], { input: priv })).trim()
    const file = join(l.dir, `h${i}.key`)
    writeFileSync(file, priv, { mode: 0o600 })
    return { file, pub }
  }))
  for (const [i, j] of [[1, 2], [2, 1]] as const) {
    const me = keys[i - 1]!; const peer = keys[j - 1]!
    await l.run(i, 'wg', ['set', 'gridmesh0', 'listen-port', String(51819 + i), 'private-key', me.file,
      'peer', peer.pub, 'endpoint', `${l.host(j).ipv4}:${51819 + j}`, 'allowed-ips', `fd99::${j}/128`])
    await l.run(i, 'ip', ['addr', 'add', `fd99::${i}/64`, 'dev', 'gridmesh0', 'nodad'])
    await l.run(i, 'ip', ['link', 'set', 'gridmesh0', 'up'])
  }
  // Each host's `wg` talks to its own wireguard-go, though both use the same interface name.
  assert.is((await l.run(1, 'wg', ['show', 'gridmesh0', 'listen-port'])).trim(), '51820')
  assert.is((await l.run(2, 'wg', ['show', 'gridmesh0', 'listen-port'])).trim(), '51821')
  await waitFor(() => l.ping6(1, 'fd99::2'), { what: 'h1 → h2 over the WireGuard tunnel', timeoutMs: 10_000 })
  assert.match(await l.run(2, 'wg', ['show', 'gridmesh0', 'latest-handshakes']), keys[0]!.pub)

  for (const [i, p] of wg.entries()) await l.kill(i + 1, p, 'SIGTERM')
  assert.ok(wg.every(p => !p.running))
  assert.not.ok(alive(w1.pid))
})

it('cut 1↔2 drops both ways, both families; 1↔3 unaffected; heal restores exactly that', async () => {
  const l = L()
  await l.cut(1, 2)
  try {
    assert.equal(await bothWays(l, 1, 2, 4), [false, false])
    assert.equal(await bothWays(l, 1, 2, 6), [false, false])
    assert.equal(await bothWays(l, 1, 3, 4), [true, true])
    assert.equal(await bothWays(l, 2, 3, 6), [true, true])
    // TCP dies too (libp2p runs on it), not only ICMP.
    const tcp = await l.exec(1, 'bash', ['-c', `exec 3<>/dev/tcp/${l.host(2).ipv4}/9`], { timeoutMs: 3000 })
    assert.is.not(tcp.code, 0)
  } finally {
    await l.heal(1, 2)
  }
  assert.equal(await bothWays(l, 1, 2, 4), [true, true])
  assert.equal(await bothWays(l, 1, 2, 6), [true, true])
  await l.heal(1, 2) // idempotent
})

it('loss 100% on a host drops its traffic; loss 0 restores it; 30% loses some', async () => {
  const l = L()
  await l.loss(2, 100)
  assert.not.ok(await l.ping(1, l.host(2).ipv4))
  assert.not.ok(await l.ping6(3, l.host(2).ipv6))
  await l.loss(2, 0)
  assert.ok(await l.ping(1, l.host(2).ipv4))
  await l.loss(2, 30)
  const r = await l.exec(1, 'ping', ['-q', '-n', '-c', '100', '-i', '0.01', '-W', '1', l.host(2).ipv4])
  const lost = Number(/(\d+)% packet loss/.exec(r.stdout)?.[1])
  // Request and reply each cross host 2's input only once (the request); expect ~30%.
  assert.ok(lost > 5 && lost < 70, `expected ~30% loss, got ${lost}%`)
  await l.loss(2, 0)
  assert.ok(await l.ping(1, l.host(2).ipv4, { count: 3 }))
})

it('two segments (1,2,3 | 3,4,5): 3 bridges them, 1 cannot reach 4 or 5', async () => {
  const s = await createLab({ hosts: 5, segments: [[1, 2, 3], [3, 4, 5]] })
  try {
    assert.is(s.host(1).ipv4, '10.77.0.1')
    assert.is(s.host(3).ipv4, '10.77.0.3')
    assert.is(s.host(3).ipv4b, '10.78.0.3')
    assert.is(s.host(3).ipv6b, 'fd78:78::3')
    assert.equal(s.host(3).links.map(k => k.iface), ['eth0', 'eth1'])
    assert.is(s.host(4).ipv4, '10.78.0.4')
    assert.is(s.host(4).ipv4b, undefined)
    assert.ok(await s.ping(1, s.host(3).ipv4))
    assert.ok(await s.ping6(1, s.host(3).ipv6))
    assert.ok(await s.ping(3, s.host(5).ipv4))
    assert.ok(await s.ping6(3, s.host(5).ipv6))
    assert.ok(await s.ping(4, s.host(3).ipv4b!))
    const unreachable = await Promise.all([
      s.ping(1, s.host(4).ipv4), s.ping(1, s.host(5).ipv4), s.ping6(1, s.host(4).ipv6), s.ping6(2, s.host(5).ipv6)
    ])
    assert.equal(unreachable, [false, false, false, false])
    // A cut covers every address of the other host.
    await s.cut(3, 4)
    assert.equal(await Promise.all([s.ping(4, s.host(3).ipv4b!), s.ping6(4, s.host(3).ipv6b!), s.ping(5, s.host(3).ipv4b!)]),
      [false, false, true])
  } finally {
    await s.destroy()
  }
})

it('destroy leaves no namespace, process or directory, even for untracked daemons', async () => {
  const d = await createLab({ hosts: 2 })
  const keepers = d.hostList.map(h => h.keeperPid)
  const daemon = d.spawn(1, 'sleep', ['1000'])
  // A process the lab did not start itself (like a daemonizing wireguard-go).
  const orphan = Number((await d.run(2, 'sh', ['-c', 'sleep 1000 >/dev/null 2>&1 & echo $!'])).trim())
  assert.ok([...keepers, daemon.pid, orphan].every(alive), 'all running before destroy')
  assert.ok(existsSync(d.dir))
  assert.is(namespacesOf(d.id).length, 3)
  await d.destroy()
  await d.destroy() // idempotent
  assert.equal(namespacesOf(d.id), [])
  assert.equal([...keepers, daemon.pid, orphan].filter(alive), [])
  assert.not.ok(daemon.running)
  assert.not.ok(existsSync(d.dir))
  // The CLI agrees, and destroying again from bash is harmless.
  assert.not.match(execFileSync('bash', [LAB_SH, 'list'], { encoding: 'utf8' }), d.id)
  execFileSync('bash', [LAB_SH, 'destroy', d.id])
})

it('two labs created concurrently get different ids and do not collide', async () => {
  const [a, b] = await Promise.all([createLab({ hosts: 2 }), createLab({ hosts: 2 })])
  try {
    assert.is.not(a.id, b.id)
    await a.run(1, 'touch', ['/run/wireguard/only-in-a'])
    assert.is((await b.exec(1, 'test', ['-e', '/run/wireguard/only-in-a'])).code, 1)
    // Same addresses in both labs, but each lab is its own world.
    assert.equal(await Promise.all([a.ping(1, '10.77.0.2'), b.ping(1, '10.77.0.2')]), [true, true])
    await a.cut(1, 2)
    assert.equal(await Promise.all([a.ping(1, '10.77.0.2'), b.ping(1, '10.77.0.2')]), [false, true])
    await a.destroy()
    assert.ok(await b.ping6(2, 'fd77:77::1'), 'b survives a\'s destroy')
  } finally {
    await Promise.all([a.destroy(), b.destroy()])
  }
})

test.run()
