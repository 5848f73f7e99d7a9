/**
 * Closed meshes on real daemons (S1/S2/S13/S14/S11): only token holders
 * join; bad tokens are refused at start (exit 2); an open-mode intruder with
 * the same mesh name never becomes a peer; a published revocation drops the
 * revoked node everywhere and keeps it out after a restart; a member that was
 * down when a revocation went out reads it back from the DHT and refuses the
 * revoked node (records and connections); underlay packets
 * with a mesh source are dropped by the nftables table; nodes with different
 * PSKs never connect.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createMeshLab, LISTEN_PORT, type MeshLab } from '../../netns/mesh.ts'
import { waitFor } from '../../netns/lab.ts'
import { parseAuthorityId } from '../../src/admission/authority.ts'
import { verifyRevocation } from '../../src/admission/revocation.ts'

const NODE = new URL('../../node_modules/.bin/node', import.meta.url).pathname
let m: MeshLab
let authorityId = ''
let keyFile = ''
let token = ''

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function cli (args: readonly string[]): Promise<{ stdout: string, stderr: string, code: number | null }> {
  return await m.cli(1, args)
}

/** upOnce runs `gridmesh up` in host i in the foreground and returns how it exited (the refused cases). */
async function upOnce (i: number, extra: readonly string[]): Promise<{ code: number | null, stderr: string }> {
  const r = await m.lab.exec(i, new URL('../../bin/gridmesh', import.meta.url).pathname, [
    'up', '--mesh', m.mesh, '--state-dir', m.stateDir(i), '--admin-socket', m.adminSocket(i), '--listen', `0.0.0.0:${LISTEN_PORT}`, ...extra
  ], { timeoutMs: 60_000 })
  return { code: r.code, stderr: r.stderr }
}

const closedArgs = (): string[] => ['--authority', authorityId, '--token', token]

async function notMemberAnywhere (peerId: string, wgKey: string, hosts: readonly number[]): Promise<void> {
  for (const i of hosts) {
    const peers = await m.peers(i)
    assert.not.ok(peers.some(p => p.peerId === peerId), `host ${i} lists ${peerId}`)
    const dev = await m.wg(i)
    assert.not.ok(dev.peers.some(p => p.publicKey === wgKey), `host ${i} has ${peerId} as a WireGuard peer`)
  }
}

test.before(async () => {
  m = await createMeshLab({ hosts: 8 })
  const dir = join(m.lab.dir, 'authority')
  const init = await cli(['mesh', 'init', '--mesh', m.mesh, '--out', dir])
  assert.is(init.code, 0, init.stderr)
  authorityId = init.stdout.trim()
  keyFile = join(dir, 'authority.key')
  const inv = await cli(['invite', '--authority-key', keyFile, '--mesh', m.mesh, '--expires', '1d'])
  assert.is(inv.code, 0, inv.stderr)
  token = inv.stdout.trim()
})
test.after(async () => { await m.destroy() })

test('hosts 1-3 with the authority and a join token form a full mesh', async () => {
  for (const i of [1, 2, 3]) { m.start(i, { args: closedArgs() }); await sleep(200) }
  try {
    await m.waitFullMesh([1, 2, 3], 90_000)
  } catch (err) { throw new Error(`${String(err)}\n${m.unexpectedExits().join('\n')}`) }
  assert.equal(await m.pingAllPairs([1, 2, 3]), [])
  const s = await m.status(1) as unknown as { closed: boolean, certExpiresAt: number }
  assert.ok(s.closed)
  assert.ok(s.certExpiresAt > Date.now())
  assert.ok(readFileSync(join(m.stateDir(1), 'membership.redemption'), 'utf8').trim().length > 100, 'token redeemed, the redemption saved')
})

test('refused at start (exit 2): no token, expired token, token of another mesh', async () => {
  const none = await upOnce(4, ['--authority', authorityId])
  assert.is(none.code, 2, none.stderr)
  assert.match(none.stderr, /gridmesh invite/)

  const short = await cli(['invite', '--authority-key', keyFile, '--mesh', m.mesh, '--expires', '1s'])
  assert.is(short.code, 0, short.stderr)
  await sleep(2_000)
  const expired = await upOnce(5, ['--authority', authorityId, '--token', short.stdout.trim()])
  assert.is(expired.code, 2, expired.stderr)
  assert.match(expired.stderr, /token-expired/)

  const otherDir = join(m.lab.dir, 'other-authority')
  assert.is((await cli(['mesh', 'init', '--mesh', 'other', '--out', otherDir])).code, 0)
  const other = await cli(['invite', '--authority-key', join(otherDir, 'authority.key'), '--mesh', 'other'])
  const wrong = await upOnce(6, ['--authority', authorityId, '--token', other.stdout.trim()])
  assert.is(wrong.code, 2, wrong.stderr)
  assert.match(wrong.stderr, /token-(bad-signature|wrong-mesh)/)
})

