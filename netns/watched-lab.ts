/**
 * The teardown the fault and routing tests share: print why a daemon died
 * (if one did), stop the watchers (pair probes, invariant monitor), then
 * destroy the lab — always, even when a stop fails.
 */
import type { MeshLab } from './mesh.ts'

export interface Stoppable { stop: () => Promise<unknown> }

export async function closeWatchedLab (m: MeshLab, watchers: ReadonlyArray<Stoppable | undefined>, beforeDestroy?: () => Promise<void>): Promise<void> {
  try {
    for (const e of m.unexpectedExits()) console.error(`\n${e}`)
    for (const w of watchers) await w?.stop()
    await beforeDestroy?.()
  } finally {
    await m.destroy()
  }
}
