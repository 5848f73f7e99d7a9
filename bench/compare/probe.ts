/**
 * Family-agnostic probes for the comparison (Nebula's overlay is IPv4, the others IPv6):
 * ping-until-first-reply, the `ping -i 0.05 -D -O` stream of bench/ping-stream.ts, and iperf3.
 */
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Lab, LabProcess } from '../../netns/lab.ts'
import { nowMs } from '../timing.ts'

export { pingUntil } from '../timing.ts'

const REPLY = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+) .*time=([\d.]+) ms/

/** A background `ping -i 0.05 -W 1 -O -D` whose replies carry their send time (receive − rtt). */
export class Stream {
  private readonly lab: Lab
  private readonly proc: LabProcess

  constructor (lab: Lab, host: number, address: string, name: string) {
    this.lab = lab
    this.proc = lab.spawn(host, 'ping', ['-n', '-i', '0.05', '-W', '1', '-O', '-D', address], { logFile: `${name}.log` })
  }

  /** Send time (epoch ms) and receive time of every answered echo so far. */
  replies (): Array<{ sentMs: number, receivedMs: number }> {
    let text = ''
    try { text = readFileSync(this.proc.logFile, 'utf8') } catch { return [] }
    const out: Array<{ sentMs: number, receivedMs: number }> = []
    for (const line of text.split('\n')) {
      const m = REPLY.exec(line)
      if (m === null) continue
      const receivedMs = Number(m[1]) * 1000
      out.push({ receivedMs, sentMs: receivedMs - Number(m[3]) })
    }
    return out
  }

  /** Receive time of the first reply to an echo sent after `sentAfterMs`, or null at the deadline. */
  async firstReplySentAfter (sentAfterMs: number, deadlineMs: number): Promise<number | null> {
    for (;;) {
      const r = this.replies().find(x => x.sentMs > sentAfterMs)
      if (r !== undefined) return r.receivedMs
      if (nowMs() > deadlineMs || !this.proc.running) return null
      await sleep(50)
    }
  }

  async stop (): Promise<void> {
    await this.lab.kill(this.proc.host, this.proc, 'SIGTERM', 2000)
  }
}

/** iperf3 TCP from host `from` to host `to`'s overlay address for `seconds`; Mbit/s received, or null. */
export async function iperf (lab: Lab, from: number, to: number, address: string, seconds: number): Promise<{ mbps: number | null, error?: string }> {
  const server = lab.spawn(to, 'iperf3', ['-s', '-1', '-p', '5201'], { logFile: `iperf3-server-h${to}-${Math.round(nowMs())}.log` })
  try {
    let last = ''
    for (let attempt = 0; attempt < 10; attempt++) {
      await sleep(300)
      const r = await lab.exec(from, 'iperf3', ['-c', address, '-p', '5201', '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 })
      try {
        const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } }, error?: string }
        const bps = j.end?.sum_received?.bits_per_second
        if (typeof bps === 'number' && bps > 0) return { mbps: bps / 1e6 }
        last = j.error ?? 'no sum_received'
      } catch { last = (r.stderr || r.stdout).trim().slice(0, 200) }
      if (!/connect|refused|unable/i.test(last)) break
    }
    return { mbps: null, error: `iperf3 ${from}→${to}: ${last}` }
  } finally {
    await lab.kill(to, server, 'SIGKILL', 2000)
  }
}
