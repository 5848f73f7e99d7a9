/**
 * The state-dir lock (issue 18): a restart right after a kill -9 goes ahead.
 * A lock whose holder is dead — gone, a zombie nobody reaped yet, or a pid
 * now used by another process — is taken over at once; a live holder is
 * refused.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LOCK_FILE, acquireStateLock, holderAlive, parseLockFile, parseProcStat, readProcStat } from '../../../src/daemon/lock.ts'
import { ErrorCodes } from '../../../src/errors.ts'

const LOCK_MODULE = fileURLToPath(new URL('../../../src/daemon/lock.ts', import.meta.url))

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gm-lock-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

test('parses /proc/PID/stat (comm with spaces and parentheses) and the lock file', () => {
  assert.equal(parseProcStat('42 (a (b) c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 1 1 1'), { state: 'S', startTime: '98765' })
  assert.equal(parseLockFile('123 98765\n'), { pid: 123, startTime: '98765' })
  assert.equal(parseLockFile('123\n'), { pid: 123, startTime: null })
  assert.is(parseLockFile('x'), null)
})

test('holderAlive: gone, zombie or reused pid is dead; the same process is alive', () => {
  const owner = { pid: 7, startTime: '100' }
  assert.not.ok(holderAlive(owner, null))
  assert.not.ok(holderAlive(owner, { state: 'Z', startTime: '100' }))
  assert.not.ok(holderAlive(owner, { state: 'S', startTime: '555' }), 'pid reused by another process')
  assert.ok(holderAlive(owner, { state: 'S', startTime: '100' }))
  assert.ok(holderAlive({ pid: 7, startTime: null }, { state: 'R', startTime: '1' }), 'old lock files: a running pid counts')
})

test('the lock records pid and start time', () => withDir(async dir => {
  const release = await acquireStateLock(dir)
  try {
    const owner = parseLockFile(await readFile(join(dir, LOCK_FILE), 'utf8'))
    assert.equal(owner, { pid: process.pid, startTime: readProcStat(process.pid)?.startTime ?? null })
  } finally { await release() }
}))

test('a lock file naming a live pid of another process (pid reused) is taken over', () => withDir(async dir => {
  const init = readProcStat(1)
  await writeFile(join(dir, LOCK_FILE), `1 ${Number(init?.startTime ?? 0) + 12345}\n`)
  const release = await acquireStateLock(dir)
  await release()
}))

test('a live holder is refused; after its kill -9 the lock is taken at once, taken over even before the dead holder is reaped', () => withDir(async dir => {
  // A parent that never reaps its child keeps the killed holder a zombie, as a
  // busy supervisor or shell may: the pid still "exists" for kill(pid, 0).
  const holderScript = `import { acquireStateLock } from ${JSON.stringify(LOCK_MODULE)}; await acquireStateLock(${JSON.stringify(dir)}); process.stdout.write('locked\\n'); setInterval(() => {}, 1000)`
  const py = `import subprocess, sys, time
p = subprocess.Popen([sys.argv[1], '--import', 'tsx', '--input-type=module', '-e', sys.argv[2]])
print(p.pid, flush=True)
time.sleep(60)`
  const parent = spawn('python3', ['-c', py, process.execPath, holderScript], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    let out = ''
    parent.stdout.on('data', (c: Buffer) => { out += c.toString() })
    await until('holder started', () => /^\d+\n/.test(out))
    const holder = Number(out.trim().split('\n')[0])
    await until('holder took the lock', async () => parseLockFile(await readFile(join(dir, LOCK_FILE), 'utf8').catch(() => ''))?.pid === holder)
    const refused = await acquireStateLock(dir).then(() => null, (err: { code?: string }) => err)
    assert.is(refused?.code, ErrorCodes.ALREADY_RUNNING, 'a live holder is refused')
    process.kill(holder, 'SIGKILL')
    await until('holder dead (a zombie)', () => readProcStat(holder)?.state === 'Z')
    let alive = true
    try { process.kill(holder, 0) } catch { alive = false }
    assert.ok(alive, 'the zombie pid still answers kill(pid, 0): the old check saw a live daemon')
    const release = await acquireStateLock(dir).catch((err: { code?: string, message: string }) => {
      assert.unreachable(`refused right after kill -9: ${err.code === ErrorCodes.ALREADY_RUNNING ? err.message : String(err)}`)
    })
    await release?.()
  } finally { parent.kill('SIGKILL') }
}))

test.run()
