/**
 * Fuzz: the admin API on a real unix socket (T9, T11; S8b, S10). The real
 * server (listenAdmin) runs on a temp socket with real request parsing
 * behind every route: workload bodies go to a workload manager on a fake
 * veth driver, revocations to verifyRevocation, explain targets to the
 * daemon's resolveTarget. Raw sockets send random bytes, structured
 * requests with fuzzed methods, targets, headers and bodies, one-byte and
 * multi-byte mutations of valid requests, truncated and huge bodies; the
 * real CLI client sends fuzzed JSON bodies. Oracle: every reply is < 500;
 * a JSON reply ≥ 400 carries `{ error: "<non-empty>" }`; a non-JSON reply
 * (Node's own HTTP parser refusing the bytes) is a bodiless 4xx; nothing
 * escapes as an uncaught exception or unhandled rejection; and the server
 * still answers GET /v1/status correctly afterwards.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { closeAdmin, listenAdmin } from '../../../src/admin/server.ts'
import type { Explanation, RevocationResult, StatusView } from '../../../src/admin/contract.ts'
import { adminRequest } from '../../../src/admin/client.ts'
import { ErrorCodes, GridmeshError, isGridmeshError } from '../../../src/errors.ts'
import { createRevocation, encodeRevocation, verifyRevocation } from '../../../src/admission/revocation.ts'
import { resolveTarget } from '../../../src/daemon/explain.ts'
import { createWorkloadManager } from '../../../src/workload/manager.ts'
import { createFakeVethDriver } from '../../../src/workload/fake.ts'
import { parseIpv6Address, parseIpv6Prefix } from '../../../src/net/prefix.ts'
import type { MemberInfo } from '../../../src/routing/plan.ts'
import type { WgPublicKey } from '../../../src/keys/types.ts'
import { MESH, NOW, newAuthority, newPeerId } from '../admission/helpers.ts'
import { anyString, mutate, mutationsArb, nastyJson, oneMutationArb, params, timeTests } from './helpers.ts'

timeTests(test)

// ---- the server under test -------------------------------------------------------------

const dir = await mkdtemp(join(tmpdir(), 'gm-fuzz-admin-'))
const sock = join(dir, 'admin.sock')
const STATUS = { peerId: 'self', mesh: MESH, members: 2 }
const authority = await newAuthority()
const anchor = { mesh: MESH, authority: authority.publicKey }
const revocation = encodeRevocation(await createRevocation({ authority, mesh: MESH, target: { peerId: await newPeerId() }, now: NOW }))
const ownPrefix = parseIpv6Prefix('fd5e:1a2b:3c4d:1::/64')
const members: MemberInfo[] = [2, 3].map(i => ({
  peerId: `peer${i}`,
  wgPublicKey: 'q2Ahv8bq8Dd1VZJkpsPj5nRSfnDP6sWy7jUIxt9rV1I=' as WgPublicKey,
  endpoint: null,
  prefix: parseIpv6Prefix(`fd5e:1a2b:3c4d:${i}::/64`),
  linkAddress: parseIpv6Address(`fd5e:1a2b:3c4d:${i}::2`)
}))
let leaves = 0
const workloads = createWorkloadManager({ driver: createFakeVethDriver(['ns1', 'ns2']), logger: pino({ level: 'silent' }) },
  { stateDir: dir, prefix: () => ownPrefix, mtu: 1420 })
await workloads.start()
const server = await listenAdmin(sock, {
  status: () => STATUS as unknown as StatusView,
  peers: () => [],
  routes: () => [],
  leave: async () => { leaves++ },
  // as the daemon does (src/daemon/mesh-services.ts): a refused revocation is the caller's error
  publishRevocation: async text => {
    try {
      const rev = await verifyRevocation(text, anchor)
      return { id: rev.id, result: 'known' } as RevocationResult
    } catch (err) {
      if (isGridmeshError(err) && err.code === ErrorCodes.RECORD_INVALID) throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, `revocation refused: ${err.message}`)
      throw err
    }
  },
  workloads,
  inspect: {
    explain: target => ({ peerId: resolveTarget('self', ownPrefix, members, target).peerId }) as unknown as Explanation,
    graph: () => ({ dot: 'graph gridmesh {}\n', nodes: [], edges: [], relays: [], relaying: [] })
  }
})

/** Anything that escapes the request handling: must stay empty. */
const escapes: unknown[] = []
process.on('uncaughtException', err => { escapes.push(err) })
process.on('unhandledRejection', err => { escapes.push(err) })
test.before.each(() => { escapes.length = 0 }) // each test answers for its own requests

