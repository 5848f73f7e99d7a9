/**
 * A long-running `ping -6 -i 0.05 -W 1 -O -D` inside a lab host, its output in a log file. With
 * -D every reply line carries the receive time and with `time=` its round trip, so the send
 * time of each answered echo is known: a reply to an echo sent after a fault was in place proves
 * the path works again.
 */
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Lab, LabProcess } from '../netns/lab.ts'
import { nowMs } from './timing.ts'

export interface Reply { seq: number, receivedMs: number, sentMs: number }

const REPLY = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+) .*time=([\d.]+) ms/

export class PingStream {
  private readonly lab: Lab
  private readonly proc: LabProcess

  private constructor (lab: Lab, proc: LabProcess) {
    this.lab = lab
    this.proc = proc
  }

  static start (lab: Lab, host: number, address: string, name: string): PingStream {
    const proc = lab.spawn(host, 'ping', ['-6', '-n', '-i', '0.05', '-W', '1', '-O', '-D', address], { logFile: `${name}.log` })
    return new PingStream(lab, proc)
  }

  replies (): Reply[] {
    let text = ''
    try { text = readFileSync(this.proc.logFile, 'utf8') } catch { return [] }
    const out: Reply[] = []
    for (const line of text.split('\n')) {
      const m = REPLY.exec(line)
      if (m === null) continue
      const receivedMs = Number(m[1]) * 1000
      out.push({ seq: Number(m[2]), receivedMs, sentMs: receivedMs - Number(m[3]) })
    }
    return out
  }

  /** The first reply to an echo sent after `sentAfterMs`, waiting until `deadlineMs`; null if none. */
  async firstReplySentAfter (sentAfterMs: number, deadlineMs: number): Promise<Reply | null> {
    for (;;) {
      const r = this.replies().find(x => x.sentMs > sentAfterMs)
      if (r !== undefined) return r
      if (nowMs() > deadlineMs || !this.proc.running) return null
      await sleep(50)
    }
  }

  async stop (): Promise<void> {
    await this.lab.kill(this.proc.host, this.proc, 'SIGTERM', 2000)
  }
}