test('an open-mode node with the same mesh name never becomes a peer; rejections are counted', async () => {
  m.start(4) // no --authority: it publishes records without a certificate
  const intruder = await m.waitReady(4)
  await sleep(10_000)
  await notMemberAnywhere(intruder.peerId, intruder.wgPublicKey, [1, 2, 3])
  const counts = (await m.status(1)).counters.rejectedRecords
  assert.ok((counts['cert-missing'] ?? 0) > 0, `host 1 counted cert-missing: ${JSON.stringify(counts)}`)
  await m.stop(4)
})

test('revoking host 3 drops it everywhere; restarted with its old state it stays out', async () => {
  const victim = await m.status(3)
  const rev = await cli(['revoke', victim.peerId, '--authority-key', keyFile, '--mesh', m.mesh, '--reason', 'test'])
  assert.is(rev.code, 0, rev.stderr)
  const t0 = Date.now()
  const pub = await cli(['revocation', 'publish', '--admin-socket', m.adminSocket(1), rev.stdout.trim()])
  assert.is(pub.code, 0, pub.stderr)
  await waitFor(async () => { await notMemberAnywhere(victim.peerId, victim.wgPublicKey, [1, 2]); return true },
    { what: 'host 3 dropped by hosts 1 and 2', timeoutMs: 20_000, intervalMs: 200 })
  console.log(`  host 3 dropped by hosts 1 and 2 in ${Date.now() - t0} ms`)
  // Enforced first, persisted right after: poll the file.
  await waitFor(async () => (await savedRevocationIds(2)).includes(`peer-${victim.peerId}`), { what: 'host 2 persisting the revocation', timeoutMs: 10_000 })

  await m.stop(3)
  rmSync(join(m.stateDir(3), 'revocations.json'), { force: true }) // as if it never heard of it: old membership
  m.start(3, { args: ['--authority', authorityId] }) // the saved redemption is reused (no token)
  await m.waitReady(3, 60_000)
  await sleep(10_000)
  await notMemberAnywhere(victim.peerId, victim.wgPublicKey, [1, 2])
  assert.is((await m.status(3)).members, 1, 'the revoked node connects to nobody (gater), so it knows nobody')
  assert.equal(await m.pingAllPairs([1, 2]), [])
  await m.stop(3)
})

test('a member down when a node was revoked reads the revocation back from the DHT and refuses that node (T14, S13)', async () => {
  // X = host 8 also bootstraps from host 2 (Y): its redial loop keeps knocking on Y's door whatever happens.
  m.start(8, { bootstrap: [1, 2], args: closedArgs() })
  await m.waitFullMesh([1, 2, 8], 90_000)
  const x = await m.status(8)
  const xId = `peer-${x.peerId}`
  await m.stop(2)
  const rev = await cli(['revoke', x.peerId, '--authority-key', keyFile, '--mesh', m.mesh])
  assert.is(rev.code, 0, rev.stderr)
  const pub = await cli(['revocation', 'publish', '--admin-socket', m.adminSocket(1), rev.stdout.trim()])
  assert.is(pub.code, 0, pub.stderr)
  await waitFor(async () => { await notMemberAnywhere(x.peerId, x.wgPublicKey, [1]); return true },
    { what: 'host 8 dropped by host 1', timeoutMs: 20_000, intervalMs: 200 })
  assert.not.ok((await savedRevocationIds(2)).includes(xId), 'host 2 was down: it never heard of the revocation')

  // Y restarts with its old state. Nobody re-gossips revocations when a member joins, so the DHT is its only
  // source — once gossipsub's message cache has aged out the revocation (5 heartbeats of 1 s; within that window
  // a fast restart gets it from an IHAVE, which the assertion below would mistake for a DHT failure).
  await sleep(8_000)
  const logFile = join(m.lab.logDir, 'h2.log')
  const from = readFileSync(logFile).length
  const yLog = (): Array<Record<string, unknown>> => logLines(readFileSync(logFile).subarray(from).toString('utf8'))
  m.start(2, { args: ['--authority', authorityId] })
  await m.waitReady(2, 60_000)
  const learned = await waitFor(() => yLog().find(l => l.msg === 'revocation received' && l.id === xId),
    { what: 'host 2 reading the revocation of host 8 back', timeoutMs: 60_000, intervalMs: 250 })
  assert.is(learned.source, 'dht', `learned from ${String(learned.source)}`)
  const started = yLog()[0]?.time
  console.log(`  host 2 read the revocation back from the DHT ${Date.parse(String(learned.time)) - Date.parse(String(started))} ms after its first log line`)
  await waitFor(() => yLog().some(l => l.msg === 'connection refused: revoked peer' && l.peer === x.peerId && l.stage === 'inbound'),
    { what: 'host 2 refusing a connection from host 8', timeoutMs: 60_000, intervalMs: 250 })
  await notMemberAnywhere(x.peerId, x.wgPublicKey, [1, 2])
  assert.not.ok(yLog().some(l => l.msg === 'wireguard peer changed' && l.peer === x.wgPublicKey && l.change === 'add'),
    'host 2 never made host 8 a WireGuard peer: the first-seen record waited for the DHT answer')
  assert.ok((await savedRevocationIds(2)).includes(xId), 'host 2 persisted what it read back')
  await m.waitFullMesh([1, 2], 60_000)
  assert.equal(await m.pingAllPairs([1, 2]), [])
  await m.stop(8)
})