// ---- a raw HTTP/1.1 client that records exactly what came back -----------------------------

interface Reply { status: number, headers: Map<string, string>, body: Buffer, truncated: boolean }

/** exchange writes `bytes`, half-closes, and parses every reply until the server closes (or the timeout). */
async function exchange (bytes: Uint8Array, timeoutMs = 5000): Promise<{ replies: Reply[], timedOut: boolean }> {
  const data = await new Promise<{ buf: Buffer, timedOut: boolean }>(resolve => {
    const chunks: Buffer[] = []
    const s = connect(sock)
    const done = (timedOut: boolean): void => { clearTimeout(t); s.destroy(); resolve({ buf: Buffer.concat(chunks), timedOut }) }
    const t = setTimeout(() => { done(true) }, timeoutMs)
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('close', () => { done(false) })
    s.on('error', () => { done(false) }) // EPIPE/ECONNRESET after the server refused the rest: what was read still counts
    s.end(bytes)
  })
  return { replies: parseReplies(data.buf), timedOut: data.timedOut }
}

function parseReplies (buf: Buffer): Reply[] {
  const out: Reply[] = []
  let at = 0
  while (at < buf.length) {
    const headEnd = buf.indexOf('\r\n\r\n', at)
    assert.ok(headEnd >= 0, `unparseable reply bytes: ${JSON.stringify(buf.subarray(at, at + 80).toString('latin1'))}`)
    const [statusLine = '', ...lines] = buf.subarray(at, headEnd).toString('latin1').split('\r\n')
    const m = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine)
    assert.ok(m !== null, `bad status line ${JSON.stringify(statusLine)}`)
    const headers = new Map(lines.map(l => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
    const status = Number(m[1])
    at = headEnd + 4
    if (status >= 200 && headers.get('transfer-encoding') === 'chunked') {
      // Node's own error replies (a request that broke mid-body) come chunked
      const parts: Buffer[] = []
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', at)
        const size = lineEnd < 0 ? NaN : parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16)
        if (Number.isNaN(size)) { out.push({ status, headers, body: Buffer.concat(parts), truncated: true }); return out }
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size))
        at = lineEnd + 2 + size + 2
        if (size === 0) break
      }
      out.push({ status, headers, body: Buffer.concat(parts), truncated: false })
      continue
    }
    const len = status < 200 ? 0 : Number(headers.get('content-length') ?? 0)
    const body = buf.subarray(at, at + len)
    out.push({ status, headers, body, truncated: body.length < len })
    at += len
  }
  return out
}

/** The oracle for every reply. */
function checkReply (r: Reply): void {
  assert.ok(r.status >= 100 && r.status < 500, `status ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`)
  if (r.status < 200) { assert.is(r.status, 100); return }
  if (r.headers.get('content-type') === 'application/json') {
    if (r.truncated) return // a HEAD reply has the length of a body it does not send
    const json = JSON.parse(r.body.toString('utf8')) as { error?: unknown }
    if (r.status >= 400) assert.ok(typeof json.error === 'string' && json.error.length > 0, `4xx without an error text: ${r.body.toString('utf8')}`)
  } else {
    assert.ok(r.status >= 400, `non-JSON ${r.status} reply`)
    assert.is(r.body.length, 0)
  }
}

function checkNoEscapes (): void {
  assert.is(escapes.length, 0, `escaped the request handler: ${escapes.map(e => e instanceof Error ? e.stack : String(e)).join('\n')}`)
}

/** Sends raw request bytes and applies the oracle to whatever comes back. */
async function checkExchange (bytes: Uint8Array): Promise<void> {
  const { replies, timedOut } = await exchange(bytes)
  assert.not.ok(timedOut, 'connection left hanging after the client closed')
  for (const r of replies) checkReply(r)
  checkNoEscapes()
}

async function checkStillServing (): Promise<void> {
  assert.equal(await adminRequest(sock, 'GET', '/v1/status'), STATUS, 'the server stopped answering correctly')
  checkNoEscapes()
}

// ---- request generators ------------------------------------------------------------------

