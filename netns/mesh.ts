/**
 * gridmesh daemons in the lab: start/stop/kill real `bin/gridmesh up`
 * processes on lab hosts and read their admin API (over the unix socket, from
 * the test process) and WireGuard state. Shared by the netns tests, the
 * benchmarks and the demo.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
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
  /** Hosts whose `ipv4:7700` are bootstraps (default [1], none for host 1 itself). */
  bootstrap?: readonly number[]
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
  /** Overlay address of host i's node (from its last status). */
  address (i: number): Promise<string>
  destroy (): Promise<void>
}

export async function createMeshLab (opts: LabOptions & { mesh?: string }): Promise<MeshLab> {
  const lab = await createLab(opts)
  const mesh = opts.mesh ?? 'lab'
  const procs = new Map<number, LabProcess>()
  const addresses = new Map<number, string>()
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
      const boot = (o.bootstrap ?? [1]).filter(b => b !== i).flatMap(b => ['--bootstrap', `${lab.host(b).ipv4}:${LISTEN_PORT}`])
      const args = ['up', '--mesh', mesh, '--state-dir', stateDir(i), '--admin-socket', adminSocket(i),
        '--listen', `0.0.0.0:${LISTEN_PORT}`, ...boot, ...(o.args ?? [])]
      const p = lab.spawn(i, GRIDMESH_BIN, args, { logFile: `h${i}.log`, env: { GRIDMESH_LOG_LEVEL: process.env.GRIDMESH_LOG_LEVEL ?? 'info' } })
      procs.set(i, p)
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
