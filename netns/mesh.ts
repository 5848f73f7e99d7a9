/**
 * gridmesh daemons in the lab: start/stop/kill real `bin/gridmesh up`
 * processes on lab hosts and read their admin API (over the unix socket, from
 * the test process) and WireGuard state. Shared by the netns tests, the
 * benchmarks and the demo.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createLab, waitFor, type Lab, type LabOptions, type LabProcess } from './lab.ts'
import { adminRequest } from '../src/admin/client.ts'
import { parseWgDump } from '../src/wireguard/dump.ts'
import type { DeviceState } from '../src/wireguard/types.ts'

export const GRIDMESH_BIN = fileURLToPath(new URL('../bin/gridmesh', import.meta.url))
export const LISTEN_PORT = 7700
export const IFACE = 'gridmesh0'

/** The public JSON contract, as tests read it. */
export interface StatusJson { peerId: string, mesh: string, meshPrefix: string, prefix: string, address: string, interface: string, wgPublicKey: string, members: number, seq: number, counters: { unhandled: number, rejectedRecords: Record<string, number> } }
export interface PeerJson { peerId: string, address: string, prefix: string, endpoint: string | null, state: 'direct' | 'relayed' | 'unreachable', via: string | null, rttMs: number | null, link: string }
export interface RouteJson { destination: string, destinationPeer: string, via: string, kind: 'direct' | 'relay', metric: number, since: number, path: string[] }

export interface StartOptions {
  /** Hosts whose `ipv4:7700` are bootstraps (default [1] unless `bootstrapAddrs` is given; never host i itself). */
  bootstrap?: readonly number[]
  /**
   * Explicit `--bootstrap` values (`host:port` or multiaddr), passed after those of `bootstrap`,
   * e.g. host 3's address on its second segment (`lab.host(3).ipv4b` + `:7700`) for hosts there.
   */
  bootstrapAddrs?: readonly string[]
  /** Extra `gridmesh up` flags. */
  args?: readonly string[]
}

export interface MeshLab {
  readonly lab: Lab
  readonly mesh: string
  stateDir (i: number): string
  adminSocket (i: number): string
  /** The running daemon of host i, if any. */
  proc (i: number): LabProcess | undefined
  start (i: number, opts?: StartOptions): LabProcess
  /** Sends `signal` to host i's daemon and waits for it to exit; returns the exit code. */
  stop (i: number, signal?: NodeJS.Signals): Promise<number | null>
  status (i: number): Promise<StatusJson>
  peers (i: number): Promise<PeerJson[]>
  routes (i: number): Promise<RouteJson[]>
  /** The WireGuard device of host i as `wg show dump` reports it. */
  wg (i: number): Promise<DeviceState>
  /** Runs the CLI inside host i (for exit-code and output tests). */
  cli (i: number, args: readonly string[]): Promise<{ stdout: string, stderr: string, code: number | null }>
  /** Waits until host i's admin API answers; returns its status. */
  waitReady (i: number, timeoutMs?: number): Promise<StatusJson>
  /** Waits until each host in `hosts` lists every other one as a direct peer. */
  waitFullMesh (hosts: readonly number[], timeoutMs?: number): Promise<void>
  /** Pings every ordered pair over the overlay; returns the pairs that failed ("i>j"). */
  pingAllPairs (hosts: readonly number[], opts?: { count?: number, timeoutS?: number }): Promise<string[]>
  /**
   * Daemons that exited without `stop()` (crashed, or left on their own), each as one line
   * with its exit and the tail of its log: print it when a test fails to say why.
   */
  unexpectedExits (logLines?: number): string[]
  /** Overlay address of host i's node (from its last status). */
  address (i: number): Promise<string>
  destroy (): Promise<void>
}

