/**
 * Issue 19, attack 4: a start-up error after libp2p has started must not
 * leave a zombie holding the port. Both real triggers, as a process: the
 * daemon prints one line, exits with the right code well before the CLI
 * helper's 30 s kill, and leaves no interface and no listener behind.
 * (On 9ac2a56 both hung: the helper killed them at 30 s, code null.)
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createMeshLab, type MeshLab } from '../../netns/mesh.ts'

let m: MeshLab

test.before(async () => { m = await createMeshLab({ hosts: 1 }) })
test.after(async () => { await m.destroy() })

async function leftovers (): Promise<string[]> {
  const out: string[] = []
  if ((await m.lab.exec(1, 'ip', ['link', 'show', 'gridmesh0'])).code === 0) out.push('interface gridmesh0')
  const listeners = (await m.lab.exec(1, 'ss', ['-Hltnp'])).stdout.trim()
  if (listeners !== '') out.push(`listeners: ${listeners}`)
  return out
}

/** The CLI's error line comes last, after the daemon's JSON log lines (also on stderr). */
const lastLine = (stderr: string): string => stderr.trim().split('\n').at(-1) ?? ''

const up = (extra: readonly string[]): string[] =>
  ['up', '--mesh', 'lab', '--state-dir', m.stateDir(1), '--admin-socket', m.adminSocket(1), ...extra]

test('--listen 127.0.0.1:PORT: "no underlay address to publish", exit 2, nothing left behind', async () => {
  const started = Date.now()
  const r = await m.cli(1, up(['--listen', '127.0.0.1:4001']))
  assert.is(r.code, 2, `exit code (stderr: ${r.stderr.trim()})`)
  assert.match(lastLine(r.stderr), /^gridmesh: no underlay address to publish from 127\.0\.0\.1:4001; .*--announce/)
  assert.ok(Date.now() - started < 25_000, 'exited on its own')
  assert.equal(await leftovers(), [])
})

test('a state.json whose seq no record can follow is refused as corrupt, exit 1, nothing left behind', async () => {
  const file = join(m.stateDir(1), 'state.json')
  const state = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
  await writeFile(file, JSON.stringify({ ...state, seq: Number.MAX_SAFE_INTEGER }), { mode: 0o600 })
  const started = Date.now()
  const r = await m.cli(1, up(['--listen', '0.0.0.0:4001']))
  assert.is(r.code, 1, `exit code (stderr: ${r.stderr.trim()})`)
  assert.match(lastLine(r.stderr), /^gridmesh: state file .*state\.json is corrupt \(seq: too large/)
  assert.ok(Date.now() - started < 25_000, 'exited on its own')
  assert.equal(await leftovers(), [])
})

test.run()
