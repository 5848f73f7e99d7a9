/**
 * The ceiling: one hand-configured wireguard-go tunnel between hosts 2 and 5 (see pairOf) (keys from
 * `wg genkey`/`wg pubkey` in files, `wg set … private-key <file>`, static endpoints), no control
 * plane at all. Only throughput (and footprint) is meaningful; it is not a mesh.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Lab, LabProcess } from '../../netns/lab.ts'
import { waitFor } from '../../netns/lab.ts'
import { pairOf, type OverlaySystem } from './system.ts'

const IF = 'wg0'
const PORT = 51820
const addr = (i: number): string => `fd98:98::${i}`

export function wireguard (): OverlaySystem {
  let lab: Lab | undefined
  const procs = new Map<number, LabProcess>()
  const pub = new Map<number, string>()
  let hosts: readonly number[] = []
  const L = (): Lab => { if (lab === undefined) throw new Error('wireguard: setup() first'); return lab }
  const dir = (): string => join(L().dir, 'wireguard')

  return {
    name: 'wireguard-go (ceiling)',
    caps: { mesh: false, purge: { none: 'static two-host tunnel: nothing to purge' } },
    async setup (l, n) {
      lab = l
      hosts = pairOf(n)
      mkdirSync(dir(), { recursive: true })
      for (const i of hosts) {
        const key = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim()
        writeFileSync(join(dir(), `h${i}.key`), key + '\n', { mode: 0o600 })
        pub.set(i, execFileSync('wg', ['pubkey'], { input: key + '\n', encoding: 'utf8' }).trim())
      }
    },
    async start (i) {
      const other = hosts.find(j => j !== i)
      if (other === undefined) throw new Error(`wireguard ceiling runs on hosts ${hosts.join(',')} only`)
      procs.set(i, L().spawn(i, 'wireguard-go', ['-f', IF], { logFile: `wireguard-h${i}.log` }))
      await waitFor(async () => { await L().run(i, 'wg', ['show', IF]); return true }, { what: `wireguard-go on host ${i}`, timeoutMs: 10_000, intervalMs: 50 })
      await L().run(i, 'wg', ['set', IF, 'private-key', join(dir(), `h${i}.key`), 'listen-port', String(PORT),
        'peer', pub.get(other) ?? '', 'endpoint', `${L().host(other).ipv4}:${PORT}`, 'allowed-ips', `${addr(other)}/128`])
      await L().run(i, 'ip', ['-6', 'addr', 'add', `${addr(i)}/64`, 'dev', IF, 'nodad'])
      await L().run(i, 'ip', ['link', 'set', IF, 'up'])
    },
    async stop (i, signal) {
      const p = procs.get(i)
      if (p !== undefined) await L().kill(i, p, signal, 10_000)
      procs.delete(i)
    },
    async overlayAddress (i) { return addr(i) },
    pids (i) { const p = procs.get(i)?.pid; return p === undefined ? [] : [p] },
    async details () {
      const link = await L().exec(hosts[0] ?? 2, 'ip', ['-o', 'link', 'show', IF])
      return { mtu: Number(/ mtu (\d+)/.exec(link.stdout)?.[1] ?? NaN) }
    },
    async knows () { throw new Error('not observable') }
  }
}
