/**
 * The gridmesh demo: a narrated tour a person can watch. It builds a lab of real hosts (network
 * namespaces), runs real `gridmesh up` daemons in them and shows, with the real CLI:
 * the mesh forming, a ping over the overlay, workloads on two hosts talking across the mesh,
 * traffic rerouted through a relay when a link is cut and back to direct when it heals, a killed
 * node purged, a leaving node dropped.
 *
 *   node --import tsx scripts/demo.ts [--hosts N] [--fast] [--keep]     (root; see scripts/demo.sh)
 *
 * Exit codes: 0 done, 1 a step failed (which one and why is printed), 2 usage, 130 Ctrl-C.
 * The lab is destroyed in every case.
 */
import { execFileSync } from 'node:child_process'
import { LAB_SH, waitFor } from '../netns/lab.ts'
import { GRIDMESH_BIN, createMeshLab, type MeshLab, type RouteJson, type StatusJson } from '../netns/mesh.ts'
import { shortId } from '../src/cli/table.ts'
import { InterruptGuard } from './demo/interrupt.ts'
import { banner, explain, pause, say, secs, show, table, timed } from './demo/narrate.ts'
import { UsageError, USAGE, parseOptions, type DemoOptions } from './demo/options.ts'
import { pingOnce, repliesSoFar, startBackgroundPing, statsOf, stopBackgroundPing } from './demo/ping.ts'

const TOTAL_STEPS = 10
/** Per wait: the machine has 2 cores and other labs may be running. */
const WAIT_MS = 60_000
/** Forming the mesh starts N daemons at once (each a Node process), so it gets longer. */
const MESH_WAIT_MS = 120_000

/** Which host plays which part. Host 1 is the bootstrap, host 2 the observer. */
interface Roles {
  all: number[]
  observer: number
  /** The far end of the cut link (the last host). */
  cutPeer: number
  killed: number
  leaver: number
}

/** Everything the steps share. */
interface Demo {
  opts: DemoOptions
  guard: InterruptGuard
  roles: Roles
  m: MeshLab | null
  /** Status of each host once the mesh is up: peer ids, overlay addresses, prefixes. */
  nodes: Map<number, StatusJson>
  /** Measured times for the summary: [what, ms]. */
  timings: Array<[string, number]>
  /** Workload network namespaces the demo created (outside the lab: removed by the demo). */
  workloads: Array<{ host: number, name: string, netns: string, address: string }>
}

/** A step that did not work out; main prints it and exits 1 after cleanup. */
class StepFailed extends Error {
  constructor (step: number, title: string, why: unknown) {
    super(`step ${step}/${TOTAL_STEPS} (${title}) failed: ${why instanceof Error ? why.message : String(why)}`)
  }
}

function rolesFor (hosts: number): Roles {
  const all = Array.from({ length: hosts }, (_, k) => k + 1)
  // With 4 hosts the cut peer (4) is also the one killed later: after the heal it is an ordinary node.
  return { all, observer: 2, cutPeer: hosts, killed: 4, leaver: 3 }
}

function mesh (d: Demo): MeshLab {
  if (d.m === null) throw new Error('the lab does not exist yet')
  return d.m
}

function node (d: Demo, i: number): StatusJson {
  const s = d.nodes.get(i)
  if (s === undefined) throw new Error(`no status of host ${i} yet`)
  return s
}

/** "host 3" for a PeerId the demo knows, so CLI tables can be read without matching ids by eye. */
function hostOf (d: Demo, peerId: string | null): string {
  for (const [i, s] of d.nodes) if (s.peerId === peerId) return `host ${i}`
  return peerId === null ? '-' : shortId(peerId)
}

/** Runs one step with its banner and explanation; a throw becomes a StepFailed naming the step. */
async function step (d: Demo, n: number, title: string, lookFor: string, body: () => Promise<void>): Promise<void> {
  d.guard.where = `step ${n}/${TOTAL_STEPS} (${title})`
  banner(n, TOTAL_STEPS, title)
  explain(lookFor)
  try {
    await body()
  } catch (err) {
    throw new StepFailed(n, title, err)
  }
  await pause(d.opts.fast)
}

/** Runs the real CLI inside host i against its daemon and prints the output verbatim. */
async function cli (d: Demo, i: number, args: readonly string[]): Promise<void> {
  const m = mesh(d)
  const r = await m.cli(i, [...args, '--admin-socket', m.adminSocket(i)])
  show(`[host ${i}] gridmesh ${args.join(' ')}`, (r.stdout + r.stderr).trim() || '(no output)')
  if (r.code !== 0) throw new Error(`gridmesh ${args.join(' ')} on host ${i} exited ${String(r.code)}`)
}

