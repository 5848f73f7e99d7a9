/**
 * Issue 19, degraded: `pskFile` pointing nowhere exited 2, but only after the
 * state dir and keys were created. Every input is now checked before the
 * first write. Runs `gridmesh up` for real (needs root; it stops before any
 * system change because the PSK is read first).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

test('up with a pskFile that does not exist exits 2 and creates no state dir, no keys', async () => {
  if (process.geteuid?.() !== 0) return
  const root = await mkdtemp(join(tmpdir(), 'gm-sec-psk-'))
  try {
    const state = join(root, 'state')
    const r = await new Promise<{ code: number | null, stderr: string }>(resolve => {
      execFile(join(process.cwd(), 'bin/gridmesh'), ['up', '--mesh', 'pskcheck', '--state-dir', state, '--psk-file', join(root, 'nope.key'),
        '--admin-socket', join(root, 'admin.sock'), '--interface', 'gmpskchk0', '--listen', '127.0.0.1:47999'],
      { timeout: 60_000 }, (err, _stdout, stderr) => { resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stderr }) })
    })
    assert.is(r.code, 2, r.stderr)
    assert.match(r.stderr, /nope\.key/)
    assert.equal(await readdir(root), [], 'nothing written')
  } finally { await rm(root, { recursive: true, force: true }) }
})

test.run()
