/**
 * Hostile records on real daemons (threat model T1, T4, T6, T8; anchors S1,
 * S3, S4, S7). Hosts 1-3 form a closed mesh; host 4 runs an attacker node
 * holding a valid join token (admitted, but malicious). Through the paths
 * the daemons themselves use — a DHT PUT to the closest peers and an
 * announce on the members gossip topic — it delivers a forged record, a
 * record claiming member B's /64, oversized records and a replay of B's
 * older record. Every honest daemon refuses each one and counts it under the
 * right reason (status counters and Prometheus); no WireGuard peer,
 * allowed-ip, endpoint or peers row changes; all pairs keep pinging. Last, a
 * daemon restarted after seeing B's newer record still refuses the replay
 * (the persisted high-water mark), with nobody around to re-teach it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMeshLab, LISTEN_PORT, type MeshLab, type StatusJson } from '../../netns/mesh.ts'
import { waitFor } from '../../netns/lab.ts'
import { waitAllPairsPing } from '../../netns/route-watch.ts'
import { ATTACKER_PORT, forgeFrom, oversizedRecord, startAttacker, type Attacker } from '../../netns/attacker.ts'
import { decodeRecord, encodeRecord, MAX_RECORD_BYTES, type NodeRecordPayload } from '../../src/mesh/record.ts'
import { createRecordAdmission } from '../../src/mesh/record-admission.ts'
import { prefixCandidate } from '../../src/mesh/allocation.ts'
import { decodeToken } from '../../src/admission/token.ts'
import { issueCertificate } from '../../src/admission/certificate.ts'
import { parseAuthorityId } from '../../src/admission/authority.ts'
import { toBase64url } from '../../src/admission/codec.ts'
import { generateWgKeyPair } from '../../src/keys/wg-key.ts'
import { NODE_STATE_FILE } from '../../src/mesh/node-state.ts'
import { parseProm } from '../unit/inspect/fixtures.ts'
import type { PutResult } from '../../src/mesh/libp2p-node.ts'
import type { Ipv6Prefix } from '../../src/net/prefix.ts'

const HONEST = [1, 2, 3]
const ATTACKER_HOST = 4
const B = 2 // the victim
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url))
const METRICS = '127.0.0.1:9464'
let m: MeshLab
let authorityId = ''
let tokenText = ''
let attacker: Attacker | null = null
/** What hostile records must never change, as first seen. */
let baseline: Record<number, View> = {}
const st = new Map<number, StatusJson>()
const S = (i: number): StatusJson => { const s = st.get(i); if (s === undefined) throw new Error(`no status for host ${i}`); return s }
const atk = (): Attacker => { if (attacker === null) throw new Error('no attacker'); return attacker }
/** B's record as the attacker captured it before B republished: the replay material. */
let oldB: { seq: number, bytes: Uint8Array } | null = null

const closedArgs = (): string[] => ['--authority', authorityId, '--token', tokenText]
const underlay = (hosts: readonly number[]): string[] => hosts.map(i => `${m.lab.host(i).ipv4}:${LISTEN_PORT}`)
const peerIds = (hosts: readonly number[]): string[] => hosts.map(i => S(i).peerId)

async function rejected (i: number, reason: string): Promise<number> {
  return (await m.status(i)).counters.rejectedRecords[reason] ?? 0
}

/** One host's view that hostile records must not change: WireGuard peers (key, allowed-ips, endpoint) and the peers list. */
interface View { wg: string[], peers: string[] }
async function view (hosts: readonly number[], withEndpoints = true): Promise<Record<number, View>> {
  const out: Record<number, View> = {}
  for (const i of hosts) {
    const dev = await m.wg(i)
    out[i] = {
      wg: dev.peers.map(p => `${p.publicKey} ${[...p.allowedIps].sort().join(',')}${withEndpoints ? ` ${p.endpoint ?? '-'}` : ''}`).sort(),
      peers: (await m.peers(i)).map(p => `${p.peerId} ${p.prefix}`).sort()
    }
  }
  return out
}

async function assertUndisturbed (when: string, expected = baseline): Promise<void> {
  assert.equal(await view(HONEST), expected, `${when}: a WireGuard peer, allowed-ip, endpoint or peers row changed`)
  await waitAllPairsPing(m, HONEST, ` ${when}`)
}

/**
 * expectCounted delivers, and delivers again on each attempt, until every
 * host in `hosts` counted `reason` above what it had before (a delivery lost
 * under load is simply repeated). Returns the counts it ended with.
 */