/** savedRevocationIds: the verified targets in host i's revocations.json (`peer-…` / `token-…`). */
async function savedRevocationIds (i: number): Promise<string[]> {
  let texts: string[] = []
  try { texts = (JSON.parse(readFileSync(join(m.stateDir(i), 'revocations.json'), 'utf8')) as { revocations: string[] }).revocations } catch { return [] }
  const { mesh, publicKey } = parseAuthorityId(authorityId)
  return await Promise.all(texts.map(async t => (await verifyRevocation(t, { mesh, authority: publicKey })).id))
}

/** logLines parses the daemon's JSON log lines (anything else is skipped). */
function logLines (text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  for (const line of text.split('\n')) {
    try { out.push(JSON.parse(line) as Record<string, unknown>) } catch { /* not a log line */ }
  }
  return out
}

test('underlay packets with a mesh source are dropped by the nftables table (S11)', async () => {
  const h1 = m.lab.host(1)
  const spoofSrc = await m.address(2) // host 2's own mesh address, sent out of its underlay eth0
  const listener = join(m.lab.dir, 'listen.mjs')
  writeFileSync(listener, `import dgram from 'node:dgram'
const s = dgram.createSocket('udp6'); const got = []
s.on('message', (msg, r) => got.push(r.address))
s.bind(9999, '::', () => setTimeout(() => { console.log(JSON.stringify(got)); s.close() }, 4000))`)
  const sender = join(m.lab.dir, 'send.mjs')
  writeFileSync(sender, `import dgram from 'node:dgram'
const [src, dst] = process.argv.slice(2); const s = dgram.createSocket('udp6')
s.bind(0, src, () => s.send('spoof', 9999, dst, () => s.close()))`)
  const before = await dropCounter(1)
  const listening = m.lab.exec(1, NODE, [listener], { timeoutMs: 15_000 })
  await sleep(500)
  await m.lab.run(2, NODE, [sender, spoofSrc, h1.ipv6])
  await m.lab.run(2, NODE, [sender, m.lab.host(2).ipv6, h1.ipv6]) // control: an honest underlay source
  const got = JSON.parse((await listening).stdout) as string[]
  assert.not.ok(got.includes(spoofSrc), `host 1 received the spoofed packet: ${JSON.stringify(got)}`)
  assert.ok(got.includes(m.lab.host(2).ipv6), `the control packet arrived: ${JSON.stringify(got)}`)
  assert.ok(await dropCounter(1) > before, 'the drop rule counted it')
})

/** dropCounter reads the packets counter of host i's anti-spoof drop rule. */
async function dropCounter (i: number): Promise<number> {
  const out = await m.lab.run(i, 'nft', ['list', 'table', 'inet', 'gridmesh'])
  return Number(/counter packets (\d+)/.exec(out)?.[1] ?? -1)
}

test('PSK: same swarm key connects, a different one never does (S14)', async () => {
  for (const i of [1, 2]) await m.stop(i)
  assert.is((await m.lab.exec(1, 'nft', ['list', 'table', 'inet', 'gridmesh'])).code === 0, false, 'the nftables table is removed on stop')
  const a = join(m.lab.dir, 'a.key')
  const b = join(m.lab.dir, 'b.key')
  assert.is((await cli(['psk', 'generate', '--out', a])).code, 0)
  assert.is((await cli(['psk', 'generate', '--out', b])).code, 0)
  const psk = (file: string): string[] => ['--mesh', 'pnet', '--psk-file', file]
  m.start(5, { bootstrap: [], args: psk(a) })
  await m.waitReady(5)
  m.start(6, { bootstrap: [5], args: psk(a) })
  m.start(7, { bootstrap: [5], args: psk(b) })
  await m.waitFullMesh([5, 6], 60_000)
  const outsider = await m.waitReady(7)
  await sleep(5_000)
  await notMemberAnywhere(outsider.peerId, outsider.wgPublicKey, [5, 6])
  assert.is((await m.peers(7)).length, 0, 'the other-PSK node knows nobody')
})

test('the join token never appears in any daemon log', () => {
  for (const i of [1, 2, 3]) {
    const log = readFileSync(join(m.lab.logDir, `h${i}.log`), 'utf8')
    assert.not.ok(log.includes(token), `h${i}.log contains the token`)
    assert.not.ok(log.includes(token.split('.')[2] ?? token), `h${i}.log contains the token key`)
  }
})

test.run()
