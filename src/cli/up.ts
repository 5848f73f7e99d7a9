/**
 * `gridmesh up`: run the node in the foreground. Config is merged and
 * validated (exit 2 on any error) before anything on the system changes;
 * `--check-config` stops right there and prints the resolved config.
 */
import { Command } from 'commander'
import { DEFAULTS } from '../config/schema.ts'
import { loadConfig } from '../config/load.ts'
import { allWarnings } from '../config/warnings.ts'
import { preflight } from '../config/preflight.ts'

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value]

export function registerUp (program: Command): void {
  program.command('up')
    .description('join the mesh and run the node in the foreground (SIGTERM/SIGINT = graceful leave, SIGHUP = reload the config)')
    .option('--mesh <name>', 'mesh name (env GRIDMESH_MESH; required)')
    .option('--state-dir <dir>', 'state directory for keys and state, created 0700 (env GRIDMESH_STATE_DIR; required)')
    .option('--interface <name>', `WireGuard interface name (default ${DEFAULTS.interface})`)
    .option('--listen <host:port>', `libp2p listen address (default ${DEFAULTS.listen})`)
    .option('--wg-port <port>', `WireGuard UDP port (default ${DEFAULTS.wgPort})`)
    .option('--bootstrap <addr>', 'seed node, HOST:PORT or multiaddr; repeatable (default none: first node)', collect)
    .option('--announce <host:port>', 'WireGuard endpoint to publish; repeatable (default: the listen addresses with --wg-port)', collect)
    .option('--admin-socket <path>', `admin API unix socket (default ${DEFAULTS.adminSocket})`)
    .option('--config <file>', 'YAML config file; flags and GRIDMESH_* env override it (env GRIDMESH_CONFIG)')
    .option('--mesh-prefix <cidr>', 'override the ULA /48 derived from the mesh name')
    .option('--prefix <cidr>', 'ask for this /64 first (collisions are still resolved by the shared rule)')
    .option('--mtu <bytes>', `interface MTU (default ${DEFAULTS.mtu})`)
    .option('--probe-port <port>', `UDP port of the direct-link prober (default ${DEFAULTS.probePort})`)
    .option('--heartbeat-ms <ms>', `membership heartbeat interval (default ${DEFAULTS.heartbeatMs})`)
    .option('--probe-interval-ms <ms>', `direct-link probe interval (default ${DEFAULTS.probeIntervalMs})`)
    .option('--probe-timeout-ms <ms>', `a probe unanswered this long counts as lost; stretched automatically on jittery paths (default ${DEFAULTS.probeTimeoutMs})`)
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics; loopback only (env GRIDMESH_METRICS; default off)')
    .option('--authority <id>', 'closed mesh: the mesh authority id (gm1:<mesh>:…) from `gridmesh mesh init` (env GRIDMESH_AUTHORITY)')
    .option('--token <gmt1>', 'closed mesh: join token from `gridmesh invite`; redeemed on first start, not needed afterwards (a secret: prefer --token-file)')
    .option('--token-file <file>', 'closed mesh: read the join token from this file')
    .option('--psk-file <file>', 'libp2p private-network swarm key (0600), from `gridmesh psk generate`')
    .option('--log-level <level>', `fatal|error|warn|info|debug|trace|silent (default ${DEFAULTS.logLevel})`)
    .option('--log-format <format>', `json|pretty: JSON lines or human-readable lines on stderr (default ${DEFAULTS.logFormat})`)
    .option('--check-config', 'validate the config, print it resolved, and exit without touching the system')
    .action(async (opts: Record<string, unknown>) => {
      const { checkConfig, ...flags } = opts
      const config = loadConfig({ flags, env: process.env })
      // Same validation, same warnings for --check-config (and so the installer) and a real start.
      for (const w of allWarnings(config, process.env)) process.stderr.write(`gridmesh: warning: ${w}\n`)
      await preflight(config, Date.now())
      if (checkConfig === true) {
        // The join token is a secret: never printed.
        process.stdout.write(JSON.stringify(config.token === undefined ? config : { ...config, token: '[redacted]' }, null, 2) + '\n')
        return
      }
      const { runDaemon } = await import('../daemon/run.ts')
      await runDaemon(config, { flags, env: { ...process.env } })
    })
}
