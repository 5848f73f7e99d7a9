/** Reading a daemon's JSON log lines (pino) from its lab log file. */
import { readFileSync, statSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { nowMs } from './timing.ts'

export interface ReadyLine { readyMs: number, address: string }

/** Size of a log file now, so a restarted daemon's lines can be read from there on. */
export function logSize (file: string): number {
  try { return statSync(file).size } catch { return 0 }
}

function lines (file: string, offset: number): unknown[] {
  let text: string
  try { text = readFileSync(file).subarray(offset).toString('utf8') } catch { return [] }
  const out: unknown[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try { out.push(JSON.parse(line)) } catch { /* a partial last line */ }
  }
  return out
}

/** The first `interface ready` line after `offset`, if logged yet. */
export function readyLine (file: string, offset = 0): ReadyLine | null {
  for (const l of lines(file, offset)) {
    const o = l as { msg?: unknown, readyMs?: unknown, address?: unknown }
    if (o.msg === 'interface ready' && typeof o.readyMs === 'number' && typeof o.address === 'string') {
      return { readyMs: o.readyMs, address: o.address }
    }
  }
  return null
}

/** Waits (polling the file) for the `interface ready` line; null at the deadline. */
export async function waitReadyLine (file: string, deadlineMs: number, offset = 0): Promise<ReadyLine | null> {
  for (;;) {
    const r = readyLine(file, offset)
    if (r !== null) return r
    if (nowMs() > deadlineMs) return null
    await sleep(50)
  }
}
