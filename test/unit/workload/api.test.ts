import type { StatusView } from '../../../src/admin/contract.ts'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { closeAdmin, listenAdmin } from '../../../src/admin/server.ts'
import { createWorkloadManager } from '../../../src/workload/manager.ts'
import { createFakeVethDriver } from '../../../src/workload/fake.ts'
import { parseIpv6Prefix } from '../../../src/net/prefix.ts'

/** Raw request, so malformed bodies can be sent as they are. */
function raw (socketPath: string, method: string, path: string, body?: string): Promise<{ status: number, json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, res => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

type Call = (method: string, path: string, body?: string) => Promise<{ status: number, json: unknown }>

async function withApi (fn: (call: Call) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gm-wapi-'))
  const sock = join(dir, 'admin.sock')
  const workloads = createWorkloadManager({ driver: createFakeVethDriver(['ns1']), logger: pino({ level: 'silent' }) },
    { stateDir: dir, prefix: () => parseIpv6Prefix('fd00:1::/64'), mtu: 1420 })
  await workloads.start()
  const server = await listenAdmin(sock, { status: () => ({}) as StatusView, peers: () => [], routes: () => [], leave: async () => {}, workloads })
  try { await fn((method, path, body) => raw(sock, method, path, body)) } finally {
    await closeAdmin(server, sock)
    await rm(dir, { recursive: true, force: true })
  }
}

test('POST /v1/workloads adds, GET lists, POST /v1/workloads/remove removes', () => withApi(async call => {
  const added = await call('POST', '/v1/workloads', '{"name":"w1","netns":"ns1"}')
  assert.equal(added, { status: 200, json: { name: 'w1', netns: 'ns1', address: 'fd00:1::100', interface: 'gmw60c559', state: 'up' } })
  assert.equal((await call('GET', '/v1/workloads')).json, [added.json])
  assert.is((await call('POST', '/v1/workloads/remove', '{"name":"w1"}')).status, 200)
  assert.equal((await call('GET', '/v1/workloads')).json, [])
}))

const BAD: Array<[string, string, string | undefined, RegExp]> = [
  ['malformed JSON', '/v1/workloads', '{"name":', /not valid JSON/],
  ['no body', '/v1/workloads', undefined, /body must be a JSON object/],
  ['an array', '/v1/workloads', '[]', /body must be a JSON object/],
  ['an unknown field', '/v1/workloads', '{"name":"w1","netns":"ns1","ip":"fd00::5"}', /unknown field ip/],
  ['a missing field', '/v1/workloads', '{"name":"w1"}', /field netns/],
  ['a number for a name', '/v1/workloads', '{"name":1,"netns":"ns1"}', /field name/],
  ['an invalid name', '/v1/workloads', '{"name":"W 1","netns":"ns1"}', /invalid workload name/],
  ['a missing namespace', '/v1/workloads', '{"name":"w1","netns":"nope"}', /network namespace nope does not exist/],
  ['remove with an unknown field', '/v1/workloads/remove', '{"name":"w1","force":true}', /unknown field force/],
  ['remove of an unknown workload', '/v1/workloads/remove', '{"name":"w1"}', /no workload named w1/]
]
for (const [name, path, body, reason] of BAD) {
  test(`${name} is 400 with the reason`, () => withApi(async call => {
    const r = await call('POST', path, body)
    assert.is(r.status, 400)
    assert.match((r.json as { error: string }).error, reason)
  }))
}

test('DELETE on the list is 405 (mutations are POSTs)', () => withApi(async call => {
  assert.is((await call('DELETE', '/v1/workloads')).status, 405)
}))

test.run()
