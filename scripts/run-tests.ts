/**
 * Runs uvu test files, one Node process per file, and prints the one summary
 * line CI counts: `N passed, N failed, N skipped`. uvu's own summary is not
 * recognised by CI, so we read it per file and add it up here.
 *
 * Usage: run-tests.ts [unit|netns|all] [--filter SUBSTR]
 * A file that exits non-zero without a uvu summary counts as one failure, so a
 * crash can never pass silently. Exit status is non-zero on any failure.
 *
 * Test files run with TMPDIR set to a fresh directory of this run: a test
 * that leaves a `gm-*` temporary directory behind fails the run (and the
 * directory is removed anyway), so leftovers cannot pile up unnoticed.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

const ROOT = new URL('..', import.meta.url).pathname
const suite = process.argv[2] ?? 'unit'
const filterIdx = process.argv.indexOf('--filter')
const filter = filterIdx > 0 ? process.argv[filterIdx + 1] ?? '' : ''

function listTests (dir: string): string[] {
  let out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out = out.concat(listTests(p))
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

const dirs = suite === 'all' ? ['unit', 'netns'] : [suite]
const files = dirs.flatMap(d => listTests(join(ROOT, 'test', d))).filter(f => f.includes(filter))

interface Counts { passed: number, failed: number, skipped: number }

const RUN_TMP = mkdtempSync(join(tmpdir(), 'gridmesh-tests-'))

/** leftovers lists the gm-* entries a test file left in the run's TMPDIR, and removes them. */
function leftovers (): string[] {
  const names = readdirSync(RUN_TMP).filter(n => n.startsWith('gm-'))
  for (const n of names) rmSync(join(RUN_TMP, n), { recursive: true, force: true })
  return names
}

function runFile (file: string): Promise<Counts & { output: string, code: number }> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', TMPDIR: RUN_TMP }, stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (b: Buffer) => { output += b.toString(); process.stdout.write(b) })
    child.stderr.on('data', (b: Buffer) => { output += b.toString(); process.stderr.write(b) })
    child.on('close', code => {
      const plain = output.replace(/\x1b\[[0-9;]*m/g, '')
      const num = (label: string): number | null => {
        const m = new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain)
        return m ? Number(m[1]) : null
      }
      const total = num('Total'); const passed = num('Passed'); const skipped = num('Skipped') ?? 0
      if (total === null || passed === null) {
        resolve({ passed: 0, failed: 1, skipped: 0, output, code: code ?? 1 })
        return
      }
      const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1)
      resolve({ passed, failed, skipped, output, code: code ?? 1 })
    })
  })
}

const totals: Counts = { passed: 0, failed: 0, skipped: 0 }
const failedFiles: string[] = []
for (const file of files) {
  const rel = relative(ROOT, file)
  process.stdout.write(`\n=== ${rel}\n`)
  const r = await runFile(file)
  const left = leftovers()
  if (left.length > 0) {
    process.stdout.write(`\n${rel} left temporary directories behind: ${left.join(', ')}; remove them in a finally / test.after\n`)
    r.failed++
  }
  totals.passed += r.passed; totals.failed += r.failed; totals.skipped += r.skipped
  if (r.failed > 0) failedFiles.push(rel)
}
rmSync(RUN_TMP, { recursive: true, force: true })
if (failedFiles.length > 0) process.stdout.write(`\nfailing files:\n${failedFiles.map(f => `  ${f}`).join('\n')}\n`)
process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`)
process.exit(totals.failed > 0 || files.length === 0 ? 1 : 0)
