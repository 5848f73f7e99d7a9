/**
 * Nebula (Debian 1.6.x): `nebula-cert ca` + `nebula-cert sign` per host with an IPv4 overlay
 * address 10.99.0.<i>/24 (Nebula 1.6 certificates carry IPv4 only), lighthouse on host 1, which
 * is also the relay (`am_relay: true` there; everyone `use_relays: true` and lists host 1 under
 * `relay.relays`). Not `am_relay` on all: Nebula 1.6 then logs "Ignoring relays from config because
 * am_relay is true" and a host has no relay to be reached through;
 * permissive firewall. Purge = the survivor's log says the tunnel to the node is dead
 * (connection manager, `Tunnel status … state:dead`); the runner keeps traffic flowing to the
 * dead node meanwhile, since Nebula only tests tunnels that carry traffic.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Lab, LabProcess } from '../../netns/lab.ts'
import type { OverlaySystem } from './system.ts'

const addr = (i: number): string => `10.99.0.${i}`
const PORT = 4242

function config (i: number, d: string, lighthouseUnderlay: string): string {
  const lh = i === 1
  return [
    'pki:', `  ca: ${join(d, '..', 'ca.crt')}`, `  cert: ${join(d, 'host.crt')}`, `  key: ${join(d, 'host.key')}`,
    'static_host_map:', `  "${addr(1)}": ["${lighthouseUnderlay}:${PORT}"]`,
    'lighthouse:', `  am_lighthouse: ${String(lh)}`, '  interval: 60', `  hosts: ${lh ? '[]' : `["${addr(1)}"]`}`,
    'listen:', '  host: 0.0.0.0', `  port: ${PORT}`,
    'punchy:', '  punch: true',
    'relay:', `  am_relay: ${String(lh)}`, '  use_relays: true', `  relays: ${lh ? '[]' : `["${addr(1)}"]`}`,
    'tun:', '  dev: nebula1', '  mtu: 1300',
    'logging:', '  level: info', '  format: text',
    'firewall:', '  outbound:', '    - port: any', '      proto: any', '      host: any',
    '  inbound:', '    - port: any', '      proto: any', '      host: any', ''
  ].join('\n')
}

export function nebula (): OverlaySystem {
  let lab: Lab | undefined
  let count = 0
  const procs = new Map<number, LabProcess>()
  const mark = new Map<number, number>()
  const L = (): Lab => { if (lab === undefined) throw new Error('nebula: setup() first'); return lab }
  const root = (): string => join(L().dir, 'nebula')
  const dir = (i: number): string => join(root(), `h${i}`)
  const logFile = (i: number): string => join(L().logDir, `nebula-h${i}.log`)
  const size = (f: string): number => { try { return statSync(f).size } catch { return 0 } }

  return {
    name: 'Nebula',
    caps: { mesh: true, purge: { how: 'survivor logs the tunnel to the node dead (traffic kept flowing to it)' } },
    async setup (l, n) {
      lab = l
      count = n
      mkdirSync(root(), { recursive: true })
      execFileSync('nebula-cert', ['ca', '-name', 'bench', '-out-crt', join(root(), 'ca.crt'), '-out-key', join(root(), 'ca.key')])
      for (let i = 1; i <= n; i++) {
        mkdirSync(dir(i), { recursive: true })
        execFileSync('nebula-cert', ['sign', '-ca-crt', join(root(), 'ca.crt'), '-ca-key', join(root(), 'ca.key'), '-name', `h${i}`,
          '-ip', `${addr(i)}/24`, '-out-crt', join(dir(i), 'host.crt'), '-out-key', join(dir(i), 'host.key')])
        writeFileSync(join(dir(i), 'config.yml'), config(i, dir(i), l.host(1).ipv4))
      }
    },
    async start (i) {
      procs.set(i, L().spawn(i, 'nebula', ['-config', join(dir(i), 'config.yml')], { logFile: logFile(i) }))
    },
    async stop (i, signal) {
      for (let j = 1; j <= count; j++) mark.set(j, size(logFile(j)))
      const p = procs.get(i)
      if (p !== undefined) await L().kill(i, p, signal, 10_000)
      procs.delete(i)
    },
    async overlayAddress (i) { return addr(i) },
    pids (i) { const p = procs.get(i)?.pid; return p === undefined ? [] : [p] },
    async knows (i, k) {
      const text = readFileSync(logFile(i)).subarray(mark.get(i) ?? 0).toString('utf8')
      return !text.split('\n').some(l => l.includes('Tunnel status') && l.includes('dead') && l.includes(`vpnIp=${addr(k)}`))
    }
  }
}
