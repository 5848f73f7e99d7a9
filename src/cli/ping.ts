/**
 * `gridmesh ping PEER`: pings a member's overlay address with the system
 * `ping` and says which path the node uses to reach it (direct, or relayed
 * via whom, from the daemon's routes), then the RTT of each probe and the loss.
 * Exit 0 when any reply came back, 1 otherwise.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Command } from 'commander'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { addInspectOptions, call, printJson, type InspectOptions } from './common.ts'
import { shortPeerId } from '../admin/peer-ref.ts'
import { describePath, describeSummary, parseReply, pathOf, probesOf, resolvePeer, summarize, type Probe } from './ping-core.ts'

interface PingOptions extends InspectOptions { count: string, timeout: string }

function positive (value: string, flag: string, max: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > max) throw new GridmeshError(ErrorCodes.USAGE, `${flag} must be a whole number 1-${max}, got "${value}"`)
  return n
}

/** runPing runs `ping -6` and calls onProbe per reply; resolves with the replies. */
function runPing (address: string, count: number, timeoutS: number, onProbe: (p: Probe) => void): Promise<Probe[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('ping', ['-6', '-n', '-O', '-c', String(count), '-W', String(timeoutS), '-i', '0.5', address], { stdio: ['ignore', 'pipe', 'pipe'] })
    const replies: Probe[] = []
    let stderr = ''
    createInterface({ input: child.stdout }).on('line', line => {
      const p = parseReply(line)
      if (p !== null) { replies.push(p); onProbe(p) }
    })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8') })
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT'
        ? new GridmeshError(ErrorCodes.MISSING_TOOL, '`ping` is not installed; install the Debian package iputils-ping')
        : new GridmeshError(ErrorCodes.DRIVER_FAILED, `cannot run ping: ${err.message}`))
    })
    child.on('close', code => {
      if (code === 0 || code === 1) resolve(replies)
      else reject(new GridmeshError(ErrorCodes.DRIVER_FAILED, `ping failed (exit ${String(code)}): ${stderr.trim().split('\n')[0] ?? ''}`))
    })
  })
}

export function registerPing (program: Command): void {
  addInspectOptions(program.command('ping')
    .description('ping a member over the mesh and show the path taken (direct or via whom), RTT per probe and loss')
    .argument('<peer>', 'PeerId, its short form 12D3KooW…abcdef, a unique end of it, its /64 or an overlay address in it')
    .option('-c, --count <n>', 'probes to send', '4')
    .option('--timeout <s>', 'seconds to wait for each reply', '2'))
    .action(async (target: string, opts: PingOptions) => {
      const count = positive(opts.count, '--count', 1000)
      const timeoutS = positive(opts.timeout, '--timeout', 60)
      const [peers, routes] = await Promise.all([call(opts, 'GET /v1/peers'), call(opts, 'GET /v1/routes')])
      const peer = resolvePeer(target, peers)
      const path = pathOf(peer, routes)
      const json = opts.json === true
      if (!json) process.stdout.write(`PING ${shortPeerId(peer.peerId)} (${peer.address}): path ${describePath(path)}\n`)
      const shown = new Set<number>()
      const show = (p: Probe): void => {
        if (json || shown.has(p.seq)) return
        shown.add(p.seq)
        process.stdout.write(p.rttMs === null ? `no reply: seq=${p.seq}\n` : `reply from ${peer.address}: seq=${p.seq} time=${p.rttMs} ms\n`)
      }
      const probes = probesOf(await runPing(peer.address, count, timeoutS, show), count)
      const summary = summarize(probes)
      if (json) printJson({ peerId: peer.peerId, address: peer.address, path, probes, ...summary })
      else {
        for (const p of probes) show(p)
        process.stdout.write(`--- ${describeSummary(summary)}\n`)
      }
      if (summary.received === 0) process.exitCode = 1
    })
}