/** Host i's route to host j's prefix (undefined while it has none). */
async function routeTo (d: Demo, i: number, j: number): Promise<RouteJson | undefined> {
  const target = node(d, j)
  const routes = await mesh(d).routes(i)
  return routes.find(r => r.destinationPeer === target.peerId || r.destination === target.prefix)
}

/** Waits until host i's route to host j is of `kind`; returns it. */
async function waitRouteKind (d: Demo, i: number, j: number, kind: RouteJson['kind']): Promise<RouteJson> {
  return await waitFor(async () => {
    const r = await routeTo(d, i, j)
    if (r?.kind !== kind) throw new Error(`route to host ${j} is ${r?.kind ?? 'missing'}`)
    return r
  }, { what: `host ${i}'s route to host ${j} to become ${kind}`, timeoutMs: WAIT_MS, intervalMs: 200 })
}

/**
 * Waits until every host routes every other one directly. Peers turn "direct" as soon as
 * handshakes are done; link probes need a few rounds more before routes settle, and under load
 * a route can briefly go through a relay first.
 */
async function waitRoutesDirect (d: Demo, hosts: readonly number[]): Promise<void> {
  await waitFor(async () => {
    for (const i of hosts) {
      const routes = await mesh(d).routes(i)
      const direct = routes.filter(r => r.kind === 'direct').length
      if (direct !== hosts.length - 1) throw new Error(`host ${i}: ${direct}/${hosts.length - 1} routes direct`)
    }
    return true
  }, { what: `every route of hosts ${hosts.join(',')} to be direct`, timeoutMs: WAIT_MS, intervalMs: 250 })
}

/** Waits until no host in `survivors` lists host `gone` as a peer. */
async function waitDropped (d: Demo, survivors: readonly number[], gone: number): Promise<void> {
  const id = node(d, gone).peerId
  await waitFor(async () => {
    for (const i of survivors) {
      if ((await mesh(d).peers(i)).some(p => p.peerId === id)) throw new Error(`host ${i} still lists host ${gone}`)
    }
    return true
  }, { what: `hosts ${survivors.join(',')} to drop host ${gone}`, timeoutMs: WAIT_MS, intervalMs: 250 })
}

/**
 * Pings host j from host i until a run of 5 gets replies; returns that run's output. A failed
 * first run is reported (not hidden): the viewer should know when traffic needed time.
 */
async function pingUntilAnswered (d: Demo, i: number, j: number): Promise<{ output: string }> {
  const start = Date.now()
  let attempts = 0
  const r = await waitFor(async () => {
    attempts++
    const p = await pingOnce(mesh(d).lab, i, node(d, j).address)
    return p.ok ? p : null
  }, { what: `a ping reply from host ${j} to host ${i}`, timeoutMs: WAIT_MS, intervalMs: 500 })
  if (attempts > 1) say(`    (no reply on the first ${attempts - 1} run(s); replies after ${secs(Date.now() - start)})`)
  return r
}

async function stepLab (d: Demo): Promise<void> {
  await step(d, 1, `building a lab of ${d.opts.hosts} hosts`,
    'Each host is a network namespace with its own underlay address on one shared bridge; no overlay yet.', async () => {
      const m = await d.guard.creatingLab(async () => { const made = await createMeshLab({ hosts: d.opts.hosts }); return { id: made.lab.id, made } })
      d.m = m.made
      say(`    lab id: ${m.id}`)
      const rows = m.made.lab.hostList.map(h => [`host ${h.index}`, h.ns, h.ipv4, h.ipv6])
      say(table(['HOST', 'NAMESPACE', 'UNDERLAY IPv4', 'UNDERLAY IPv6'], rows).replace(/^/gm, '      '))
    })
}