async function expectCounted (reason: string, hosts: readonly number[], what: string, deliver: () => Promise<unknown>): Promise<Map<number, number>> {
  const before = new Map<number, number>()
  for (const i of hosts) before.set(i, await rejected(i, reason))
  const after = new Map<number, number>()
  const t0 = Date.now()
  await waitFor(async () => {
    await deliver()
    const late: number[] = []
    for (const i of hosts) {
      const n = await rejected(i, reason)
      after.set(i, n)
      if (n <= (before.get(i) ?? 0)) late.push(i)
    }
    if (late.length > 0) throw new Error(`hosts ${late.join(',')} have not counted ${reason} yet`)
    return true
  }, { what: `${what}: every host counts ${reason}`, timeoutMs: 90_000, intervalMs: 1_000 })
  console.log(`  ${what}: ${reason} ${hosts.map(i => `h${i} ${before.get(i) ?? 0}→${after.get(i) ?? 0}`).join(', ')} (${Date.now() - t0} ms)`)
  return after
}

/** putRefused is a DHT delivery whose outcome is kept: no daemon may ever store a hostile record. */
function putRefused (results: PutResult[], peerId: () => string, value: () => Uint8Array): () => Promise<void> {
  return async () => { results.push(await atk().put(peerId(), value())) }
}
function assertNobodyStored (results: readonly PutResult[], what: string, reached: number): void {
  assert.ok(results.length > 0, `${what}: no PUT was made`)
  assert.ok(results.every(r => r.stored === 0), `${what}: a daemon stored it: ${JSON.stringify(results)}`)
  assert.ok(results.some(r => r.failed >= reached), `${what}: no PUT reached and was refused by ${reached} daemons: ${JSON.stringify(results)}`)
}

test.before(async () => {
  m = await createMeshLab({ hosts: 4 })
  const dir = join(m.lab.dir, 'authority')
  const init = await m.cli(1, ['mesh', 'init', '--mesh', m.mesh, '--out', dir])
  assert.is(init.code, 0, init.stderr)
  authorityId = init.stdout.trim()
  const inv = await m.cli(1, ['invite', '--authority-key', join(dir, 'authority.key'), '--mesh', m.mesh, '--expires', '1d'])
  assert.is(inv.code, 0, inv.stderr)
  tokenText = inv.stdout.trim()
})
test.after(async () => {
  try { await attacker?.stop() } finally { await m.destroy() }
})

test('hosts 1-3 form a closed mesh; an admitted attacker on host 4 connects to all and captures their records', async () => {
  m.start(1, { args: [...closedArgs(), '--metrics', METRICS] })
  await m.waitReady(1, 60_000)
  for (const i of [2, 3]) m.start(i, { args: closedArgs() })
  try {
    await m.waitFullMesh(HONEST, 120_000)
  } catch (err) { throw new Error(`${String(err)}\n${m.unexpectedExits().join('\n')}`) }
  await waitAllPairsPing(m, HONEST)
  for (const i of HONEST) st.set(i, await m.status(i))
  attacker = await startAttacker(m.lab, ATTACKER_HOST, m.mesh)
  await atk().connect(underlay(HONEST), peerIds(HONEST), 90_000)
  const captured = await waitFor(async () => (await atk().captured(S(B).peerId)).at(-1), { what: "the attacker captures B's announced record", timeoutMs: 30_000, intervalMs: 500 })
  assert.is(captured.seq, (await m.status(B)).seq, "the captured record is B's current one")
  oldB = { seq: captured.seq, bytes: captured.bytes }
  baseline = await view(HONEST)
  for (const i of HONEST) assert.is(baseline[i]?.wg.length, 2, `host ${i} has the 2 other members as WireGuard peers`)
})

test("T1/S1: B's record re-signed by the attacker (its endpoint) is refused as wrong-peer via DHT PUT and gossip", async () => {
  const victim = (await atk().captured(S(B).peerId)).at(-1)?.record
  assert.ok(victim !== undefined)
  // Same PeerId, key, /64 and certificate as B, a much higher seq, the attacker's endpoint: only the signature is wrong.
  const forged = await forgeFrom(victim, atk().privateKey, { endpoints: [`${m.lab.host(ATTACKER_HOST).ipv4}:51820`], seq: victim.seq + 1_000_000 })
  const puts: PutResult[] = []
  await expectCounted('wrong-peer', HONEST, 'forged record, DHT PUT', putRefused(puts, () => S(B).peerId, () => forged))
  assertNobodyStored(puts, 'forged record', HONEST.length)
  await expectCounted('wrong-peer', HONEST, 'forged record, gossip announce', () => atk().announce(forged))
  await assertUndisturbed('after the forged record')
})

