/**
 * Pings for the demo: a short foreground ping whose summary is shown, and a background ping that
 * runs through a fault, so the viewer sees how long traffic really stopped (not just how long the
 * control plane took to notice).
 */
import { readFileSync } from 'node:fs'
import type { Lab, LabProcess } from '../../netns/lab.ts'

/** Seconds between echo requests of the background ping: fine enough to measure a gap. */
export const PING_INTERVAL_S = 0.2

/** What a ping run amounted to. */
export interface PingSummary {
  transmitted: number
  received: number
  /** Requests between the first and the last reply that got no answer. */
  missing: number
  /** Longest run of unanswered requests between two replies, in ms (run length × interval). */
  longestGapMs: number
  /** ping's own statistics lines, verbatim. */
  statsLines: string[]
}

/** Runs `ping -c count` from host `from` to `address`; returns ping's output and whether any reply came. */
export async function pingOnce (lab: Lab, from: number, address: string, count = 5): Promise<{ ok: boolean, output: string }> {
  const r = await lab.exec(from, 'ping', ['-6', '-n', '-c', String(count), '-i', '0.2', '-W', '2', address], { timeoutMs: 30_000 })
  return { ok: r.code === 0, output: (r.stdout + r.stderr).trim() }
}

/** Only ping's closing statistics (the "--- x ping statistics ---" block). */
export function statsOf (output: string): string {
  const lines = output.split('\n')
  const at = lines.findIndex(l => l.startsWith('---'))
  return (at < 0 ? lines.slice(-2) : lines.slice(at)).join('\n')
}

/** Starts an endless ping in host `from`; stop it with {@link stopBackgroundPing}. */
export function startBackgroundPing (lab: Lab, from: number, address: string, logFile: string): LabProcess {
  return lab.spawn(from, 'ping', ['-6', '-n', '-O', '-i', String(PING_INTERVAL_S), address], { logFile })
}

/** Replies the background ping has logged so far. */
export function repliesSoFar (proc: LabProcess): number {
  try {
    return [...readFileSync(proc.logFile, 'utf8').matchAll(/bytes from /g)].length
  } catch {
    return 0 // not written yet
  }
}

/** Stops the background ping (SIGINT, so it prints its statistics) and summarises its log. */
export async function stopBackgroundPing (lab: Lab, proc: LabProcess): Promise<PingSummary> {
  await lab.kill(proc.host, proc, 'SIGINT', 5000)
  return summarise(readFileSync(proc.logFile, 'utf8'))
}

/** Parses ping output: replies by sequence number, and the statistics block. */
export function summarise (output: string): PingSummary {
  const seqs = [...output.matchAll(/bytes from .*icmp_seq=(\d+)/g)].map(m => Number(m[1])).sort((a, b) => a - b)
  const stats = /(\d+) packets transmitted, (\d+) received/.exec(output)
  // Only gaps between replies count: requests still in flight when ping was stopped are not lost.
  let longest = 0
  let missing = 0
  for (let k = 1; k < seqs.length; k++) {
    const run = (seqs[k] ?? 0) - (seqs[k - 1] ?? 0) - 1
    missing += Math.max(0, run)
    longest = Math.max(longest, run)
  }
  return {
    transmitted: Number(stats?.[1] ?? 0),
    received: Number(stats?.[2] ?? seqs.length),
    missing,
    longestGapMs: Math.round(longest * PING_INTERVAL_S * 1000),
    statsLines: statsOf(output).split('\n').filter(l => l.trim() !== '')
  }
}