async function stepStart (d: Demo): Promise<void> {
  const { all } = d.roles
  await step(d, 2, `starting ${all.length} gridmesh daemons`,
    'Host 1 starts alone; the others know only host 1\'s address and find everyone else through the private DHT.', async () => {
      const m = mesh(d)
      const { ms } = await timed(async () => {
        m.start(1, { bootstrap: [] })
        await m.waitReady(1, WAIT_MS)
        say(`    host 1 is up; starting hosts ${all.slice(1).join(', ')} with --bootstrap ${m.lab.host(1).ipv4}:7700`)
        for (const i of all.slice(1)) m.start(i)
        await m.waitFullMesh(all, MESH_WAIT_MS)
      })
      d.timings.push([`full mesh of ${all.length} hosts formed`, ms])
      say(`    full mesh: every host has ${all.length - 1} direct WireGuard peers, ${secs(ms)} after host 1 started`)
      const settled = await timed(() => waitRoutesDirect(d, all))
      d.timings.push(['every route direct (link probes settled)', ms + settled.ms])
      say(`    every host routes every other one directly, ${secs(ms + settled.ms)} after host 1 started`)
      for (const i of all) d.nodes.set(i, await m.status(i))
      const rows = all.map(i => { const s = node(d, i); return [`host ${i}`, shortId(s.peerId), s.address, s.prefix] })
      say(table(['HOST', 'PEER (short)', 'OVERLAY ADDRESS', 'OWNS PREFIX'], rows).replace(/^/gm, '      '))
    })
}

async function stepInspect (d: Demo): Promise<void> {
  const o = d.roles.observer
  await step(d, 3, 'looking at the mesh with the gridmesh CLI',
    `Host 1's identity and prefix, then host ${o}'s peers (all "direct") and routes (all "direct link up").`, async () => {
      await cli(d, 1, ['status'])
      await cli(d, o, ['peers'])
      await cli(d, o, ['routes'])
      await cli(d, o, ['graph'])
    })
}

async function stepPing (d: Demo): Promise<void> {
  const { observer: o, cutPeer: t } = d.roles
  await step(d, 4, `pinging host ${t}'s overlay address from host ${o}`,
    'The packets travel inside WireGuard from one /64 to the other; look for 0% packet loss.', async () => {
      const r = await pingUntilAnswered(d, o, t)
      show(`[host ${o}] ping -6 -c 5 ${node(d, t).address}`, statsOf(r.output))
    })
}

/** Creates a named network namespace standing in for a container on host `host`. */
function makeWorkloadNetns (d: Demo, host: number): string {
  const netns = `${mesh(d).lab.id}-w${host}`
  execFileSync('ip', ['netns', 'add', netns])
  execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up'])
  return netns
}

