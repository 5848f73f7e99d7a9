/**
 * Yggdrasil 0.4.x: `yggdrasil -genconf -json` per host, multicast off, TCP listener on every
 * host, host i peers with every host j < i (so 2 and 5 have a direct link to lose), IfName ygg0,
 * admin socket under the lab dir. Overlay address from `yggdrasil -useconffile … -address`.
 * Purge = the node is gone from the survivor's `yggdrasilctl getPeers`.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Lab, LabProcess } from '../../netns/lab.ts'
import type { OverlaySystem } from './system.ts'

const PORT = 12345

export function yggdrasil (): OverlaySystem {
  let lab: Lab | undefined
  const procs = new Map<number, LabProcess>()
  const addrs = new Map<number, string>()
  const L = (): Lab => { if (lab === undefined) throw new Error('yggdrasil: setup() first'); return lab }
  const dir = (): string => join(L().dir, 'ygg')
  const conf = (i: number): string => join(dir(), `h${i}.json`)
  const sock = (i: number): string => join(dir(), `h${i}.sock`)

  return {
    name: 'Yggdrasil 0.4',
    caps: { mesh: true, purge: { how: 'node gone from survivor `yggdrasilctl getPeers`' } },
    async setup (l, n) {
      lab = l
      mkdirSync(dir(), { recursive: true })
      for (let i = 1; i <= n; i++) {
        const c = JSON.parse(execFileSync('yggdrasil', ['-genconf', '-json'], { encoding: 'utf8' })) as Record<string, unknown>
        c['Peers'] = Array.from({ length: i - 1 }, (_, k) => `tcp://${l.host(k + 1).ipv4}:${PORT}`)
        c['Listen'] = [`tcp://0.0.0.0:${PORT}`]
        c['AdminListen'] = `unix://${sock(i)}`
        c['MulticastInterfaces'] = []
        c['IfName'] = 'ygg0'
        writeFileSync(conf(i), JSON.stringify(c, null, 2))
        addrs.set(i, execFileSync('yggdrasil', ['-useconffile', conf(i), '-address'], { encoding: 'utf8' }).trim())
      }
    },
    async start (i) {
      procs.set(i, L().spawn(i, 'yggdrasil', ['-useconffile', conf(i), '-logto', 'stdout'], { logFile: `ygg-h${i}.log` }))
    },
    async stop (i, signal) {
      const p = procs.get(i)
      if (p !== undefined) await L().kill(i, p, signal, 10_000)
      procs.delete(i)
    },
    async overlayAddress (i) {
      const a = addrs.get(i)
      if (a === undefined) throw new Error(`yggdrasil: no address for host ${i}`)
      return a
    },
    pids (i) { const p = procs.get(i)?.pid; return p === undefined ? [] : [p] },
    async knows (i, k) {
      const out = await L().run(i, 'yggdrasilctl', [`-endpoint=unix://${sock(i)}`, '-json', 'getPeers'], { timeoutMs: 5000 })
      return out.includes(`"${addrs.get(k) ?? '?'}"`)
    }
  }
}
