/** Timing how fast survivors drop a departed node's WireGuard peer. */
import type { MeshLab } from '../netns/mesh.ts'
import { IFACE } from '../netns/mesh.ts'
import { latest, pollUntil } from './timing.ts'

async function hasPeer (m: MeshLab, i: number, publicKey: string): Promise<boolean> {
  const out = await m.lab.run(i, 'wg', ['show', IFACE, 'peers'], { timeoutMs: 5000 })
  return out.split('\n').some(l => l.trim() === publicKey)
}

/**
 * Polls every survivor's `wg show` in parallel until none lists `publicKey`; resolves with the
 * epoch ms at which the last survivor dropped it (null on timeout) and the per-survivor times.
 */
export async function waitPurged (m: MeshLab, survivors: readonly number[], publicKey: string, deadlineMs: number): Promise<{ at: number | null, perHost: Array<number | null> }> {
  const perHost = await Promise.all(survivors.map(i => pollUntil(async () => !(await hasPeer(m, i, publicKey)), deadlineMs, 100)))
  return { at: latest(perHost), perHost }
}