/** Pings from workload `from` to workload `to` (inside the workload namespaces). */
async function workloadPing (d: Demo, from: Demo['workloads'][number], to: Demo['workloads'][number]): Promise<string> {
  return await waitFor(() => {
    try {
      return execFileSync('ip', ['netns', 'exec', from.netns, 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', to.address], { encoding: 'utf8' })
    } catch { return null }
  }, { what: `workload ${from.name} to reach workload ${to.name}`, timeoutMs: WAIT_MS, intervalMs: 500 })
}

async function stepWorkloads (d: Demo): Promise<void> {
  const { observer: o, cutPeer: t } = d.roles
  await step(d, 5, `giving workloads on host ${o} and host ${t} their own mesh addresses`,
    `A workload (here a bare network namespace standing in for a container) gets an address from its host's /64 through a veth; workloads on different hosts then talk across the mesh.`, async () => {
      const m = mesh(d)
      for (const [host, name] of [[o, 'web'], [t, 'db']] as const) {
        const netns = makeWorkloadNetns(d, host)
        d.workloads.push({ host, name, netns, address: '' })
        await cli(d, host, ['workload', 'add', name, '--netns', netns])
        const list = await m.cli(host, ['workload', 'list', '--json', '--admin-socket', m.adminSocket(host)])
        const row = (JSON.parse(list.stdout) as Array<{ name: string, address: string }>).find(w => w.name === name)
        if (row === undefined) throw new Error(`workload ${name} not listed on host ${host}`)
        const w = d.workloads.find(x => x.netns === netns)
        if (w !== undefined) w.address = row.address
      }
      const [web, db] = d.workloads
      if (web === undefined || db === undefined) throw new Error('workloads missing')
      show(`[workload web on host ${o}] ping -6 -c 3 ${db.address}   (workload db on host ${t})`, statsOf(await workloadPing(d, web, db)))
    })
}

/** Removes the workload namespaces the demo created; never throws. */
function removeWorkloadNetns (d: Demo): void {
  for (const w of d.workloads) { try { execFileSync('ip', ['netns', 'del', w.netns], { stdio: 'ignore' }) } catch { /* already gone */ } }
  d.workloads = []
}

async function stepCut (d: Demo): Promise<void> {
  const { observer: o, cutPeer: t } = d.roles
  await step(d, 6, `cutting the underlay link between host ${o} and host ${t}`,
    `Host ${o} can no longer reach host ${t} directly; watch its route to host ${t} turn "relay" through a third host while a ping keeps running.`, async () => {
      const m = mesh(d)
      // The ping runs before the cut, so the gap in its replies is the real outage seen by traffic.
      const bg = startBackgroundPing(m.lab, o, node(d, t).address, `demo-ping-${o}-${t}.log`)
      await waitFor(() => repliesSoFar(bg) >= 3, { what: `the background ping ${o} -> ${t} to get replies`, timeoutMs: WAIT_MS, intervalMs: 100 })
      say(`    background ping ${o} -> ${t} running (every 0.2 s); cutting the link now`)
      await m.lab.cut(o, t)
      const cutAt = Date.now()
      const route = await waitRouteKind(d, o, t, 'relay')
      const rerouteMs = Date.now() - cutAt
      d.timings.push([`reroute ${o}->${t} via relay after the cut`, rerouteMs])
      say(`    host ${o} now reaches host ${t} through ${hostOf(d, route.via)}, ${secs(rerouteMs)} after the cut`)
      await cli(d, o, ['routes'])
      await cli(d, o, ['routes', '--explain', node(d, t).prefix])
      await cli(d, o, ['peers'])
      const proof = await pingUntilAnswered(d, o, t)
      show(`[host ${o}] ping -6 -c 5 ${node(d, t).address}   (through the relay)`, statsOf(proof.output))
      const [web, db] = d.workloads
      if (web !== undefined && db !== undefined) {
        show(`[workload web on host ${o}] ping -6 -c 3 ${db.address}   (workload to workload, through the relay)`, statsOf(await workloadPing(d, web, db)))
      }
      const summary = await stopBackgroundPing(m.lab, bg)
      d.timings.push([`longest ping gap ${o}->${t} during the cut`, summary.longestGapMs])
      say(`    background ping: ${summary.transmitted} sent, ${summary.received} answered, ${summary.missing} lost around the cut; ` +
        `longest stretch without replies: ${secs(summary.longestGapMs)}`)
    })
}

async function stepHeal (d: Demo): Promise<void> {
  const { observer: o, cutPeer: t } = d.roles
  await step(d, 7, `healing the link between host ${o} and host ${t}`,
    `Once the direct link answers probes again, the route goes back to "direct" (after a short hold-down, so it does not flap).`, async () => {
      const m = mesh(d)
      await m.lab.heal(o, t)
      const { ms } = await timed(() => waitRouteKind(d, o, t, 'direct'))
      d.timings.push([`back to direct ${o}->${t} after the heal`, ms])
      say(`    host ${o}'s route to host ${t} is direct again, ${secs(ms)} after the heal`)
      await cli(d, o, ['routes'])
    })
}

async function stepKill (d: Demo): Promise<void> {
  const { all, killed: k } = d.roles
  const survivors = all.filter(i => i !== k)
  await step(d, 8, `killing host ${k}'s daemon with kill -9`,
    `A crash sends no goodbye: the others notice closed connections and missing heartbeats (alive -> suspect -> dead) and purge host ${k}.`, async () => {
      const m = mesh(d)
      const { ms } = await timed(async () => {
        await m.stop(k, 'SIGKILL')
        await waitDropped(d, survivors, k)
      })
      d.timings.push([`killed host ${k} purged by all survivors`, ms])
      say(`    every survivor (hosts ${survivors.join(', ')}) dropped host ${k}, ${secs(ms)} after kill -9`)
      await cli(d, 1, ['peers'])
    })
}

async function stepLeave (d: Demo): Promise<void> {
  const { all, killed: k, leaver: l, observer: o } = d.roles
  const survivors = all.filter(i => i !== k && i !== l)
  await step(d, 9, `host ${l} leaves gracefully with "gridmesh leave"`,
    `A leaving node says goodbye, so the others drop it at once instead of waiting for a timeout.`, async () => {
      const m = mesh(d)
      const proc = m.proc(l)
      // Timed from when `leave` returned: starting the CLI itself (Node) is not the mesh's doing.
      await cli(d, l, ['leave'])
      const { ms } = await timed(() => waitDropped(d, survivors, l))
      d.timings.push([`leaving host ${l} dropped by all survivors`, ms])
      const code = proc === undefined ? null : await waitFor(async () => proc.running ? null : { code: await proc.exited }, { what: `host ${l}'s daemon to exit`, timeoutMs: WAIT_MS })
      say(`    host ${l}'s daemon exited with code ${String(code?.code)}; survivors (hosts ${survivors.join(', ')}) dropped it ${secs(ms)} after the leave`)
      await cli(d, o, ['peers'])
    })
}

/** --keep: leave the lab up and tell the person how to look around. */
async function keepRunning (d: Demo): Promise<void> {
  const m = mesh(d)
  const alive = d.roles.all.filter(i => m.proc(i)?.running === true)
  d.guard.where = 'the --keep pause'
  say()
  say(`==> the lab is yours: hosts ${alive.join(', ')} are still running (host ${d.roles.killed} was killed, host ${d.roles.leaver} left)`)
  say(`    enter a host:        ${LAB_SH} exec ${m.lab.id} <i> bash`)
  say(`    run the CLI there:   ${GRIDMESH_BIN} peers --admin-socket ${m.lab.dir}/h<i>/admin.sock`)
  say(`    also useful there:   wg show; ip -6 route; nft list ruleset`)
  say(`    daemon logs:         ${m.lab.logDir}/h<i>.log`)
  say('    press Enter to clean up and finish (Ctrl-C also cleans up, and exits 130)')
  await d.guard.waitForEnter()
}

/** Namespaces of the lab that still exist (should be none after destroy). */
function leftoverNamespaces (id: string): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
  return out.split('\n').map(l => l.split(' ')[0] ?? '').filter(ns => ns.startsWith(`${id}-`))
}

async function stepCleanup (d: Demo): Promise<void> {
  await step(d, 10, 'cleaning up', 'Every daemon and namespace of the lab is removed; nothing is left on the machine.', async () => {
    const m = mesh(d)
    await m.destroy()
    removeWorkloadNetns(d)
    d.m = null // destroyed: nothing left for the failure path to clean
    const left = leftoverNamespaces(m.lab.id)
    if (left.length > 0) throw new Error(`namespaces left behind: ${left.join(' ')}`)
    say(`    lab ${m.lab.id} destroyed: 0 namespaces left`)
    say()
    say('summary of measured times:')
    say(table(['WHAT', 'TIME'], d.timings.map(([what, ms]) => [what, secs(ms)])).replace(/^/gm, '  '))
  })
}

async function runDemo (d: Demo): Promise<void> {
  say(`gridmesh demo: ${d.opts.hosts} hosts${d.opts.fast ? ' (fast)' : ''} — a WireGuard full mesh over a private libp2p DHT, in network namespaces`)
  await stepLab(d)
  await stepStart(d)
  await stepInspect(d)
  await stepPing(d)
  await stepWorkloads(d)
  await stepCut(d)
  await stepHeal(d)
  await stepKill(d)
  await stepLeave(d)
  if (d.opts.keep) await keepRunning(d)
  await stepCleanup(d)
  say('\ndemo finished')
}

/** Destroys the lab if a failed step left it up; never throws (we are already failing). */
async function cleanupAfterFailure (d: Demo): Promise<void> {
  removeWorkloadNetns(d)
  if (d.m === null) return
  d.guard.where = 'cleanup after the failure'
  say(`cleaning up lab ${d.m.lab.id} (daemon logs were in ${d.m.lab.logDir}; set KEEP_LAB=1 to keep them)`)
  try { await d.m.destroy() } catch (err) { say(`cleanup failed: ${err instanceof Error ? err.message : String(err)}; run ${LAB_SH} destroy ${d.m.lab.id}`) }
}

async function main (): Promise<number> {
  let parsed: DemoOptions | 'help'
  try {
    parsed = parseOptions(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`demo: ${err.message}\n${USAGE}\n`)
    return 2
  }
  if (parsed === 'help') { say(USAGE); return 0 }
  if (process.getuid?.() !== 0) { process.stderr.write('demo: must run as root (it creates network namespaces)\n'); return 2 }
  const guard = new InterruptGuard()
  guard.install()
  const d: Demo = { opts: parsed, guard, roles: rolesFor(parsed.hosts), m: null, nodes: new Map(), timings: [], workloads: [] }
  try {
    await runDemo(d)
    return 0
  } catch (err) {
    say()
    say(`demo failed: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  } finally {
    // Idempotent: after a successful step 9 this is a no-op.
    await cleanupAfterFailure(d)
  }
}

// Exit explicitly: a stray handle (a socket of a dead daemon) must not keep the demo hanging.
process.exit(await main())
