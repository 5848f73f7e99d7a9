/**
 * Measures the watcher assignment (src/mesh/watchers.ts): full recompute
 * time, largest load, and how many targets change watchers when one member
 * joins or leaves. Quoted in docs/scale.md §3.
 *
 *   node_modules/.bin/node --import tsx scripts/watchers-cost.ts [N…]
 */
import { DEFAULT_WATCHERS, assignWatchers, handOver } from '../src/mesh/watchers.ts'

function members (n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `12D3KooW${(from + i).toString(36).padStart(44, 'Q')}`)
}

function measure (n: number): void {
  const mesh = members(n)
  const started = performance.now()
  const a = assignWatchers(mesh)
  const ms = performance.now() - started
  const maxLoad = Math.max(...mesh.map(m => a.watchedBy(m).length))
  const samples = n >= 5_000 ? 2 : 10
  let joinChanged = 0
  let leaveChanged = 0
  let common = 0
  for (const m of members(samples, 10 * n)) {
    const h = handOver(a, assignWatchers([...mesh, m]))
    joinChanged += h.changedTargets
    common += h.commonTargets
  }
  for (const m of mesh.slice(0, samples)) leaveChanged += handOver(a, assignWatchers(mesh.filter(x => x !== m))).changedTargets
  console.log(`N=${n}: recompute ${ms.toFixed(0)} ms, max load ${maxLoad} (2K = ${2 * DEFAULT_WATCHERS}), ` +
    `changed on join ${(joinChanged / common).toFixed(4)}, on leave ${(leaveChanged / common).toFixed(4)} (K/N = ${(DEFAULT_WATCHERS / n).toFixed(4)})`)
}

const sizes = process.argv.slice(2).map(Number).filter(n => Number.isInteger(n) && n > 1)
for (const n of sizes.length > 0 ? sizes : [100, 1_000]) measure(n)
