/**
 * The admin contract (issue 12, 18): the daemon's rows carry what the CLI
 * reads, the CLI reads them only through the contract types, errors name the
 * command instead of the URL, and a wrong socket path is diagnosed.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peersView } from '../../../src/daemon/views.ts'
import { peersSummary, renderPeers } from '../../../src/cli/peers.ts'
import { adminCall, adminRequest } from '../../../src/admin/client.ts'
import { closeAdmin, listenAdmin } from '../../../src/admin/server.ts'
import { ErrorCodes, GridmeshError } from '../../../src/errors.ts'
import type { PeerRow, StatusView } from '../../../src/admin/contract.ts'
import type { MemberSnapshot } from '../../../src/mesh/membership.ts'
import type { LinkReport } from '../../../src/routing/link-report.ts'
import type { LinkState } from '../../../src/routing/link-state.ts'
import { D, MEMBERS, NOW, S, X, Y, down, report, up, view } from '../inspect/fixtures.ts'

const CLI_DIR = fileURLToPath(new URL('../../../src/cli/', import.meta.url))

test('peers --json rows carry wgPublicKey; an unreachable peer shows no RTT', () => {
  const links = new Map<string, LinkState>([[X, up(0.8)], [Y, up(1.5)], [D, down(3, 1.2, NOW - 13_000)]])
  const reports = new Map<string, LinkReport>([
    [X, report(X, [[S, true, 0.8], [D, false, null]])],
    [Y, report(Y, [[S, true, 1.5], [D, false, null]])],
    [D, report(D, [[S, false, 1.2], [X, false, null], [Y, false, null]])]
  ])
  const rows = peersView(view(links, reports), new Map() as MemberSnapshot, links, null)
  for (const m of MEMBERS) assert.is(rows.find(r => r.peerId === m.peerId)?.wgPublicKey, m.wgPublicKey)
  const d = rows.find(r => r.peerId === D)
  assert.is(d?.state, 'unreachable')
  assert.is(d?.rttMs, null, 'the last RTT of a dead link is not an RTT')
  assert.is(rows.find(r => r.peerId === X)?.rttMs, 0.8)
})

function row (state: PeerRow['state']): PeerRow {
  return {
    peerId: `12D3KooW${state}`, wgPublicKey: 'k', address: 'fd00::1', prefix: 'fd00::/64', endpoint: null, state, via: null,
    rttMs: null, link: 'up', liveness: 'alive', lastHandshake: null, rxBytes: 0, txBytes: 0, since: null
  }
}

test('peers prints a summary line: n/n direct, the count per state, or alone', () => {
  assert.is(peersSummary(['direct', 'direct', 'direct', 'direct'].map(s => row(s as PeerRow['state']))), '4/4 direct')
  assert.is(peersSummary([row('direct'), row('relayed'), row('direct'), row('direct')]), '3 direct, 1 relayed')
  assert.is(peersSummary([row('relayed'), row('unreachable')]), '0 direct, 1 relayed, 1 unreachable')
  assert.match(peersSummary([]), /^no peers: this node is alone/)
  const text = renderPeers([row('direct'), row('relayed')], NOW)
  assert.is(text.trimEnd().split('\n').at(-1), '1 direct, 1 relayed')
})

test('the CLI reads admin replies only through the contract: no local row types, no casts', () => {
  for (const name of readdirSync(CLI_DIR).filter(f => f.endsWith('.ts'))) {
    const text = readFileSync(join(CLI_DIR, name), 'utf8')
    assert.not.match(text, /\binterface \w*(View|Row)\b/, `${name} redeclares a reply type`)
    assert.not.match(text, /\)\s*as\s+\w*(View|Row|Explanation)\b/, `${name} casts an admin reply`)
    assert.not.match(text, /adminRequest\(/, `${name} calls the untyped adminRequest`)
  }
})

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gm-contract-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

test('a daemon refusal names the command, never the percent-encoded URL', () => withDir(async dir => {
  const sock = join(dir, 'admin.sock')
  const server = await listenAdmin(sock, {
    status: () => ({}) as StatusView, peers: () => [], routes: () => [], leave: async () => {},
    inspect: {
      explain: (t) => { throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, `no member's PeerId is or ends with "${t}"`) },
      graph: () => ({ dot: '', nodes: [], edges: [], relays: [], relaying: [] })
    }
  })
  try {
    const short = '12D3KooW…UxJPxj'
    for (const p of [
      adminRequest(sock, 'GET', `/v1/routes/explain?target=${encodeURIComponent(short)}`),
      adminCall(sock, 'GET /v1/routes/explain', { query: { target: short } })
    ]) {
      const err = await p.then(() => null, (e: Error) => e)
      assert.ok(err !== null)
      assert.not.match(err.message, /%[0-9A-F]{2}|\?target=/, err.message)
      assert.match(err.message, /12D3KooW…UxJPxj/)
    }
    const err = await adminCall(sock, 'GET /v1/routes/explain', { query: { target: 'x' } }).then(() => null, (e: Error) => e)
    assert.match(err?.message ?? '', /^daemon refused routes --explain: /)
  } finally { await closeAdmin(server, sock) }
}))

test('an --admin-socket that is a directory or a regular file is diagnosed as such, not as a stale socket', () => withDir(async dir => {
  await mkdir(join(dir, 'd'))
  await writeFile(join(dir, 'f'), 'x')
  const d = await adminRequest(join(dir, 'd'), 'GET', '/v1/status').then(() => null, (e: Error) => e)
  assert.match(d?.message ?? '', /is a directory, not the admin socket/)
  const f = await adminRequest(join(dir, 'f'), 'GET', '/v1/status').then(() => null, (e: Error) => e)
  assert.match(f?.message ?? '', /is a regular file, not a socket/)
  for (const e of [d, f]) assert.not.match(e?.message ?? '', /stale/)
}))

test.run()
