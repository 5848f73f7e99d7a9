import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config/load.ts'
import { buildAdminHandler } from '../../../src/admin/server.ts'
import type { Explanation, StatusView } from '../../../src/admin/contract.ts'
import { adminRequest } from '../../../src/admin/client.ts'
import { ErrorCodes, GridmeshError, exitCodeFor, isGridmeshError } from '../../../src/errors.ts'

const base = { mesh: 'lab', stateDir: '/var/lib/gridmesh' }

test('metrics is off by default and accepts loopback from flag or env', () => {
  assert.is(loadConfig({ flags: base, env: {} }).metrics, undefined)
  assert.is(loadConfig({ flags: { ...base, metrics: '127.0.0.1:9464' }, env: {} }).metrics, '127.0.0.1:9464')
  assert.is(loadConfig({ flags: base, env: { GRIDMESH_METRICS: '[::1]:9464' } }).metrics, '[::1]:9464')
})

test('a non-loopback metrics address is CONFIG_INVALID (exit 2) saying why', () => {
  for (const [flags, env] of [
    [{ ...base, metrics: '0.0.0.0:9464' }, {}],
    [{ ...base, metrics: '10.0.0.1:9464' }, {}],
    [{ ...base, metrics: '[::]:9464' }, {}],
    [base, { GRIDMESH_METRICS: 'localhost.evil.example:9464' }]
  ] as Array<[Record<string, unknown>, Record<string, string>]>) {
    try {
      loadConfig({ flags, env })
      assert.unreachable(`${JSON.stringify(flags)} ${JSON.stringify(env)} accepted`)
    } catch (err) {
      if (!isGridmeshError(err)) throw err
      assert.is(err.code, ErrorCodes.CONFIG_INVALID)
      assert.is(exitCodeFor(err), 2)
      assert.match(err.message, /(--metrics|GRIDMESH_METRICS): metrics must listen on a loopback address .*no authentication/)
    }
  }
})

test('admin API: explain passes ?target=, 400 for missing or refused targets; graph returns { dot }', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gm-inspect-'))
  const path = join(dir, 'admin.sock')
  const seen: string[] = []
  const server = createServer(buildAdminHandler({
    status: () => ({}) as StatusView, peers: () => [], routes: () => [], leave: async () => {},
    inspect: {
      explain: (target) => {
        seen.push(target)
        if (target === 'nope') throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'no member owns nope')
        return { kind: 'direct' } as Explanation
      },
      graph: () => ({ dot: 'graph gridmesh {\n}\n', nodes: [], edges: [], relays: [], relaying: [] })
    }
  }))
  await new Promise<void>(resolve => server.listen(path, resolve))
  try {
    assert.equal(await adminRequest(path, 'GET', `/v1/routes/explain?target=${encodeURIComponent('fd12::/64')}`), { kind: 'direct' })
    assert.equal(seen, ['fd12::/64'])
    for (const [q, why] of [['', /missing \?target=/], ['?target=nope', /no member owns nope/]] as const) {
      try {
        await adminRequest(path, 'GET', `/v1/routes/explain${q}`)
        assert.unreachable('should be refused')
      } catch (err) {
        assert.match((err as Error).message, why)
      }
    }
    assert.equal(await adminRequest(path, 'GET', '/v1/graph'), { dot: 'graph gridmesh {\n}\n', nodes: [], edges: [], relays: [], relaying: [] })
    await adminRequest(path, 'POST', '/v1/graph').then(() => assert.unreachable('POST accepted'), (err: Error) => { assert.match(err.message, /not allowed/) })
  } finally {
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
