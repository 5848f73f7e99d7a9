import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listenAdmin, closeAdmin, checkAdminSocketFree, type AdminServices } from '../../../src/admin/server.ts'
import type { RevocationResult, StatusView } from '../../../src/admin/contract.ts'
import { adminRequest } from '../../../src/admin/client.ts'
import { ErrorCodes } from '../../../src/errors.ts'

function services (): AdminServices & { left: number } {
  const s = {
    left: 0,
    status: () => ({ peerId: 'p', members: 1 }) as unknown as StatusView,
    peers: () => [],
    routes: () => [],
    leave: async () => { s.left++ }
  }
  return s
}

async function withSocket (fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gm-admin-'))
  try { await fn(join(dir, 'sub', 'admin.sock')) } finally { await rm(dir, { recursive: true, force: true }) }
}

test('serves status on a 0600 socket and removes it on close', () => withSocket(async path => {
  const server = await listenAdmin(path, services())
  try {
    assert.is((await stat(path)).mode & 0o777, 0o600)
    assert.equal(await adminRequest(path, 'GET', '/v1/status'), { peerId: 'p', members: 1 })
  } finally { await closeAdmin(server, path) }
  assert.not.ok(await stat(path).catch(() => null), "socket removed")
}))

test('unknown endpoint is 404, wrong method is 405, both with a reason', () => withSocket(async path => {
  const server = await listenAdmin(path, services())
  try {
    await adminRequest(path, 'GET', '/v1/nope').then(() => assert.unreachable(), (e: Error) => { assert.match(e.message, /no such endpoint/) })
    await adminRequest(path, 'POST', '/v1/status').then(() => assert.unreachable(), (e: Error) => { assert.match(e.message, /not allowed/) })
  } finally { await closeAdmin(server, path) }
}))

test('leave rejects unknown fields with a reason and does not leave', () => withSocket(async path => {
  const svc = services()
  const server = await listenAdmin(path, svc)
  try {
    await adminRequest(path, 'POST', '/v1/leave', { force: true }).then(() => assert.unreachable(), (e: Error) => { assert.match(e.message, /takes no fields/) })
    assert.is(svc.left, 0)
    await adminRequest(path, 'POST', '/v1/leave')
    assert.is(svc.left, 1)
  } finally { await closeAdmin(server, path) }
}))

test('an admin socket path that is a regular file or a directory is refused, never deleted', () => withSocket(async path => {
  const { mkdir, writeFile, readFile } = await import('node:fs/promises')
  const { dirname } = await import('node:path')
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, 'mesh: keep-me\n')
  for (const expected of [/is a regular file, not a socket/, /is a directory, not a socket/]) {
    const err = await listenAdmin(path, services()).then(async s => { await closeAdmin(s, path); return null }, (e: { code: string, message: string }) => e)
    assert.is(err?.code, ErrorCodes.CONFIG_INVALID)
    assert.match(err?.message ?? '', expected)
    if (expected.source.includes('regular')) {
      assert.is(await readFile(path, 'utf8'), 'mesh: keep-me\n', 'the file is kept')
      await rm(path)
      await mkdir(path)
    }
  }
}))

test('a second daemon on the same socket is refused', () => withSocket(async path => {
  const server = await listenAdmin(path, services())
  try {
    await checkAdminSocketFree(path).then(() => assert.unreachable(), (e: { code: string }) => { assert.is(e.code, ErrorCodes.ALREADY_RUNNING) })
  } finally { await closeAdmin(server, path) }
}))

test('client errors say which socket was tried', async () => {
  await adminRequest('/nonexistent/gm.sock', 'GET', '/v1/status').then(() => assert.unreachable(), (e: { code: string, message: string }) => {
    assert.is(e.code, ErrorCodes.DAEMON_UNREACHABLE)
    assert.match(e.message, /\/nonexistent\/gm.sock/)
    assert.match(e.message, /gridmesh up/)
  })
})

test('POST /v1/revocations passes the gmr1 text through and refuses other bodies', () => withSocket(async path => {
  const seen: string[] = []
  const server = await listenAdmin(path, { ...services(), publishRevocation: async text => { seen.push(text); return { id: 'peer-x', result: 'added' } as RevocationResult } })
  try {
    assert.equal(await adminRequest(path, 'POST', '/v1/revocations', { revocation: 'gmr1.AAAA' }), { id: 'peer-x', result: 'added' })
    await adminRequest(path, 'POST', '/v1/revocations', { revocation: 1 }).then(() => assert.unreachable(), (e: Error) => { assert.match(e.message, /gmr1/) })
    await adminRequest(path, 'POST', '/v1/revocations', { revocation: 'gmr1.A', x: 1 }).then(() => assert.unreachable(), (e: Error) => { assert.match(e.message, /gmr1/) })
    assert.equal(seen, ['gmr1.AAAA'])
  } finally { await closeAdmin(server, path) }
}))

test.run()
