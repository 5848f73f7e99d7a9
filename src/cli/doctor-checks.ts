/**
 * `gridmesh doctor`: each check turns facts about the host into one result
 * with a fix for every failure. The facts come through `DoctorHost` (real
 * implementation in doctor.ts, fakes in the tests), so the checks are pure.
 */
import type { StatusView } from '../admin/contract.ts'

export type CheckStatus = 'ok' | 'warn' | 'fail'
export interface CheckResult { readonly name: string, readonly status: CheckStatus, readonly detail: string, readonly fix?: string }

/** What the checks need to know about the host. */
export interface DoctorHost {
  /** Path of an executable on PATH, or null. */
  which (cmd: string): Promise<string | null>
  exists (path: string): Promise<boolean>
  /** Runs a command; null when it cannot be started. */
  run (cmd: string, args: readonly string[]): Promise<{ code: number, stdout: string } | null>
  /** Whether a UDP / TCP port can be bound now (false: in use). */
  udpFree (port: number): Promise<boolean>
  tcpFree (host: string, port: number): Promise<boolean>
  /** Whether a TCP connection to host:port opens within a few seconds. */
  tcpReachable (host: string, port: number): Promise<boolean>
  /** The daemon's status, or the error that says why it does not answer. */
  daemon (): Promise<{ status: StatusView } | { error: string, code: string }>
  now (): number
}

/** What the checks need from the config. */
export interface DoctorConfig {
  readonly adminSocket: string
  readonly wgPort: number
  readonly probePort: number
  readonly listen: { readonly host: string, readonly port: number }
  /** Each bootstrap as given, with the TCP host and port it dials (null: cannot tell). */
  readonly bootstrap: ReadonlyArray<{ readonly entry: string, readonly host: string, readonly port: number } | { readonly entry: string, readonly host: null, readonly port: null }>
}

const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail })
const warn = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'warn', detail, fix })
const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'fail', detail, fix })
const APT = 'apt-get install --no-install-recommends'

export async function checkWireGuard (h: DoctorHost): Promise<CheckResult> {
  const kernel = await h.exists('/sys/module/wireguard')
  const go = await h.which('wireguard-go')
  if (!kernel && go === null) return fail('wireguard', 'neither the wireguard kernel module nor wireguard-go is available', `${APT} wireguard-go (or load the kernel module: modprobe wireguard)`)
  return ok('wireguard', [kernel ? 'kernel module loaded' : '', go !== null ? `wireguard-go at ${go}` : ''].filter(s => s !== '').join(', '))
}

export async function checkTools (h: DoctorHost): Promise<CheckResult> {
  const need: Array<[string, string]> = [['wg', 'wireguard-tools'], ['ip', 'iproute2'], ['nft', 'nftables'], ['ping', 'iputils-ping']]
  const missing: Array<[string, string]> = []
  for (const [cmd, pkg] of need) if (await h.which(cmd) === null) missing.push([cmd, pkg])
  if (missing.length > 0) return fail('tools', `missing: ${missing.map(m => m[0]).join(', ')}`, `${APT} ${missing.map(m => m[1]).join(' ')}`)
  return ok('tools', need.map(n => n[0]).join(', ') + ' present')
}

export function checkDaemon (d: Awaited<ReturnType<DoctorHost['daemon']>>, socket: string): CheckResult {
  if ('status' in d) return ok('admin socket', `daemon answers on ${socket}: peer ${d.status.peerId}, members ${d.status.members}`)
  if (d.code === 'ERR_NOT_PERMITTED') return fail('admin socket', d.error, 'run gridmesh doctor as root')
  if (/is a (directory|regular file|special file)|not a socket path/.test(d.error)) return fail('admin socket', d.error, 'point --admin-socket / GRIDMESH_ADMIN_SOCKET at the daemon\'s socket')
  return warn('admin socket', `no daemon answers on ${socket}`, 'start it (systemctl start gridmesh, or gridmesh up --config FILE), or pass the socket it uses with --admin-socket')
}

