/**
 * `gridmesh doctor`: checks what a node needs — WireGuard (kernel or
 * wireguard-go), the tools, the daemon's admin socket, its ports, the
 * bootstraps, nftables and the clock — and prints a fix for each failure.
 * Reads the same config sources as `up` (flags, GRIDMESH_*, --config).
 * Exit 0 when nothing failed (warnings allowed), 1 otherwise.
 */
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { access, constants } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { delimiter, join } from 'node:path'
import type { Command } from 'commander'
import { DEFAULTS, type Config } from '../config/schema.ts'
import { loadConfig } from '../config/load.ts'
import { toDialAddr } from '../mesh/addr.ts'
import { splitHostPort } from '../net/host-port.ts'
import { isGridmeshError } from '../errors.ts'
import { adminCall } from '../admin/client.ts'
import { printJson } from './common.ts'
import { renderChecks, runChecks, type CheckResult, type DoctorConfig, type DoctorHost } from './doctor-checks.ts'

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value]

function bindable (family: 'udp4' | 'udp6', port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = createSocket({ type: family, ipv6Only: family === 'udp6' })
    s.once('error', (err: NodeJS.ErrnoException) => { s.close(); resolve(err.code !== 'EADDRINUSE') })
    s.bind(port, family === 'udp4' ? '0.0.0.0' : '::', () => { s.close(); resolve(true) })
  })
}

/** realHost reads the facts from this machine. */
export function realHost (adminSocket: string): DoctorHost {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'].filter(d => d !== '')
  return {
    which: async cmd => {
      for (const d of dirs) {
        try { await access(join(d, cmd), constants.X_OK); return join(d, cmd) } catch { /* next */ }
      }
      return null
    },
    exists: async path => await access(path).then(() => true, () => false),
    run: (cmd, args) => new Promise(resolve => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 })
      let stdout = ''
      child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8') })
      child.on('error', () => { resolve(null) })
      child.on('close', code => { resolve({ code: code ?? 1, stdout }) })
    }),
    udpFree: async port => await bindable('udp4', port) && await bindable('udp6', port),
    tcpFree: (host, port) => new Promise(resolve => {
      const server = createServer()
      server.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code !== 'EADDRINUSE') })
      server.listen({ host, port }, () => { server.close(() => { resolve(true) }) })
    }),
    tcpReachable: (host, port) => new Promise(resolve => {
      const sock = connect({ host, port, timeout: 3_000 })
      const done = (ok: boolean): void => { sock.destroy(); resolve(ok) }
      sock.once('connect', () => { done(true) })
      sock.once('timeout', () => { done(false) })
      sock.once('error', () => { done(false) })
    }),
    daemon: async () => {
      try { return { status: await adminCall(adminSocket, 'GET /v1/status') } } catch (err) {
        return { error: err instanceof Error ? err.message : String(err), code: isGridmeshError(err) ? err.code : 'ERR_INTERNAL' }
      }
    },
    now: () => Date.now()
  }
}

/** dialTarget is the TCP host and port a bootstrap entry dials (null when it cannot tell). */
export function dialTarget (entry: string): { host: string, port: number } | null {
  try {
    const m = /^\/(?:ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d+)/.exec(toDialAddr(entry).toString())
    return m === null ? null : { host: m[1] ?? '', port: Number(m[2]) }
  } catch { return null }
}

/** doctorConfig loads the config like `up`; a config that is incomplete still gives ports and bootstraps. */
export function doctorConfig (flags: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): { config: DoctorConfig, check: CheckResult } {
  let config: Config | null = null
  let check: CheckResult
  try {
    config = loadConfig({ flags, env })
    check = { name: 'config', status: 'ok', detail: 'valid (same validation as gridmesh up)' }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    try {
      // mesh and stateDir do not matter to the checks below.
      config = loadConfig({ flags: { mesh: 'doctor', stateDir: '/var/lib/gridmesh', ...flags }, env })
      check = /missing: /.test(message)
        ? { name: 'config', status: 'warn', detail: message, fix: 'give doctor the node\'s config: --config /etc/gridmesh/gridmesh.yaml (or its flags)' }
        : { name: 'config', status: 'fail', detail: message, fix: 'fix the config; gridmesh up --check-config shows the same error' }
    } catch {
      check = { name: 'config', status: 'fail', detail: message, fix: 'fix the config; gridmesh up --check-config shows the same error' }
    }
  }
  const c = config
  const listen = splitHostPort(c?.listen ?? DEFAULTS.listen)
  return {
    check,
    config: {
      adminSocket: c?.adminSocket ?? (flags.adminSocket as string | undefined) ?? env.GRIDMESH_ADMIN_SOCKET ?? DEFAULTS.adminSocket,
      wgPort: c?.wgPort ?? DEFAULTS.wgPort,
      probePort: c?.probePort ?? DEFAULTS.probePort,
      listen,
      bootstrap: (c?.bootstrap ?? []).map(entry => {
        const t = dialTarget(entry)
        return t === null ? { entry, host: null, port: null } : { entry, ...t }
      })
    }
  }
}

export function registerDoctor (program: Command): void {
  program.command('doctor')
    .description('check this host for gridmesh: wireguard, tools, admin socket, ports, bootstraps, nftables, clock; with a fix per failure')
    .option('--config <file>', 'the node\'s YAML config (env GRIDMESH_CONFIG)')
    .option('--mesh <name>', 'mesh name')
    .option('--state-dir <dir>', 'state directory')
    .option('--listen <host:port>', `libp2p listen address (default ${DEFAULTS.listen})`)
    .option('--wg-port <port>', `WireGuard UDP port (default ${DEFAULTS.wgPort})`)
    .option('--probe-port <port>', `prober UDP port (default ${DEFAULTS.probePort})`)
    .option('--bootstrap <addr>', 'seed node to test; repeatable', collect)
    .option('--admin-socket <path>', `admin socket of the daemon (default ${DEFAULTS.adminSocket})`)
    .option('--json', 'print JSON instead of lines')
    .action(async (opts: Record<string, unknown>) => {
      const { json, ...flags } = opts
      const { config, check } = doctorConfig(flags, process.env)
      const results = [check, ...await runChecks(realHost(config.adminSocket), config)]
      if (json === true) printJson(results)
      else process.stdout.write(renderChecks(results))
      if (results.some(r => r.status === 'fail')) process.exitCode = 1
    })
}