const enc = new TextEncoder()
const PATHS = ['/v1/status', '/v1/peers', '/v1/routes', '/v1/leave', '/v1/revocations', '/v1/workloads', '/v1/workloads/remove', '/v1/routes/explain', '/v1/graph']
const targetArb = fc.oneof(
  fc.constantFrom(...PATHS),
  fc.tuple(fc.constantFrom(...PATHS, '', '/', '//', '/v1', '/v2/status'), fc.constantFrom('', '?', '?target=', '?target=fd5e:1a2b:3c4d:2::/64', '?target=peer3', '?target=%zz',
    '?target=fd5e:1a2b:3c4d:1::5', '#frag', '/', '//a:b', '?a=1&a=2', '?target=' + 'f'.repeat(300))).map(([p, s]) => p + s),
  fc.constantFrom('//foo:bar', '//[', 'http://[', '//:99999', '*', 'http://admin/v1/status', '/v1/status/../status', '/%00', '/v1/status%3F'),
  fc.string({ unit: fc.constantFrom(...'/v1status?&=:%#[]@!$\'()*+,;~-._0123456789abcdef'), maxLength: 40 }).map(s => `/${s}`)
)
const bodyArb = fc.oneof(
  fc.constant(''),
  nastyJson.map(j => JSON.stringify(j) ?? ''),
  fc.constantFrom('{}', '{"name":"w1","netns":"ns1"}', '{"name":"w1"}', '{"name":"W 1","netns":"ns1"}', '{"name":"x","netns":"nope"}',
    `{"revocation":"${revocation}"}`, '{"revocation":"gmr1.AAAA"}', '{"revocation":1}', '{"force":true}', '[]', 'null', '"x"', '{"a":', '{'.repeat(5000)),
  anyString(200),
  fc.uint8Array({ maxLength: 200 }).map(b => Buffer.from(b).toString('latin1'))
)

/** A syntactically plausible request with fuzzed parts; `framing` picks how (and how truthfully) the body is delimited. */
const requestArb = fc.record({
  method: fc.constantFrom('GET', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'get', 'FOO', 'CONNECT'),
  target: targetArb,
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', ''),
  framing: fc.constantFrom('length', 'length', 'chunked', 'none', 'short', 'long', 'bad', 'double'),
  contentType: fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/json; charset=latin1', '\u00ff'),
  extra: fc.constantFrom('', 'Expect: 100-continue\r\n', 'Connection: close\r\n', 'X-Forwarded-For: 10.0.0.1\r\n', 'Transfer-Encoding: gzip\r\n'),
  body: bodyArb
}).map(r => {
  const body = Buffer.from(r.body, 'utf8')
  const head = (h: string): Buffer => Buffer.from(`${r.method} ${r.target}${r.version === '' ? '' : ` ${r.version}`}\r\nHost: x\r\n${r.contentType === undefined ? '' : `Content-Type: ${r.contentType}\r\n`}${r.extra}${h}\r\n`, 'latin1')
  switch (r.framing) {
    case 'length': return Buffer.concat([head(`Content-Length: ${body.length}\r\n`), body])
    case 'chunked': return Buffer.concat([head('Transfer-Encoding: chunked\r\n'), Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
    case 'none': return Buffer.concat([head(''), body])
    case 'short': return Buffer.concat([head(`Content-Length: ${body.length + 10}\r\n`), body]) // then the client half-closes: a truncated body
    case 'long': return Buffer.concat([head(`Content-Length: ${Math.max(0, body.length - 3)}\r\n`), body])
    case 'bad': return Buffer.concat([head('Content-Length: -1\r\n'), body])
    default: return Buffer.concat([head(`Content-Length: ${body.length}\r\nContent-Length: ${body.length + 1}\r\n`), body])
  }
})

const VALID_REQUESTS = [
  'GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n',
  'POST /v1/leave HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
  'POST /v1/workloads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{"name":"m1","netns":"ns2"}',
  `POST /v1/revocations HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(`{"revocation":"${revocation}"}`)}\r\n\r\n{"revocation":"${revocation}"}`,
  'GET /v1/routes/explain?target=fd5e%3A1a2b%3A3c4d%3A2%3A%3A%2F64 HTTP/1.1\r\nHost: x\r\n\r\n',
  'POST /v1/workloads/remove HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n{"name":"m1"}\r\n0\r\n\r\n'
].map(s => enc.encode(s))

// ---- tests -------------------------------------------------------------------------------

test('oracle sanity: known-good requests are answered 200 with the right JSON, a bad one 4xx with an error', async () => {
  const [status] = (await exchange(VALID_REQUESTS[0]!)).replies
  assert.is(status?.status, 200)
  assert.equal(JSON.parse(status?.body.toString() ?? ''), STATUS)
  assert.equal(await adminRequest(sock, 'POST', '/v1/revocations', { revocation }), { id: (await verifyRevocation(revocation, anchor)).id, result: 'known' })
  assert.equal(await adminRequest(sock, 'GET', '/v1/routes/explain?target=fd5e:1a2b:3c4d:3::9'), { peerId: 'peer3' })
  const added = await adminRequest(sock, 'POST', '/v1/workloads', { name: 'sane', netns: 'ns1' }) as { address: string }
  assert.is(added.address, 'fd5e:1a2b:3c4d:1::100')
  await adminRequest(sock, 'POST', '/v1/workloads/remove', { name: 'sane' })
  const [bad] = (await exchange(enc.encode('POST /v1/leave HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{x}'))).replies
  assert.ok(bad !== undefined && bad.status === 400)
  checkReply(bad)
  await checkStillServing()
})

test('a request target that `new URL()` cannot parse (`//a:b`) is a 404, not a dead daemon', async () => {
  for (const target of ['//foo:bar', '//[', 'http://[', '//:99999']) {
    const { replies } = await exchange(enc.encode(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`))
    assert.is(replies.length, 1, target)
    assert.is(replies[0]?.status, 404, target)
    checkReply(replies[0]!)
  }
  await checkStillServing()
})

test('huge bodies (64 KiB + 1 up to 10 MiB, sized or chunked) get a 400 JSON "too large", and the server keeps serving', async () => {
  for (const n of [64 * 1024 + 1, 1 << 20, 10 << 20]) {
    const body = Buffer.alloc(n, 0x61)
    for (const req of [
      Buffer.concat([Buffer.from(`POST /v1/workloads HTTP/1.1\r\nHost: x\r\nContent-Length: ${n}\r\n\r\n`), body]),
      Buffer.concat([Buffer.from(`POST /v1/leave HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${n.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
    ]) {
      const { replies, timedOut } = await exchange(req, 20_000)
      assert.not.ok(timedOut, `no close after a ${n}-byte body`)
      assert.is(replies.length, 1, `${n}-byte body: ${replies.length} replies`)
      assert.is(replies[0]?.status, 400)
      assert.match(replies[0]?.body.toString() ?? '', /request body too large/)
    }
  }
  assert.is(leaves, 0, 'an oversized leave request was acted on')
  await checkStillServing()
})

test('random bytes: every reply is a clean 4xx (or nothing for bytes that never form a request head)', async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async bytes => {
    await checkExchange(bytes)
  }), params(600))
  await checkStillServing()
})

