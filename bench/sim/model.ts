/**
 * The cost model's "before" column (branch scale, scripts/cost-model.ts,
 * docs/scale.md §6): per-node bytes and messages in + out per second and
 * signature checks per second of today's protocol, to set beside what the
 * simulator measures. Read from the model itself once it is merged; until
 * then from the table docs/scale.md quotes (pinned below, same figures).
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface ModelRow { n: number, bytes: number, bytesOut: number, msgs: number, sigChecks: number, source: string }

/** docs/scale.md §6 "before" column (scale branch at the time of writing). */
const PINNED: Readonly<Record<number, Omit<ModelRow, 'n' | 'source'>>> = {
  10: { bytes: 81_160, bytesOut: 40_580, msgs: 86, sigChecks: 4.5 },
  100: { bytes: 4.6e6, bytesOut: 2.3e6, msgs: 857, sigChecks: 49.5 },
  1_000: { bytes: 38.3e6, bytesOut: 19.1e6, msgs: 8_630, sigChecks: 499.5 },
  10_000: { bytes: 1_188.8e6, bytesOut: 594.4e6, msgs: 86_333, sigChecks: 4_999.5 }
}

interface CostModule { costBefore: (n: number) => { bytes: number, outBytes: number, msgs: number, sigChecks: number } }

let loaded: CostModule | null | undefined

async function load (): Promise<CostModule | null> {
  if (loaded !== undefined) return loaded
  const path = fileURLToPath(new URL('../../scripts/cost-model.ts', import.meta.url))
  loaded = null
  if (existsSync(path)) {
    try { loaded = await import(path) as CostModule } catch { loaded = null }
  }
  return loaded
}

/** modelBefore: the model's figures at n (null when neither the model nor the pinned table has them). */
export async function modelBefore (n: number): Promise<ModelRow | null> {
  const m = await load()
  if (m !== null) {
    const c = m.costBefore(n)
    return { n, bytes: c.bytes, bytesOut: c.outBytes, msgs: c.msgs, sigChecks: c.sigChecks, source: 'scripts/cost-model.ts costBefore' }
  }
  const p = PINNED[n]
  return p === undefined ? null : { n, ...p, source: 'docs/scale.md §6 (pinned)' }
}
