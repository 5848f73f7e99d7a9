/**
 * A live invariant checker for a lab mesh: while a test runs it samples every
 * live host about once a second — the admin API (status, peers, routes) and,
 * in one command inside the host, `wg show <if> dump` and
 * `ip -6 route show dev <if>` — and checks each round with invariants.ts.
 * A violation that persists (see CONFIRM) is kept with the sample that showed
 * it, and `assertClean()` fails the test with it.
 *
 *   const inv = startInvariantMonitor(m, [1, 2, 3, 4, 5, 6])
 *   try { ...faults...; inv.depart(4) ...; inv.assertClean() } finally { await inv.stop() }
 *
 * The test tells it about departures (`depart`: from then on the others have
 * `purgeBoundMs` to forget the host) and returns (`rejoin`). It also keeps
 * each host's route history per destination, so tests can count route
 * changes without their own watchers.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseWgDump } from '../src/wireguard/dump.ts'
import { IFACE, type MeshLab, type PeerJson, type RouteJson, type StatusJson } from './mesh.ts'
import { checkRound, parseKernelRoutes, violationKey, type DepartedMember, type HostSample, type KnownMember, type Rule, type Violation } from './invariants.ts'

/** Consecutive rounds a violation must show in before it counts (1 = at once). */
const CONFIRM: Record<Rule, number> = { forbidden: 1, identity: 1, 'one-owner': 2, 'allowed-ips': 3, 'unknown-peer': 3, departed: 3, 'kernel-route': 3 }

export interface ConfirmedViolation extends Violation { readonly firstSeen: number, readonly rounds: number, readonly sample: HostSample | null }

export interface InvariantMonitor {
  /** Host `host` left or was killed now: stop sampling it; the others must purge it within the bound. */
  depart (host: number): void
  /** Stop sampling host `host` for a while without calling it departed (e.g. its WireGuard is being recreated). */
  suspend (host: number): void
  /** Host `host` is back (same identity) or new: sample it (again); it is no longer departed. */
  rejoin (host: number): void
  /** Rounds completed, and per host the samples that read at least the admin status. */
  stats (): { rounds: number, perHost: Map<number, number>, meanRoundMs: number }
  /** The confirmed violations so far. */
  violations (): ConfirmedViolation[]
  /** Throws (with the sample that showed it) if any invariant was violated; checks that sampling really ran. */
  assertClean (): void
  /** Distinct routes host i had to host j, in order ("direct via 5 since …"), as sampled. */
  routeHistory (i: number, j: number): string[]
  /** The smallest member count host i's status reported while sampled. */
  minMembers (i: number): number | undefined
  stop (): Promise<void>
}

export interface MonitorOptions {
  /** Purge bound for departed members (default 60 000 ms: the routing tests' own deadline). */
  purgeBoundMs?: number
  /** Round spacing (default 1000 ms: ≥ 1 Hz while the machine keeps up). */
  intervalMs?: number
}

async function sampleHost (m: MeshLab, host: number): Promise<HostSample> {
  const at = Date.now()
  const soft = async <T>(p: Promise<T>): Promise<T | undefined> => { try { return await p } catch { return undefined } }
  const [status, peers, routes, dev] = await Promise.all([
    soft(m.status(host)), soft(m.peers(host)), soft(m.routes(host)),
    soft(m.lab.exec(host, 'sh', ['-c', `wg show ${IFACE} dump && echo @@ && ip -6 route show dev ${IFACE}`], { timeoutMs: 10_000 }))
  ])
  let wg: HostSample['wg']
  let kernelRoutes: string[] | undefined
  if (dev !== undefined && dev.code === 0) {
    const [dump = '', kr = ''] = dev.stdout.split('@@\n')
    try { wg = parseWgDump(dump) } catch { wg = undefined }
    kernelRoutes = parseKernelRoutes(kr)
  }
  return { host, at, ...(status !== undefined ? { status } : {}), ...(peers !== undefined ? { peers } : {}), ...(routes !== undefined ? { routes } : {}), ...(wg !== undefined ? { wg } : {}), ...(kernelRoutes !== undefined ? { kernelRoutes } : {}) }
}

