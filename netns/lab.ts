/**
 * The lab from TypeScript: N hosts in network namespaces on bridged underlay segments, with
 * faults (cut, loss) and teardown. Topology and faults are done by `netns/lab.sh` (one source of
 * truth, also used by humans and the demo); commands and daemons enter a host directly through
 * its keeper with nsenter (see process.ts), which is faster than a shell round trip.
 *
 *   const lab = await createLab({ hosts: 3 })
 *   try {
 *     const d = lab.spawn(1, 'bin/gridmesh', ['up', '--mesh', 'm'], { logFile: 'h1.log' })
 *     await waitFor(() => lab.ping6(2, lab.hosts[1]!.ipv6), { what: 'h2 reaches h1' })
 *     await lab.cut(1, 2)
 *     await lab.kill(1, d, 'SIGTERM')
 *   } finally { await lab.destroy() }
 */
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { basename, isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { registerLab, unregisterLab } from './cleanup.ts'
import type { SyncDestroyable } from './cleanup.ts'
import { execIn, spawnIn } from './process.ts'
import type { ExecOptions, ExecResult, LabProcess, SpawnOptions } from './process.ts'

export type { ExecOptions, ExecResult, LabProcess, SpawnOptions } from './process.ts'
export { waitFor } from './wait.ts'
export type { WaitOptions } from './wait.ts'

const run = promisify(execFile)

/** Path of the bash CLI, for tests that want to show a human the equivalent command. */
export const LAB_SH = fileURLToPath(new URL('./lab.sh', import.meta.url))
const LAB_ROOT = process.env['GRIDMESH_LAB_ROOT'] ?? '/tmp/gridmesh-lab'

/** One underlay interface of a host. */
export interface LabLink {
  /** 0-based segment (bridge) index. */
  segment: number
  /** eth0, eth1, ... in the order of the host's segments. */
  iface: string
  ipv4: string
  ipv6: string
}

/** A host (1-based index). `ipv4`/`ipv6` are its primary (eth0) addresses; `*b` its second link. */
export interface LabHost {
  index: number
  ns: string
  keeperPid: number
  ipv4: string
  ipv6: string
  ipv4b?: string
  ipv6b?: string
  links: LabLink[]
}

/** Options for {@link createLab}. */
export interface LabOptions {
  /** Number of hosts, 1..250. */
  hosts: number
  /**
   * Hosts per segment, e.g. `[[1, 2, 3], [3, 4, 5]]`: host 3 is on both bridges, the others on one.
   * Default: every host on one segment. Segment s uses 10.<77+s>.0.0/24 and fd<77+s>:<77+s>::/64.
   */
  segments?: number[][]
}

/** Options for {@link Lab.ping} and {@link Lab.ping6}. */
export interface PingOptions {
  /** Echo requests to send (default 1); success means at least one reply. */
  count?: number
  /** Seconds to wait for each reply (default 1). */
  timeoutS?: number
}

/** A running lab. Always `destroy()` it (in `finally`); an exit hook is the safety net. */
export interface Lab {
  readonly id: string
  /** Host i is `hosts[i]` (1-based). */
  readonly hosts: Readonly<Record<number, LabHost>>
  /** The hosts in index order, for iteration. */
  readonly hostList: readonly LabHost[]
  /** Per-lab directory (state, logs); removed by destroy unless KEEP_LAB=1. */
  readonly dir: string
  readonly logDir: string
  /** Host i, or a thrown Error if there is none. */
  host (i: number): LabHost
  /** Runs a command in host i (its netns and its private /run/wireguard) and collects output. */
  exec (i: number, cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>
  /** Like exec, but throws (with stderr) unless the exit code is 0; returns stdout. */
  run (i: number, cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<string>
  /** Starts a long-running process in host i; output goes to a log file under logDir. */
  spawn (i: number, cmd: string, args?: readonly string[], opts?: SpawnOptions): LabProcess
  /** Signals a process (default SIGTERM) and waits for it; SIGKILL after timeoutMs. Resolves with its exit code. */
  kill (i: number, proc: LabProcess, signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
  /** Drops all traffic (both families, every interface) between hosts i and j. */
  cut (i: number, j: number): Promise<void>
  /** Undoes exactly cut(i, j). */
  heal (i: number, j: number): Promise<void>
  /** Cuts every pair across the two groups; resolves with the function that heals them. */
  partition (a: readonly number[], b: readonly number[]): Promise<() => Promise<void>>
  /** Drops `percent` % of packets arriving on host i's underlay interfaces; 0 removes the rule. */
  loss (i: number, percent: number): Promise<void>
  /** Pings (IPv4 or IPv6, by the address) from host i; true if any reply came back. */
  ping (i: number, address: string, opts?: PingOptions): Promise<boolean>
  /** IPv6 ping from host i; true if any reply came back. */
  ping6 (i: number, address: string, opts?: PingOptions): Promise<boolean>
  /** Kills every process of the lab and deletes its namespaces. Idempotent. */
  destroy (): Promise<void>
}

async function labSh (args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run('bash', [LAB_SH, ...args], { env: { ...process.env, GRIDMESH_LAB_ROOT: LAB_ROOT } })
    return stdout
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? ''
    throw new Error(`lab.sh ${args.join(' ')} failed: ${stderr.trim() || String(err)}`)
  }
}

/** Parses `lab.sh hosts` lines: "<i> <ns> <keeper> <iface> <segment> <ipv4> <ipv6>". */
function parseHosts (text: string): LabHost[] {
  const byIndex = new Map<number, LabHost>()
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length !== 7) continue
    const [i, ns, keeper, iface, seg, ipv4, ipv6] = f as [string, string, string, string, string, string, string]
    const link: LabLink = { segment: Number(seg), iface, ipv4, ipv6 }
    const host = byIndex.get(Number(i))
    if (host === undefined) {
      byIndex.set(Number(i), { index: Number(i), ns, keeperPid: Number(keeper), ipv4, ipv6, links: [link] })
    } else {
      host.links.push(link)
      if (host.links.length === 2) { host.ipv4b = ipv4; host.ipv6b = ipv6 }
    }
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index)
}

class LabImpl implements Lab, SyncDestroyable {
  readonly hosts: Record<number, LabHost> = {}
  readonly dir: string
  readonly logDir: string
  private readonly procs = new Set<LabProcess>()
  private destroying: Promise<void> | null = null
  private spawned = 0

  readonly id: string
  readonly hostList: readonly LabHost[]

  constructor (id: string, hostList: readonly LabHost[]) {
    this.id = id
    this.hostList = hostList
    for (const h of hostList) this.hosts[h.index] = h
    this.dir = join(LAB_ROOT, id)
    this.logDir = join(this.dir, 'logs')
  }

  host (i: number): LabHost {
    const h = this.hosts[i]
    if (h === undefined) throw new Error(`lab ${this.id} has no host ${i} (hosts are 1..${this.hostList.length})`)
    return h
  }

  exec (i: number, cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    return execIn(this.host(i).keeperPid, cmd, args, opts)
  }

  async run (i: number, cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<string> {
    const r = await this.exec(i, cmd, args, opts)
    if (r.code !== 0) {
      throw new Error(`host ${i}: ${[cmd, ...args].join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`)
    }
    return r.stdout
  }

  spawn (i: number, cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): LabProcess {
    if (this.destroying !== null) throw new Error(`lab ${this.id} is destroyed`)
    this.spawned++
    const name = opts.logFile ?? `h${i}-${basename(cmd)}-${this.spawned}.log`
    const logFile = isAbsolute(name) ? name : join(this.logDir, name)
    const proc = spawnIn(i, this.host(i).keeperPid, cmd, args, logFile, opts)
    this.procs.add(proc)
    void proc.exited.then(() => { this.procs.delete(proc) })
    return proc
  }

  async kill (i: number, proc: LabProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    if (proc.host !== i) throw new Error(`process ${proc.pid} runs in host ${proc.host}, not ${i}`)
    proc.kill(signal)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>(resolve => { timer = setTimeout(() => { resolve('late') }, timeoutMs) })
    const first = await Promise.race([proc.exited, late])
    clearTimeout(timer)
    if (first !== 'late') return first
    proc.kill('SIGKILL')
    return await proc.exited
  }

  async cut (i: number, j: number): Promise<void> {
    this.host(i); this.host(j)
    await labSh(['cut', this.id, String(i), String(j)])
  }

  async heal (i: number, j: number): Promise<void> {
    this.host(i); this.host(j)
    await labSh(['heal', this.id, String(i), String(j)])
  }

  async partition (a: readonly number[], b: readonly number[]): Promise<() => Promise<void>> {
    const pairs = a.flatMap(i => b.map(j => [i, j] as const))
    for (const [i, j] of pairs) await this.cut(i, j)
    return async () => { for (const [i, j] of pairs) await this.heal(i, j) }
  }

  async loss (i: number, percent: number): Promise<void> {
    this.host(i)
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new Error(`loss percent must be an integer 0..100, got ${percent}`)
    await labSh(['loss', this.id, String(i), String(percent)])
  }

  async ping (i: number, address: string, opts: PingOptions = {}): Promise<boolean> {
    return await this.pingWith(i, [], address, opts)
  }

  async ping6 (i: number, address: string, opts: PingOptions = {}): Promise<boolean> {
    return await this.pingWith(i, ['-6'], address, opts)
  }

  private async pingWith (i: number, family: string[], address: string, opts: PingOptions): Promise<boolean> {
    const count = opts.count ?? 1
    const timeoutS = opts.timeoutS ?? 1
    const args = [...family, '-n', '-q', '-c', String(count), '-i', '0.2', '-W', String(timeoutS), address]
    const r = await this.exec(i, 'ping', args, { timeoutMs: (count * 0.2 + timeoutS + 5) * 1000 })
    return r.code === 0
  }

  destroy (): Promise<void> {
    this.destroying ??= (async () => {
      unregisterLab(this)
      const exits = [...this.procs].map(p => { p.kill('SIGKILL'); return p.exited })
      // lab.sh kills everything else in the namespaces (keepers, daemonized children).
      await labSh(['destroy', this.id])
      await Promise.all(exits)
    })()
    return this.destroying
  }

  destroySync (): void {
    for (const p of this.procs) p.kill('SIGKILL')
    execFileSync('bash', [LAB_SH, 'destroy', this.id], { stdio: 'ignore', env: { ...process.env, GRIDMESH_LAB_ROOT: LAB_ROOT } })
  }
}

/** A fresh lab id: `gm` + 6 random hex digits (short: it prefixes interface names). */
export function newLabId (): string {
  return `gm${randomBytes(3).toString('hex')}`
}

/** Creates a lab and registers it for teardown at process exit. */
export async function createLab (opts: LabOptions): Promise<Lab> {
  const args = [String(opts.hosts)]
  if (opts.segments !== undefined) args.push('--segments', opts.segments.map(s => s.join(',')).join(':'))
  // A clash of random ids is unlikely but cheap to survive: lab.sh refuses an existing id.
  for (let attempt = 1; ; attempt++) {
    const id = newLabId()
    try {
      await labSh(['create', id, ...args])
    } catch (err) {
      if (attempt < 3 && String(err).includes('already exists')) continue
      throw err
    }
    let lab: LabImpl
    try {
      lab = new LabImpl(id, parseHosts(await labSh(['hosts', id])))
    } catch (err) {
      await labSh(['destroy', id]).catch(() => {})
      throw err
    }
    registerLab(lab)
    return lab
  }
}
