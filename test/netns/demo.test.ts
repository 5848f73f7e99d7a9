/**
 * The README's main command must keep working: run the demo (scripts/demo.ts, not demo.sh, so
 * setup is skipped) on 4 hosts without pauses, and check it told the whole story and left
 * nothing behind.
 */
import { spawn, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const TOTAL_STEPS = 10
/** 4 daemons on a loaded 2-core machine: each wait in the demo may take up to 60 s. */
const DEMO_TIMEOUT_MS = 8 * 60_000

interface Run { code: number | null, output: string }

/** Runs the demo to completion, collecting stdout+stderr; SIGTERM (the demo cleans up) if it hangs. */
function runDemo (args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
      cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (b: Buffer) => { output += b.toString() })
    child.stderr.on('data', (b: Buffer) => { output += b.toString() })
    const timer = setTimeout(() => { child.kill('SIGTERM') }, DEMO_TIMEOUT_MS)
    child.once('error', err => { clearTimeout(timer); reject(err) })
    child.once('close', code => { clearTimeout(timer); resolve({ code, output }) })
  })
}

let run: Run

test.before(async () => { run = await runDemo(['--fast', '--hosts', '4']) })

test('the demo exits 0', () => {
  assert.is(run.code, 0, `demo output:\n${run.output}`)
})

test('every step is announced with its banner', () => {
  for (let n = 1; n <= TOTAL_STEPS; n++) {
    assert.ok(run.output.includes(`==> step ${n}/${TOTAL_STEPS}: `), `banner of step ${n} missing`)
  }
})

test('the output shows the relay after the cut and direct routes', () => {
  assert.match(run.output, /\brelay\b/)
  assert.match(run.output, /\bdirect\b/)
  assert.match(run.output, /now reaches host 4 through host \d/)
})

test('no namespace, daemon or state dir of the demo lab remains', () => {
  const id = /lab id: (gm[0-9a-z]{1,6})/.exec(run.output)?.[1]
  assert.ok(id !== undefined, 'the demo prints its lab id')
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n').map(l => l.split(' ')[0] ?? '').filter(ns => ns.startsWith(`${id}-`))
  assert.equal(namespaces, [], `namespaces left: ${namespaces.join(' ')}`)
  // Daemons carry the lab's state dir in their argv; pgrep exits 1 when nothing matches.
  let daemons = ''
  try { daemons = execFileSync('pgrep', ['-f', `gridmesh-lab/${id}/`], { encoding: 'utf8' }) } catch { daemons = '' }
  assert.is(daemons.trim(), '', 'no process of the lab is left')
  const labRoot = process.env['GRIDMESH_LAB_ROOT'] ?? '/tmp/gridmesh-lab'
  // KEEP_LAB=1 keeps the directory (logs) on purpose; namespaces and processes still go.
  if (process.env['KEEP_LAB'] !== '1') assert.not.ok(existsSync(`${labRoot}/${id}`), 'the lab state dir is removed')
})

test.run()
