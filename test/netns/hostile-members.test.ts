/**
 * Issue 19 on real daemons, open mesh. Hosts 1-3 form a mesh; host 4 runs an
 * attacker node (netns/attacker.ts).
 * - Attack 1: the attacker announces, as itself, a record carrying member
 *   B's WireGuard key. Hosts 1 and 3 keep B (the holder) and count
 *   'wg-key-taken'; B refuses it at validation (its own key) and keeps
 *   applying; no WireGuard peer changes and every pair keeps pinging.
 * - Attack 2: B runs on a /64 the attacker ranks better on (B asked for it
 *   with --prefix, so it is off B's candidate list: what grinding a PeerId
 *   buys, without the grinding). Long after B took it, the attacker claims
 *   it: B keeps it and does not move, and hosts 1 and 3 keep routing it to B.
 * - Attack 3: a second daemon on host 1 with the same interface name (its
 *   own state dir, socket and ports) exits 2 at once with one clear line,
 *   and host 1's interface is untouched.
 * - Attack 6: `workload add --netns` with the node's own namespace, or one
 *   holding a mesh interface, is refused; nothing changes.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { createMeshLab, IFACE, LISTEN_PORT, type MeshLab, type StatusJson } from '../../netns/mesh.ts'
import { waitFor } from '../../netns/lab.ts'
import { waitAllPairsPing } from '../../netns/route-watch.ts'
import { startAttacker, type Attacker } from '../../netns/attacker.ts'
import { encodeRecord } from '../../src/mesh/record.ts'
import { CLAIM_RACE_WINDOW_MS, claimRank, meshPrefixFromName, prefixCandidate } from '../../src/mesh/allocation.ts'
import { generateWgKeyPair } from '../../src/keys/wg-key.ts'
import { NODE_STATE_FILE } from '../../src/mesh/node-state.ts'
import { readFileSync } from 'node:fs'

const HONEST = [1, 2, 3]
const ATTACKER_HOST = 4
const B = 2
let m: MeshLab
let attacker: Attacker | null = null
const st = new Map<number, StatusJson>()
const S = (i: number): StatusJson => { const s = st.get(i); if (s === undefined) throw new Error(`no status for host ${i}`); return s }
const atk = (): Attacker => { if (attacker === null) throw new Error('no attacker'); return attacker }
let baseline: Record<number, string[]> = {}
/** The /64 B asked for: the attacker's first candidate. */
let contested = ''
let bReadyAt = 0

/** Each host's WireGuard peers (key and allowed-ips) and peers rows: what nothing here may change. */
async function view (hosts: readonly number[]): Promise<Record<number, string[]>> {
  const out: Record<number, string[]> = {}
  for (const i of hosts) {
    const dev = await m.wg(i)
    out[i] = [
      ...dev.peers.map(p => `wg ${p.publicKey} ${[...p.allowedIps].sort().join(',')}`),
      ...(await m.peers(i)).map(p => `peer ${p.peerId} ${p.prefix}`)
    ].sort()
  }
  return out
}
/**
 * A view in which every WireGuard peer carries exactly one /64 (its own): no
 * relay in use. Relays legitimately move /64s between entries when a link
 * flaps under load, so only such a settled view is compared.
 */
function settled (v: Record<number, string[]>): boolean {
  return Object.values(v).every(rows => rows.filter(r => r.startsWith('wg ')).every(r => (r.split(' ')[2] ?? '').split(',').filter(a => a.endsWith('/64')).length === 1))
}

/** Polls until the honest hosts show a settled view; returns it. */
async function settledView (): Promise<Record<number, string[]>> {
  return await waitFor(async () => { const v = await view(HONEST); return settled(v) ? v : null }, { what: 'a view with no relay in use', timeoutMs: 90_000, intervalMs: 500 })
}