test('structured requests with fuzzed methods, targets, versions, framing, headers and bodies: replies < 500 with a JSON error', async () => {
  await fc.assert(fc.asyncProperty(requestArb, async req => {
    await checkExchange(req)
  }), params(800))
  await checkStillServing()
})

test('one-byte and multi-byte mutations of valid requests: replies < 500 with a JSON error', async () => {
  await fc.assert(fc.asyncProperty(fc.nat(VALID_REQUESTS.length - 1), fc.oneof(oneMutationArb, mutationsArb), async (which, ops) => {
    await checkExchange(mutate(VALID_REQUESTS[which]!, ops))
  }), params(800))
  await checkStillServing()
})

test('the CLI client with fuzzed JSON bodies and paths: 200, or ADMIN_REQUEST naming the reason (never "unreachable")', async () => {
  const pathArb = fc.oneof(fc.constantFrom(...PATHS), fc.string({ unit: fc.constantFrom(...'/v1statuswork?&=%:'), maxLength: 30 }).map(s => `/${s}`))
  await fc.assert(fc.asyncProperty(fc.constantFrom('GET' as const, 'POST' as const), pathArb, fc.option(nastyJson, { nil: undefined }), async (method, path, body) => {
    try {
      await adminRequest(sock, method, path, body)
    } catch (err) {
      assert.ok(isGridmeshError(err), `client got ${String(err)}`)
      assert.is(err.code, ErrorCodes.ADMIN_REQUEST, err.message)
      assert.match(err.message, /^daemon refused (GET|POST) \S*: .+/)
    }
    checkNoEscapes()
  }), params(400))
  await checkStillServing()
})

test('50 concurrent fuzzed connections: all answered or closed, and the server keeps serving', async () => {
  const batch = fc.sample(fc.oneof(requestArb, fc.uint8Array({ maxLength: 200 }).map(b => Buffer.from(b))), { numRuns: 50, seed: 7 })
  const results = await Promise.all(batch.map(async b => await exchange(b)))
  for (const { replies, timedOut } of results) {
    assert.not.ok(timedOut)
    for (const r of replies) checkReply(r)
  }
  await checkStillServing()
})

test.after(async () => {
  await closeAdmin(server, sock)
  await rm(dir, { recursive: true, force: true })
})

test.run()
