/**
 * `--scale`: the largest gridmesh mesh of real daemons this machine sustains. Tries each N in
 * turn (fresh lab each), stopping after the first N that does not converge within 120 s
 * (every host pings the next, then every ordered pair is checked and late pairs polled).
 */
import { createLab } from '../../netns/lab.ts'
import { elapsedS, latest, nowMs } from '../timing.ts'
import { gridmesh } from './gridmesh.ts'
import { pingUntil } from './probe.ts'

const TIMEOUT_MS = 120_000

export interface ScaleRep { n: number, convergenceS: number | null, pairFailures: number, errors: string[] }

/** Converges gridmesh at each N (ascending) until one fails. */
export async function measureScale (ns: readonly number[], log: (s: string) => void): Promise<ScaleRep[]> {
  const out: ScaleRep[] = []
  for (const n of ns) {
    const rep: ScaleRep = { n, convergenceS: null, pairFailures: 0, errors: [] }
    out.push(rep)
    log(`scale: gridmesh N=${n}`)
    const lab = await createLab({ hosts: n })
    try {
      const sys = gridmesh()
      await sys.setup(lab, n)
      const hosts = Array.from({ length: n }, (_, k) => k + 1)
      const t0 = nowMs()
      const deadline = t0 + TIMEOUT_MS
      await Promise.all(hosts.map(i => sys.start(i)))
      const addrs = await Promise.all(hosts.map(i => sys.overlayAddress(i, deadline)))
      // Fast poll: every host pings the next; then every ordered pair once.
      const times = await Promise.all(hosts.map(i => pingUntil(lab, i, addrs[i % n] ?? '', deadline)))
      const ring = latest(times)
      if (ring !== null) {
        // Every ordered pair once; pairs not answering yet are polled until the deadline.
        const all = hosts.flatMap(i => hosts.filter(j => j !== i).map(j => [i, j] as const))
        const checks = await Promise.all(all.map(([i, j]) => lab.ping(i, addrs[j - 1] ?? '', { count: 2, timeoutS: 2 })))
        const late = all.filter((_, x) => checks[x] !== true)
        const lateTimes = await Promise.all(late.map(([i, j]) => pingUntil(lab, i, addrs[j - 1] ?? '', deadline)))
        rep.pairFailures = lateTimes.filter(t => t === null).length
        if (rep.pairFailures > 0) rep.errors.push(`${rep.pairFailures} ordered pairs never answered`)
        else rep.convergenceS = elapsedS(t0, latest([ring, ...lateTimes]))
      }
      if (rep.convergenceS === null && rep.pairFailures === 0) rep.errors.push(`not converged in ${TIMEOUT_MS / 1000} s`)
    } catch (err) {
      rep.errors.push(err instanceof Error ? err.message : String(err))
    } finally {
      await lab.destroy()
    }
    log(`scale: N=${n}: ${rep.convergenceS?.toFixed(1) ?? 'FAIL'} s ${rep.errors.join('; ')}`)
    if (rep.convergenceS === null) break
  }
  return out
}