/**
 * expectUnchanged: the honest hosts' settled view equals the baseline. Polled:
 * a relay that a loaded machine put up for a moment must be gone again, but an
 * attack that moved a key or a /64 leaves the settled view changed for good.
 */
async function expectUnchanged (label: string): Promise<void> {
  let last: Record<number, string[]> = {}
  try {
    await waitFor(async () => { last = await view(HONEST); return settled(last) && JSON.stringify(last) === JSON.stringify(baseline) ? true : null },
      { what: label, timeoutMs: 90_000, intervalMs: 500 })
  } catch { assert.equal(last, baseline, label) }
}

const rejected = async (i: number, reason: string): Promise<number> => (await m.status(i)).counters.rejectedRecords[reason] ?? 0

test.before(async () => { m = await createMeshLab({ hosts: 4, mesh: 'hm' }) })
test.after(async () => { try { await attacker?.stop() } finally { await m.destroy() } })

test('hosts 1-3 form an open mesh; the attacker on host 4 connects to all', async () => {
  attacker = await startAttacker(m.lab, ATTACKER_HOST, m.mesh)
  contested = prefixCandidate(meshPrefixFromName(m.mesh), atk().peerId, 0)
  m.start(1)
  await m.waitReady(1, 60_000)
  m.start(B, { args: ['--prefix', contested] })
  m.start(3)
  try { await m.waitFullMesh(HONEST, 120_000) } catch (err) { throw new Error(`${String(err)}\n${m.unexpectedExits().join('\n')}`) }
  await waitAllPairsPing(m, HONEST)
  bReadyAt = Date.now()
  for (const i of HONEST) st.set(i, await m.status(i))
  assert.is(S(B).prefix, contested)
  assert.ok(claimRank(meshPrefixFromName(m.mesh), S(B).peerId, contested as never) > 0, 'B holds the /64 at a worse rank than the attacker')
  baseline = await settledView()
  await atk().connect(HONEST.map(i => `${m.lab.host(i).ipv4}:${LISTEN_PORT}`), HONEST.map(i => S(i).peerId), 90_000)
})

/** Attacks on a settled member: past the race window in which claims that arrive together are settled by PeerId. */
async function pastRaceWindow (): Promise<void> {
  const wait = bReadyAt + CLAIM_RACE_WINDOW_MS + 5_000 - Date.now()
  if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
}

test("attack 1: a record claiming B's WireGuard key is refused everywhere and counted; nothing changes", async () => {
  await pastRaceWindow()
  const now = Date.now()
  const claim = await encodeRecord({
    v: 1, mesh: m.mesh, peerId: atk().peerId, wgPublicKey: S(B).wgPublicKey,
    endpoints: [`${m.lab.host(ATTACKER_HOST).ipv4}:51820`], addrs: [`/ip4/${m.lab.host(ATTACKER_HOST).ipv4}/tcp/7799`],
    prefix: prefixCandidate(meshPrefixFromName(m.mesh), atk().peerId, 0), seq: now, expiresAt: now + 3_600_000
  }, atk().privateKey)
  const before = new Map<number, number>()
  for (const i of HONEST) before.set(i, await rejected(i, 'wg-key-taken'))
  // Keep announcing for the whole check, as the attack did (every second).
  const t0 = Date.now()
  await waitFor(async () => {
    await atk().announce(claim)
    const late: number[] = []
    for (const i of HONEST) if (await rejected(i, 'wg-key-taken') <= (before.get(i) ?? 0)) late.push(i)
    if (late.length > 0) throw new Error(`hosts ${late.join(',')} have not counted wg-key-taken yet`)
    return true
  }, { what: 'every host counts wg-key-taken', timeoutMs: 90_000, intervalMs: 1_000 })
  console.log(`  wg-key-taken counted by hosts ${HONEST.join(',')} after ${Date.now() - t0} ms`)
  for (let k = 0; k < 5; k++) { await atk().announce(claim); await new Promise(resolve => setTimeout(resolve, 1_000)) }
  await expectUnchanged('a WireGuard peer, allowed-ip or peers row changed')
  await waitAllPairsPing(m, HONEST, ' under the key claim')
  for (const i of HONEST) assert.not.ok((await m.peers(i)).some(p => p.peerId === atk().peerId), `host ${i} lists the attacker`)
})