export async function createMeshLab (opts: LabOptions & { mesh?: string }): Promise<MeshLab> {
  const lab = await createLab(opts)
  const mesh = opts.mesh ?? 'lab'
  const procs = new Map<number, LabProcess>()
  const addresses = new Map<number, string>()
  const exitCodes = new WeakMap<LabProcess, number | null>()
  const stateDir = (i: number): string => join(lab.dir, `h${i}`, 'state')
  const adminSocket = (i: number): string => join(lab.dir, `h${i}`, 'admin.sock')
  const get = async <T>(i: number, path: string): Promise<T> => await adminRequest(adminSocket(i), 'GET', path) as T

  const self: MeshLab = {
    lab,
    mesh,
    stateDir,
    adminSocket,
    proc: i => procs.get(i),
    start (i, o = {}) {
      mkdirSync(join(lab.dir, `h${i}`), { recursive: true })
      const hosts = o.bootstrap ?? (o.bootstrapAddrs === undefined ? [1] : [])
      const boot = [...hosts.filter(b => b !== i).map(b => `${lab.host(b).ipv4}:${LISTEN_PORT}`), ...(o.bootstrapAddrs ?? [])]
        .flatMap(a => ['--bootstrap', a])
      const args = ['up', '--mesh', mesh, '--state-dir', stateDir(i), '--admin-socket', adminSocket(i),
        '--listen', `0.0.0.0:${LISTEN_PORT}`, ...boot, ...(o.args ?? [])]
      const p = lab.spawn(i, GRIDMESH_BIN, args, { logFile: `h${i}.log`, env: { GRIDMESH_LOG_LEVEL: process.env.GRIDMESH_LOG_LEVEL ?? 'info' } })
      procs.set(i, p)
      void p.exited.then(code => { exitCodes.set(p, code) })
      return p
    },
    async stop (i, signal = 'SIGTERM') {
      const p = procs.get(i)
      if (p === undefined) return null
      const code = await lab.kill(i, p, signal, 15_000)
      procs.delete(i)
      return code
    },
    status: async i => { const s = await get<StatusJson>(i, '/v1/status'); addresses.set(i, s.address); return s },
    peers: i => get<PeerJson[]>(i, '/v1/peers'),
    routes: i => get<RouteJson[]>(i, '/v1/routes'),
    wg: async i => parseWgDump(await lab.run(i, 'wg', ['show', IFACE, 'dump'])),
    cli: async (i, args) => {
      const r = await lab.exec(i, GRIDMESH_BIN, args, { timeoutMs: 30_000 })
      return { stdout: r.stdout, stderr: r.stderr, code: r.code }
    },
    waitReady: (i, timeoutMs = 30_000) => waitFor(() => self.status(i), { what: `host ${i} admin API`, timeoutMs, intervalMs: 100 }),
    async waitFullMesh (hosts, timeoutMs = 60_000) {
      await waitFor(async () => {
        for (const i of hosts) {
          const peers = await self.peers(i)
          const direct = peers.filter(p => p.state === 'direct').length
          if (direct !== hosts.length - 1 || peers.length !== hosts.length - 1) throw new Error(`host ${i}: ${direct}/${hosts.length - 1} direct of ${peers.length} peers`)
        }
        return true
      }, { what: `full mesh of hosts ${hosts.join(',')}`, timeoutMs, intervalMs: 200 })
    },
    unexpectedExits (logLines = 15) {
      const out: string[] = []
      for (const [i, p] of procs) {
        if (p.running) continue
        let tail = ''
        try { tail = readFileSync(p.logFile, 'utf8').trimEnd().split('\n').slice(-logLines).join('\n') } catch { /* no log */ }
        const how = p.signal !== null ? `by ${p.signal}` : `with code ${String(exitCodes.get(p) ?? '?')}`
        out.push(`host ${i} daemon (pid ${p.pid}) exited ${how}; last lines of ${p.logFile}:\n${tail}`)
      }
      return out
    },
    async address (i) {
      const known = addresses.get(i)
      return known ?? (await self.status(i)).address
    },
    async pingAllPairs (hosts, o = {}) {
      const failed: string[] = []
      for (const i of hosts) {
        const results = await Promise.all(hosts.filter(j => j !== i).map(async j =>
          [j, await lab.ping6(i, await self.address(j), { count: o.count ?? 2, timeoutS: o.timeoutS ?? 2 })] as const))
        for (const [j, ok] of results) if (!ok) failed.push(`${i}>${j}`)
      }
      return failed
    },
    destroy: () => lab.destroy()
  }
  return self
}

/** One probe of a {@link Pinger}: when it was sent and whether a reply came back. */
export interface PingSample { readonly at: number, readonly ok: boolean }

/** A background pinger: one ICMPv6 echo at a time from a host to an address, spaced by `intervalMs`. */
export interface Pinger {
  readonly from: number
  readonly address: string
  /** The timeline so far (grows while running). */
  readonly samples: readonly PingSample[]
  /** Stops after the probe in flight; resolves with the whole timeline. */
  stop (): Promise<PingSample[]>
}

/**
 * startPinger probes `address` from host `from` every `intervalMs` (one echo, `timeoutS` to
 * answer), recording a timeline, until stopped. A lost probe costs its timeout, so the timeline
 * measures outages in probes, not in exact milliseconds.
 */
export function startPinger (lab: Lab, from: number, address: string, opts: { intervalMs?: number, timeoutS?: number } = {}): Pinger {
  const intervalMs = opts.intervalMs ?? 200
  const samples: PingSample[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      const at = Date.now()
      const ok = await lab.ping6(from, address, { count: 1, timeoutS: opts.timeoutS ?? 1 })
      samples.push({ at, ok })
      const wait = at + intervalMs - Date.now()
      if (wait > 0 && running) await new Promise(resolve => setTimeout(resolve, wait))
    }
  })()
  return {
    from,
    address,
    samples,
    async stop () { running = false; await loop; return [...samples] }
  }
}

/** The longest run of consecutive failed probes in a timeline. */
export function maxConsecutiveLosses (samples: readonly PingSample[]): number {
  let worst = 0
  let run = 0
  for (const s of samples) { run = s.ok ? 0 : run + 1; worst = Math.max(worst, run) }
  return worst
}

/** A one-line summary of a timeline for test output: probes, losses, longest loss run. */
export function describeTimeline (samples: readonly PingSample[]): string {
  const lost = samples.filter(s => !s.ok).length
  const span = samples.length === 0 ? 0 : (samples[samples.length - 1] as PingSample).at - (samples[0] as PingSample).at
  return `${samples.length} probes over ${(span / 1000).toFixed(1)} s, ${lost} lost, longest loss run ${maxConsecutiveLosses(samples)}`
}

/** One process living in a lab host's network namespace. */
export interface HostProcess { readonly pid: number, readonly comm: string, readonly cmdline: string }

/**
 * The processes in host i's network namespace (`ip netns pids`), keeper included. Unlike pgrep
 * inside the host (which sees every process on the machine), this only sees the host's own.
 */
export async function hostProcesses (lab: Lab, i: number): Promise<HostProcess[]> {
  const { stdout: out } = await promisify(execFile)('ip', ['netns', 'pids', lab.host(i).ns], { encoding: 'utf8' })
  const procs: HostProcess[] = []
  for (const line of out.split('\n')) {
    const pid = Number(line.trim())
    if (!Number.isInteger(pid) || pid <= 0) continue
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
      procs.push({ pid, comm, cmdline })
    } catch { /* exited between the listing and the read */ }
  }
  return procs
}