export function startInvariantMonitor (m: MeshLab, hosts: readonly number[], o: MonitorOptions = {}): InvariantMonitor {
  const purgeBoundMs = o.purgeBoundMs ?? 60_000
  const intervalMs = o.intervalMs ?? 1000
  const live = new Set(hosts)
  const liveSince = new Map(hosts.map(h => [h, Date.now()]))
  const members = new Map<number, KnownMember>()
  const departed = new Map<number, DepartedMember>()
  const streak = new Map<string, { first: number, rounds: number }>()
  const confirmed = new Map<string, ConfirmedViolation>()
  const perHost = new Map<number, number>()
  const history = new Map<string, string[]>()
  const minMembers = new Map<number, number>()
  let meshPrefix = ''
  let rounds = 0
  let busyMs = 0
  let running = true
  const t0 = Date.now()

  const remember = (s: HostSample): void => {
    if (s.status === undefined) return
    perHost.set(s.host, (perHost.get(s.host) ?? 0) + 1)
    meshPrefix = s.status.meshPrefix
    if (!members.has(s.host)) members.set(s.host, { host: s.host, peerId: s.status.peerId, prefix: s.status.prefix, wgPublicKey: s.status.wgPublicKey })
    minMembers.set(s.host, Math.min(minMembers.get(s.host) ?? Infinity, s.status.members))
    const hostOf = new Map([...members.values()].map(x => [x.peerId, x.host]))
    for (const r of s.routes ?? []) {
      const j = hostOf.get(r.destinationPeer)
      if (j === undefined) continue
      const key = `${s.host}>${j}`
      const h = history.get(key) ?? []
      const now = `${r.kind} via ${hostOf.get(r.via) ?? r.via} since ${r.since}`
      if (h[h.length - 1] !== now) { h.push(now); history.set(key, h) }
    }
  }

  const judge = (samples: HostSample[], found: Violation[]): void => {
    const now = new Set<string>()
    for (const v of found) {
      const key = violationKey(v)
      now.add(key)
      const s = streak.get(key) ?? { first: samples[0]?.at ?? Date.now(), rounds: 0 }
      s.rounds++
      streak.set(key, s)
      if (s.rounds >= CONFIRM[v.rule] && !confirmed.has(key)) {
        confirmed.set(key, { ...v, firstSeen: s.first, rounds: s.rounds, sample: samples.find(x => x.host === v.host) ?? null })
      }
    }
    for (const key of [...streak.keys()]) if (!now.has(key)) streak.delete(key)
  }

  const loop = (async () => {
    while (running) {
      const start = Date.now()
      const samples = await Promise.all([...live].map(async h => await sampleHost(m, h)))
      if (!running) break
      for (const s of samples) remember(s)
      if (meshPrefix !== '') {
        judge(samples, checkRound(samples.filter(s => live.has(s.host)), {
          meshPrefix, members: [...members.values()], departed: [...departed.values()], purgeBoundMs
        }))
      }
      rounds++
      busyMs += Date.now() - start
      const wait = start + intervalMs - Date.now()
      if (wait > 0 && running) await sleep(wait)
    }
  })()

  const self: InvariantMonitor = {
    depart (host) {
      live.delete(host)
      const k = members.get(host)
      if (k === undefined) throw new Error(`invariant monitor: host ${host} was never sampled, so its identity is unknown`)
      departed.set(host, { ...k, at: Date.now() })
    },
    suspend (host) { live.delete(host) },
    rejoin (host) {
      departed.delete(host)
      live.add(host)
      liveSince.set(host, Date.now())
      perHost.set(host, 0)
    },
    stats: () => ({ rounds, perHost: new Map(perHost), meanRoundMs: rounds === 0 ? 0 : busyMs / rounds }),
    violations: () => [...confirmed.values()],
    assertClean () {
      const v = self.violations()
      if (v.length > 0) {
        const file = join(m.lab.logDir, 'invariant-violations.json')
        try { writeFileSync(file, JSON.stringify(v, null, 1)) } catch { /* best effort */ }
        const first = v[0] as ConfirmedViolation
        throw new Error(`invariant violated (${v.length} in all, saved to ${file}): ${v.slice(0, 5).map(x => `[${x.rule}] host ${x.host}: ${x.detail} (from ${new Date(x.firstSeen).toISOString()}, ${x.rounds} rounds)`).join('; ')}\n` +
          `sample that showed the first: ${describeSample(first.sample)}`)
      }
      // A checker that never sampled would pass anything: demand a sample every few seconds per live host.
      for (const h of live) {
        const since = liveSince.get(h) ?? t0
        const n = perHost.get(h) ?? 0
        if (n < Math.floor((Date.now() - since) / 5000)) throw new Error(`invariant monitor sampled host ${h} only ${n} times in ${Math.round((Date.now() - since) / 1000)} s`)
      }
    },
    routeHistory: (i, j) => [...(history.get(`${i}>${j}`) ?? [])],
    minMembers: i => minMembers.get(i),
    async stop () { running = false; await loop }
  }
  return self
}

/** A compact rendering of one host's sample for a failure message. */
export function describeSample (s: HostSample | null): string {
  if (s === null) return '(across hosts: see the saved file)'
  const wg = s.wg?.peers.map(p => `${p.publicKey.slice(0, 8)}… [${[...p.allowedIps].join(' ')}]`).join('; ') ?? '(unread)'
  const routes = s.routes?.map((r: RouteJson) => `${r.destination} ${r.kind} via ${r.via.slice(-6)}`).join('; ') ?? '(unread)'
  const peers = s.peers?.map((p: PeerJson) => `${p.peerId.slice(-6)} ${p.prefix} ${p.state}`).join('; ') ?? '(unread)'
  const st: StatusJson | undefined = s.status
  return `host ${s.host} at ${new Date(s.at).toISOString()}: status ${st === undefined ? '(unread)' : `${st.peerId.slice(-6)} ${st.prefix} members ${st.members}`}; ` +
    `wg ${wg}; routes ${routes}; peers ${peers}; kernel ${s.kernelRoutes?.join(' ') ?? '(unread)'}`
}