test("T6/S4: a record claiming B's /64 under the attacker's own valid certificate is refused as cert-mismatch", async () => {
  const now = Date.now()
  const meshPrefix = S(1).meshPrefix as Ipv6Prefix
  const wg = generateWgKeyPair()
  const cert = await issueCertificate({
    token: await decodeToken(tokenText), peerId: atk().peerId, wgPublicKey: wg.publicKey,
    prefix: prefixCandidate(meshPrefix, atk().peerId, 0), now, ttlMs: 3_600_000
  })
  const own: NodeRecordPayload = {
    v: 1, mesh: m.mesh, peerId: atk().peerId, wgPublicKey: wg.publicKey,
    endpoints: [`${m.lab.host(ATTACKER_HOST).ipv4}:51820`], addrs: [`/ip4/${m.lab.host(ATTACKER_HOST).ipv4}/tcp/${ATTACKER_PORT}`],
    prefix: cert.prefix, seq: now, expiresAt: now + 1_800_000, cert: toBase64url(cert.bytes)
  }
  const authority = parseAuthorityId(authorityId)
  const admit = createRecordAdmission({ anchor: { mesh: authority.mesh, authority: authority.publicKey }, revoked: () => false })
  // Control: with its own /64 the attacker's record would be a member's. The /64 is the only fault below.
  await decodeRecord(await encodeRecord(own, atk().privateKey), { mesh: m.mesh, now, admit })
  const theft = await encodeRecord({ ...own, prefix: S(B).prefix }, atk().privateKey)
  await expectCounted('cert-mismatch', HONEST, "B's /64, gossip announce", () => atk().announce(theft))
  const puts: PutResult[] = []
  await expectCounted('cert-mismatch', HONEST, "B's /64, DHT PUT", putRefused(puts, () => atk().peerId, () => theft))
  assertNobodyStored(puts, "record claiming B's /64", HONEST.length)
  await assertUndisturbed("after the record claiming B's /64")
})

test('T8/S7: records of 4 KiB + 1, 64 KiB (DHT PUT and gossip) and 1 MiB (DHT PUT) are refused as oversized', async () => {
  const base = (await atk().captured(S(B).peerId)).at(-1)?.record
  assert.ok(base !== undefined)
  const self = { ...base, peerId: atk().peerId } // its own record: size is the only fault
  for (const size of [MAX_RECORD_BYTES + 1, 64 * 1024, 1024 * 1024]) {
    const big = await oversizedRecord(self, atk().privateKey, size)
    assert.is(big.length, size)
    const puts: PutResult[] = []
    await expectCounted('oversized', HONEST, `${size}-byte record, DHT PUT`, putRefused(puts, () => atk().peerId, () => big))
    assertNobodyStored(puts, `${size}-byte record`, HONEST.length)
    if (size > 64 * 1024) continue
    // 4 KiB + 1 fits an announce and is refused by the record cap; 64 KiB by the message cap first.
    await expectCounted('oversized', HONEST, `${size}-byte record, gossip announce`, () => atk().announce(big))
  }
  await assertUndisturbed('after the oversized records')
})

test('the refusals are exported as gridmesh_records_rejected_total{reason} (host 1)', async () => {
  const reasons = ['wrong-peer', 'cert-mismatch', 'oversized']
  const before = new Map<string, number>()
  for (const r of reasons) before.set(r, await rejected(1, r))
  const fetchScript = `fetch('http://${METRICS}/metrics').then(r => r.text()).then(t => process.stdout.write(t)).catch(e => { console.error(String(e)); process.exit(1) })`
  const prom = parseProm(await m.lab.run(1, NODE, ['-e', fetchScript]))
  for (const r of reasons) {
    const v = prom.get(`gridmesh_records_rejected_total{reason="${r}"}`) ?? -1
    const after = await rejected(1, r)
    assert.ok(v >= (before.get(r) ?? 0) && v <= after && v >= 2, `${r}: metric ${v}, status ${String(before.get(r))}..${after}`)
  }
})