test("attack 2: a better-ranked newcomer claiming B's /64 displaces nobody; B does not move or save a move", async () => {
  await pastRaceWindow()
  const now = Date.now()
  const claim = await encodeRecord({
    v: 1, mesh: m.mesh, peerId: atk().peerId, wgPublicKey: generateWgKeyPair().publicKey,
    endpoints: [`${m.lab.host(ATTACKER_HOST).ipv4}:51820`], addrs: [`/ip4/${m.lab.host(ATTACKER_HOST).ipv4}/tcp/7799`],
    prefix: contested, seq: now, expiresAt: now + 3_600_000
  }, atk().privateKey)
  for (let k = 0; k < 8; k++) { await atk().announce(claim); await new Promise(resolve => setTimeout(resolve, 1_000)) }
  assert.is((await m.status(B)).prefix, contested, 'B moved')
  const saved = JSON.parse(readFileSync(join(m.stateDir(B), NODE_STATE_FILE), 'utf8')) as { prefix: string }
  assert.is(saved.prefix, contested, 'B saved a move')
  await expectUnchanged('a WireGuard peer, allowed-ip or peers row changed')
  await waitAllPairsPing(m, HONEST, ' under the /64 claim')
})

test('attack 3: a second daemon with the same interface name exits 2 at once and leaves the first one alone', async () => {
  const dir = join(m.lab.dir, 'h1-second')
  const before = await m.status(1)
  const t0 = Date.now()
  const r = await m.cli(1, ['up', '--mesh', m.mesh, '--state-dir', join(dir, 'state'), '--admin-socket', join(dir, 'admin.sock'),
    '--listen', `0.0.0.0:${LISTEN_PORT + 1}`, '--wg-port', '51900', '--probe-port', '51901', '--interface', IFACE])
  const ms = Date.now() - t0
  console.log(`  second daemon: exit ${String(r.code)} after ${ms} ms: ${r.stderr.trim()}`)
  assert.is(r.code, 2, r.stderr)
  // Same namespace, so the namespace mark answers first (unit tests cover the name mark alone).
  assert.match(r.stderr, new RegExp(`this network namespace already runs a gridmesh daemon \\(pid \\d+, interface ${IFACE}\\)|interface ${IFACE} belongs to a running gridmesh daemon`))
  assert.is(r.stderr.split('\n').filter(l => l.startsWith('gridmesh:')).length, 1, r.stderr)
  const after = await m.status(1)
  assert.is((after as unknown as { backend?: string }).backend, (before as unknown as { backend?: string }).backend)
  await expectUnchanged('a WireGuard peer, allowed-ip or peers row changed')
  await waitAllPairsPing(m, HONEST, ' after the second daemon')
})

test('attack 6: workload add refuses the node\'s own namespace and a namespace holding a mesh interface', async () => {
  for (const [ns, re] of [[m.lab.host(1).ns, /own namespace/], [m.lab.host(2).ns, /mesh interface/]] as const) {
    const r = await m.cli(1, ['workload', 'add', 'w1', '--netns', ns, '--admin-socket', m.adminSocket(1)])
    assert.is.not(r.code, 0, r.stdout)
    assert.match(r.stderr, re)
  }
  const list = await m.cli(1, ['workload', 'list', '--json', '--admin-socket', m.adminSocket(1)])
  assert.equal(JSON.parse(list.stdout), [])
  await expectUnchanged('a WireGuard peer, allowed-ip or peers row changed')
  await waitAllPairsPing(m, HONEST, ' after the refused workloads')
  assert.equal(m.unexpectedExits(), [])
})

test.run()
