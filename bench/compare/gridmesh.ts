/**
 * gridmesh: real `bin/gridmesh up` daemons (the same flags as netns/mesh.ts), bootstrapping from
 * host 1. Footprint = the node process + its wireguard-go. Purge = the node's WireGuard peer is
 * gone from a survivor's `wg show`.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Lab, LabProcess } from '../../netns/lab.ts'
import { GRIDMESH_BIN, IFACE, LISTEN_PORT } from '../../netns/mesh.ts'
import { adminRequest } from '../../src/admin/client.ts'
import { readyLine } from '../logs.ts'
import { wireguardGoPid } from '../procfs.ts'
import { pollUntil } from '../timing.ts'
import type { OverlaySystem } from './system.ts'

interface Status { address: string, wgPublicKey: string }

export function gridmesh (): OverlaySystem {
  let lab: Lab | undefined
  const procs = new Map<number, LabProcess>()
  const keys = new Map<number, string>()
  const addrs = new Map<number, string>()
  const L = (): Lab => { if (lab === undefined) throw new Error('gridmesh: setup() first'); return lab }
  const dir = (i: number): string => join(L().dir, 'gridmesh', `h${i}`)
  const status = async (i: number): Promise<Status> => await adminRequest(join(dir(i), 'admin.sock'), 'GET', '/v1/status') as Status

  return {
    name: 'gridmesh',
    caps: { mesh: true, purge: { how: 'WireGuard peer gone from survivor `wg show`' } },
    async setup (l) { lab = l },
    async start (i, fresh = false) {
      if (fresh) rmSync(join(dir(i), 'state'), { recursive: true, force: true })
      mkdirSync(dir(i), { recursive: true })
      addrs.delete(i)
      const boot = i === 1 ? [] : ['--bootstrap', `${L().host(1).ipv4}:${LISTEN_PORT}`]
      const args = ['up', '--mesh', 'bench', '--state-dir', join(dir(i), 'state'), '--admin-socket', join(dir(i), 'admin.sock'),
        '--listen', `0.0.0.0:${LISTEN_PORT}`, ...boot]
      procs.set(i, L().spawn(i, GRIDMESH_BIN, args, { logFile: `gridmesh-h${i}.log`, env: { GRIDMESH_LOG_LEVEL: process.env['GRIDMESH_LOG_LEVEL'] ?? 'info' } }))
    },
    async stop (i, signal) {
      const p = procs.get(i)
      if (p !== undefined) await L().kill(i, p, signal, 15_000)
      procs.delete(i)
    },
    async overlayAddress (i, deadlineMs) {
      const known = addrs.get(i)
      if (known !== undefined) return known
      let s: Status | undefined
      await pollUntil(async () => { s = await status(i); return true }, deadlineMs, 100)
      if (s === undefined) throw new Error(`gridmesh host ${i}: admin API not answering`)
      addrs.set(i, s.address); keys.set(i, s.wgPublicKey)
      return s.address
    },
    pids (i) {
      const node = procs.get(i)?.pid
      const wg = wireguardGoPid(L().host(i).keeperPid)
      return [node, wg].filter((p): p is number => typeof p === 'number')
    },
    controlPids (i) { const p = procs.get(i)?.pid; return p === undefined ? [] : [p] },
    async details () {
      // Startup phases from each daemon's own `interface ready` line, and the tunnel MTU.
      const ready = [...procs.keys()].sort((a, b) => a - b).map(i => readyLine(join(L().logDir, `gridmesh-h${i}.log`))?.readyMs ?? null)
      const link = await L().exec(1, 'ip', ['-o', 'link', 'show', IFACE])
      return { readyMs: ready, mtu: Number(/ mtu (\d+)/.exec(link.stdout)?.[1] ?? NaN) }
    },
    async knows (i, k) {
      const key = keys.get(k)
      if (key === undefined) throw new Error(`gridmesh: host ${k}'s key unknown`)
      const out = await L().run(i, 'wg', ['show', IFACE, 'peers'], { timeoutMs: 5000 })
      return out.split('\n').some(l => l.trim() === key)
    }
  }
}