test("T4/S3: after B republished (seq n+1), a replay of B's seq-n record is refused as stale-seq and stored nowhere", async () => {
  assert.ok(oldB !== null)
  assert.is(await m.stop(B), 0, 'B stops cleanly')
  m.start(B, { args: closedArgs() })
  await m.waitFullMesh(HONEST, 120_000)
  const s = await m.status(B)
  assert.ok(s.seq > oldB.seq, `B republished with a higher seq (${s.seq} > ${oldB.seq})`)
  await atk().connect(underlay(HONEST), peerIds(HONEST), 90_000)
  await waitFor(async () => (await atk().captured(S(B).peerId)).some(c => c.seq === s.seq), { what: "the attacker sees B's new record too", timeoutMs: 30_000, intervalMs: 500 })
  await waitAllPairsPing(m, HONEST, ' after B restarted')
  const old = oldB.bytes
  // B's endpoint and keys did not change, so the mesh looks as before (endpoints can roam on restart: not compared).
  const afterRestart = await view(HONEST)
  assert.equal(await view(HONEST, false), viewWithoutEndpoints(baseline), 'B came back with the same WireGuard peers and /64s')
  const puts: PutResult[] = []
  await expectCounted('stale-seq', HONEST, "replay of B's seq-n record, DHT PUT", putRefused(puts, () => S(B).peerId, () => old))
  assertNobodyStored(puts, "B's replayed record", HONEST.length)
  await assertUndisturbed('after the replay', afterRestart)
})

test('a daemon restarted after seeing seq n+1 still refuses the seq-n replay (persisted high-water mark)', async () => {
  assert.ok(oldB !== null)
  const b = S(B).peerId
  const newSeq = (await m.status(B)).seq
  // The mark is saved a moment after it rises.
  await waitFor(() => {
    const saved = JSON.parse(readFileSync(join(m.stateDir(1), NODE_STATE_FILE), 'utf8')) as { highestSeen?: Record<string, number> }
    return (saved.highestSeen?.[b] ?? 0) >= newSeq
  }, { what: "host 1 persists B's high-water mark", timeoutMs: 20_000, intervalMs: 250 })
  // Nobody may re-teach host 1 about B after its restart: B is gone (graceful leave), so no announce, roster or lookup brings n+1.
  assert.is(await m.stop(B), 0)
  await waitFor(async () => {
    for (const i of [1, 3]) if ((await m.peers(i)).some(p => p.peerId === b)) throw new Error(`host ${i} still lists B`)
    return true
  }, { what: 'hosts 1 and 3 drop B', timeoutMs: 30_000, intervalMs: 250 })
  assert.is(await m.stop(1), 0)
  m.start(1, { args: [...closedArgs(), '--metrics', METRICS], bootstrap: [3] })
  await m.waitReady(1, 60_000)
  // Read at once: within a second of the restart host 1 may already (rightly) refuse some stale copy
  // of B's record still travelling the mesh; expectCounted below compares against its own baseline.
  assert.is(await rejected(1, 'stale-seq'), 0, 'a fresh process: its counters start at 0')
  await m.waitFullMesh([1, 3], 120_000)
  await atk().connect(underlay([1, 3]), peerIds([1, 3]), 90_000)
  const puts: PutResult[] = []
  // Without the persisted mark host 1 would validate seq n against 0 and store it.
  await expectCounted('stale-seq', [1, 3], "replay of B's seq-n record to the restarted host 1", putRefused(puts, () => b, () => oldB?.bytes ?? new Uint8Array()))
  assertNobodyStored(puts, "B's replayed record after host 1's restart", 2)
  await waitAllPairsPing(m, [1, 3], ' after host 1 restarted')
})

test('all daemons back: the attacker is nobody\'s peer, the WireGuard peers and /64s are those of the start, all pairs ping', async () => {
  m.start(B, { args: closedArgs(), bootstrap: [1, 3] })
  await m.waitFullMesh(HONEST, 120_000)
  await waitAllPairsPing(m, HONEST, ' at the end')
  assert.equal(await view(HONEST, false), viewWithoutEndpoints(baseline))
  for (const i of HONEST) {
    assert.not.ok((await m.peers(i)).some(p => p.peerId === atk().peerId), `host ${i} lists the attacker`)
  }
  assert.equal(m.unexpectedExits(), [])
})

/** viewWithoutEndpoints drops the endpoint column of a view (a restarted peer may come back from another source port). */
function viewWithoutEndpoints (v: Record<number, View>): Record<number, View> {
  const out: Record<number, View> = {}
  for (const [i, x] of Object.entries(v)) out[Number(i)] = { wg: x.wg.map(l => l.split(' ').slice(0, 2).join(' ')), peers: x.peers }
  return out
}

test.run()