/** checkPorts: free, or in use by the running daemon; anything else holds them. */
export async function checkPorts (h: DoctorHost, c: DoctorConfig, daemonRuns: boolean): Promise<CheckResult> {
  const taken: string[] = []
  if (!await h.udpFree(c.wgPort)) taken.push(`UDP ${c.wgPort} (--wg-port)`)
  if (!await h.udpFree(c.probePort)) taken.push(`UDP ${c.probePort} (--probe-port)`)
  if (!await h.tcpFree(c.listen.host, c.listen.port)) taken.push(`TCP ${c.listen.port} (--listen)`)
  if (taken.length === 0) return ok('ports', `UDP ${c.wgPort}, UDP ${c.probePort} and TCP ${c.listen.port} are free`)
  if (daemonRuns) return ok('ports', `${taken.join(', ')} in use by the running daemon`)
  return fail('ports', `in use by another process: ${taken.join(', ')}`,
    'find it with `ss -lunpt`; stop it, or give this node other ports (--wg-port, --probe-port, --listen; two meshes on one host need different ones)')
}

export async function checkBootstrap (h: DoctorHost, c: DoctorConfig): Promise<CheckResult> {
  if (c.bootstrap.length === 0) return ok('bootstrap', 'none configured (this is a first node; others bootstrap from it)')
  const down: string[] = []
  for (const b of c.bootstrap) {
    if (b.host === null) continue
    if (!await h.tcpReachable(b.host, b.port)) down.push(b.entry)
  }
  if (down.length === c.bootstrap.length) {
    return fail('bootstrap', `no bootstrap reachable over TCP: ${down.join(', ')}`,
      'check each address and port (the node there must run gridmesh with --listen on that port) and that TCP to it is not filtered')
  }
  if (down.length > 0) return warn('bootstrap', `unreachable: ${down.join(', ')} (${c.bootstrap.length - down.length} reachable)`, 'fix or drop the unreachable entries')
  return ok('bootstrap', `${c.bootstrap.length} reachable over TCP`)
}

export async function checkNftables (h: DoctorHost, daemonRuns: boolean): Promise<CheckResult> {
  const version = await h.run('nft', ['--version'])
  if (version === null || version.code !== 0) return fail('nftables', 'nft does not run', `${APT} nftables`)
  if (!daemonRuns) return ok('nftables', version.stdout.trim())
  const table = await h.run('nft', ['list', 'table', 'inet', 'gridmesh'])
  if (table === null || table.code !== 0) return warn('nftables', 'the daemon runs but table inet gridmesh is missing (underlay spoofing is not filtered)', 'restart the daemon (systemctl restart gridmesh); check its log for nft errors')
  return ok('nftables', `${version.stdout.trim()}; table inet gridmesh present`)
}

/** The clock: closed meshes sign tokens and certificates with expiry times, so a wrong clock refuses joins. */
export async function checkClock (h: DoctorHost): Promise<CheckResult> {
  const now = h.now()
  if (now < Date.UTC(2025, 0, 1)) return fail('clock', `the clock says ${new Date(now).toISOString()}`, 'set the time and enable NTP: timedatectl set-ntp true')
  const sync = await h.run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'])
  if (sync === null || sync.code !== 0) return ok('clock', `${new Date(now).toISOString()} (cannot tell whether NTP is synchronized)`)
  if (sync.stdout.trim() !== 'yes') return warn('clock', 'the clock is not synchronized (NTP)', 'timedatectl set-ntp true; join tokens and certificates expire by wall-clock time')
  return ok('clock', `${new Date(now).toISOString()}, NTP synchronized`)
}

/** runChecks runs every check in order. */
export async function runChecks (h: DoctorHost, c: DoctorConfig): Promise<CheckResult[]> {
  const d = await h.daemon()
  const runs = 'status' in d
  return [
    await checkWireGuard(h), await checkTools(h), checkDaemon(d, c.adminSocket), await checkPorts(h, c, runs),
    await checkBootstrap(h, c), await checkNftables(h, runs), await checkClock(h)
  ]
}

/** renderChecks is the human form: one line per check, the fix under a failure or warning. */
export function renderChecks (results: readonly CheckResult[]): string {
  const w = Math.max(...results.map(r => r.name.length))
  const label = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const
  return results.map(r => `${label[r.status]}  ${r.name.padEnd(w)}  ${r.detail}${r.fix === undefined ? '' : `\n      ${' '.repeat(w)}  fix: ${r.fix}`}`).join('\n') + '\n'
}
