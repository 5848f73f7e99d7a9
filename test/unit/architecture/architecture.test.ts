/**
 * The shape of the code, checked statically (issue 12):
 *  - the protocol core imports no I/O module (libp2p, sockets, files,
 *    processes) and never reads the wall clock: time is injected;
 *  - no source file over 300 lines, no function over 80 (a short, explicit
 *    list of files not restructured yet may not grow past today's size);
 *  - no import cycle among the source files.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileFact, resolveLocal, ROOT, sourceFiles, type FileFact } from './source-facts.ts'

/** The protocol core: decisions and state machines, plus the in-memory fakes the simulator runs them on. */
const CORE_DIRS = ['src/routing/', 'src/time/clock.ts', 'src/time/fake.ts']
const CORE_FILES = [
  'src/mesh/allocation.ts', 'src/mesh/liveness.ts', 'src/mesh/member-table.ts', 'src/mesh/member-discovery.ts',
  'src/mesh/membership.ts', 'src/mesh/membership-api.ts', 'src/mesh/memory-network.ts', 'src/mesh/messages.ts',
  'src/mesh/node-state.ts', 'src/mesh/own-endpoints.ts', 'src/mesh/own-record.ts', 'src/mesh/transport.ts',
  'src/mesh/watchers.ts', 'src/mesh/verdict.ts', 'src/mesh/verdict-messages.ts', 'src/mesh/announce-policy.ts',
  'src/net/ip-literal.ts',
  'src/daemon/mesh-services.ts', 'src/daemon/mesh-ports.ts', 'src/daemon/node-views.ts', 'src/daemon/reconcile-loop.ts',
  'src/daemon/reconciler.ts', 'src/daemon/undo-stack.ts', 'src/daemon/own-record-source.ts'
]
const IO_MODULE = /^(?:@libp2p\/|libp2p$|@multiformats\/|@chainsafe\/libp2p|(?:node:)?(?:dgram|net|fs|fs\/promises|child_process)$)/
const WALL_CLOCK = /\bDate\.now\b|\bnew Date\(\s*\)|\bperformance\.now\b|\bprocess\.hrtime\b/

/** Files not restructured yet (owned elsewhere): they may not grow past these sizes. */
const SIZE_DEBT: Record<string, { lines?: number, functions?: Record<string, number> }> = {
  // revocations.ts grew by 7 lines when its DHT half (awaitLookups) was split from admitMember.
  'src/daemon/revocations.ts': { lines: 313, functions: { createRevocations: 199 } },
  'src/wireguard/device.ts': { functions: { createWireGuardDriver: 172 } }
}

const facts = new Map(sourceFiles().map(p => [p, fileFact(p)]))
const core = [...facts.keys()].filter(p => CORE_DIRS.some(d => p.startsWith(d)) || CORE_FILES.includes(p))

/** code without comments and string contents, so a comment that names Date.now does not count. */
function codeOf (f: FileFact): string {
  return f.text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
}

test('every listed core file exists (a renamed file must be renamed here too)', () => {
  for (const p of CORE_FILES) assert.ok(existsSync(join(ROOT, p)), p)
  assert.ok(core.length >= CORE_FILES.length + 10, 'the core folders were found')
})

test('the protocol core imports no I/O module', () => {
  const bad = core.flatMap(p => (facts.get(p)?.imports ?? []).filter(i => IO_MODULE.test(i.spec)).map(i => `${p} imports ${i.spec}`))
  assert.equal(bad, [])
})

test('the protocol core never reads the wall clock (time is injected)', () => {
  const bad = core.filter(p => WALL_CLOCK.test(codeOf(facts.get(p) as FileFact)))
  assert.equal(bad, [])
})

test('the checks catch what they are for', () => {
  assert.ok(IO_MODULE.test('node:dgram') && IO_MODULE.test('@libp2p/kad-dht') && IO_MODULE.test('libp2p') && IO_MODULE.test('fs/promises'))
  assert.not.ok(IO_MODULE.test('zod') || IO_MODULE.test('./transport.ts') || IO_MODULE.test('node:path'))
  const probe = (text: string): boolean => WALL_CLOCK.test(codeOf({ path: 'x', lines: 1, imports: [], functions: [], text }))
  assert.ok(probe('const t = Date.now()') && probe('x = new Date()') && probe('performance.now()') && probe('{ now: Date.now }'))
  assert.not.ok(probe('// Date.now is not read') || probe('new Date(expiresAt).toISOString()') || probe("log('Date.now')"))
})

test('every threat, invariant and test ID cited in src/ is defined in docs/threats-and-invariants.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/threats-and-invariants.md'), 'utf8')
  const cited = new Set([...facts.values()].flatMap(f => [...f.text.matchAll(/\b([TISR]\d{1,2})\b/g)].map(m => m[1] as string)))
  assert.ok(cited.size > 3, 'citations found')
  assert.equal([...cited].filter(id => !doc.includes(`| ${id} |`)).sort(), [])
})

test('no source file over 300 lines', () => {
  const bad = [...facts.values()].filter(f => f.lines > (SIZE_DEBT[f.path]?.lines ?? 300)).map(f => `${f.path}: ${f.lines}`)
  assert.equal(bad, [])
})

test('no function over 80 lines', () => {
  const bad = [...facts.values()].flatMap(f => f.functions
    .filter(fn => fn.lines > (SIZE_DEBT[f.path]?.functions?.[fn.name] ?? 80))
    .map(fn => `${f.path}:${fn.line} ${fn.name}: ${fn.lines}`))
  assert.equal(bad, [])
})

/** cyclesOf returns the strongly connected components with a cycle (Tarjan). */
function cyclesOf (edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  const visit = (v: string): void => {
    idx.set(v, index); low.set(v, index); index++
    stack.push(v); onStack.add(v)
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0)) } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0))
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = []
      for (let w = stack.pop(); w !== undefined; w = stack.pop()) { onStack.delete(w); scc.push(w); if (w === v) break }
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(scc.sort())
    }
  }
  for (const v of edges.keys()) if (!idx.has(v)) visit(v)
  return cycles
}

const fileEdges = new Map([...facts.values()].map(f => [f.path,
  f.imports.map(i => resolveLocal(f.path, i.spec)).filter((p): p is string => p !== null && facts.has(p))]))

test('no import cycle among the source files', () => {
  assert.equal(cyclesOf(fileEdges), [])
})

test('no cycle among the src/ folders (the layers stand on each other)', () => {
  const folder = (p: string): string => p.split('/').slice(0, 2).join('/')
  const edges = new Map<string, string[]>()
  for (const [from, tos] of fileEdges) {
    const list = edges.get(folder(from)) ?? []
    for (const to of tos) if (folder(to) !== folder(from) && !list.includes(folder(to))) list.push(folder(to))
    edges.set(folder(from), list)
  }
  assert.equal(cyclesOf(edges), [])
})

test('the cycle check finds cycles', () => {
  assert.equal(cyclesOf(new Map([['a', ['b']], ['b', ['a']], ['c', ['a']]])), [['a', 'b']])
})

test.run()
