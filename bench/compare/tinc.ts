/**
 * tinc 1.0 in router mode, configured as an admin would: `tincd -K` keys per host, every host
 * file copied to every host, ConnectTo every other host, Subnet = an IPv6 /64 per host, default
 * timers (PingInterval 60 s, PingTimeout 5 s). Purge = the survivor's `host-down` script ran for
 * the dead node (tinc calls it when the node becomes unreachable in its graph).
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Lab, LabProcess } from '../../netns/lab.ts'
import type { OverlaySystem } from './system.ts'

const NET = 'bench'
const addr = (i: number): string => `fd7a:7a:0:${i.toString(16)}::1`

export function tinc (): OverlaySystem {
  let lab: Lab | undefined
  let count = 0
  const procs = new Map<number, LabProcess>()
  /** Size of each host's events file when the last stop() began: purge counts later lines only. */
  const mark = new Map<number, number>()
  const L = (): Lab => { if (lab === undefined) throw new Error('tinc: setup() first'); return lab }
  const dir = (i: number): string => join(L().dir, 'tinc', `h${i}`)
  const eventsText = (i: number): string => {
    const f = join(dir(i), 'events')
    return existsSync(f) ? readFileSync(f, 'utf8') : ''
  }

  return {
    name: 'tinc 1.0',
    caps: { mesh: true, purge: { how: 'survivor\'s host-down hook ran for the node (node unreachable in tinc\'s graph)' } },
    async setup (l, n) {
      lab = l
      count = n
      for (let i = 1; i <= n; i++) {
        mkdirSync(join(dir(i), 'hosts'), { recursive: true })
        const connect = Array.from({ length: n }, (_, k) => k + 1).filter(j => j !== i).map(j => `ConnectTo = h${j}`)
        writeFileSync(join(dir(i), 'tinc.conf'), [`Name = h${i}`, 'Mode = router', 'Interface = tinc0', 'DeviceType = tun',
          'AddressFamily = ipv4', ...connect, ''].join('\n'))
        writeFileSync(join(dir(i), 'hosts', `h${i}`), [`Address = ${l.host(i).ipv4}`, 'Port = 655', `Subnet = ${addr(i).replace(/::1$/, '::')}/64`, ''].join('\n'))
        writeFileSync(join(dir(i), 'tinc-up'), `#!/bin/sh\nip link set "$INTERFACE" up\nip -6 addr add ${addr(i)}/48 dev "$INTERFACE" nodad\n`)
        writeFileSync(join(dir(i), 'host-down'), `#!/bin/sh\necho "$NODE $(date +%s.%N)" >> "${join(dir(i), 'events')}"\n`)
        chmodSync(join(dir(i), 'tinc-up'), 0o755); chmodSync(join(dir(i), 'host-down'), 0o755)
        // -K appends the public key to hosts/h<i> and writes rsa_key.priv (no prompt without a tty).
        execFileSync('tincd', ['-c', dir(i), '-n', NET, '-K2048'], { stdio: ['ignore', 'ignore', 'pipe'], input: '' })
      }
      for (let i = 1; i <= n; i++) for (let j = 1; j <= n; j++) if (i !== j) copyFileSync(join(dir(j), 'hosts', `h${j}`), join(dir(i), 'hosts', `h${j}`))
    },
    async start (i) {
      procs.set(i, L().spawn(i, 'tincd', ['-D', '-n', NET, '-c', dir(i), '-d1', `--pidfile=${join(dir(i), 'tinc.pid')}`], { logFile: `tinc-h${i}.log` }))
    },
    async stop (i, signal) {
      for (let j = 1; j <= count; j++) mark.set(j, eventsText(j).length)
      const p = procs.get(i)
      if (p !== undefined) await L().kill(i, p, signal, 10_000)
      procs.delete(i)
    },
    async overlayAddress (i) { return addr(i) },
    pids (i) { const p = procs.get(i)?.pid; return p === undefined ? [] : [p] },
    async knows (i, k) {
      if (k > count) throw new Error(`no host ${k}`)
      return !eventsText(i).slice(mark.get(i) ?? 0).split('\n').some(l => l.startsWith(`h${k} `))
    }
  }
}
