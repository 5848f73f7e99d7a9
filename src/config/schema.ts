/**
 * The one config schema. Every option has its default here and nowhere else;
 * flags, GRIDMESH_* env vars and the YAML config file are merged into it by
 * load.ts (flags win over env, env over file), unknown keys are rejected, and
 * the daemon receives a frozen, typed Config before anything on the system
 * changes.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { z } from 'zod'
import { multiaddr } from '@multiformats/multiaddr'
import { parseAuthorityId } from '../admission/authority.ts'
import { BOOTSTRAP_SHAPE, BootstrapError, listenAddr, toDialAddr } from '../mesh/addr.ts'
import { parseHostPort } from '../net/host-port.ts'
import { isNodePrefix, meshPrefixFromName, parseMeshPrefix } from '../mesh/allocation.ts'
import { parseIpv6Prefix, type Ipv6Prefix } from '../net/prefix.ts'

/** Defaults, also shown by `--help`. */
export const DEFAULTS = {
  interface: 'gridmesh0',
  listen: '0.0.0.0:7700',
  wgPort: 51820,
  probePort: 51821,
  adminSocket: '/run/gridmesh/gridmesh.sock',
  mtu: 1420,
  logLevel: 'info',
  logFormat: 'json',
  /** Membership heartbeats: link changes and leaves are announced at once; this paces the rest. */
  heartbeatMs: 2000,
  /** Direct-link probes: a link is down after 3 consecutive probes go unanswered within the timeout. */
  probeIntervalMs: 100,
  probeTimeoutMs: 400
} as const

const MESH_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/
/** Linux IFNAMSIZ is 16 including the NUL; no '/', whitespace or ':'. */
const IFNAME = /^[a-zA-Z0-9_.-]{1,15}$/
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[a-zA-Z0-9.-]+):(\d{1,5})$/

const port = z.number().int().min(1).max(65535)

export const hostPort = z.string().regex(HOST_PORT, 'expected HOST:PORT (IPv6 as [addr]:port)')
  .refine(s => (parseHostPort(s)?.port ?? 0) >= 1, 'port must be 1-65535')

/** Hosts the metrics listener may bind: loopback only (see `metrics` below). */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '::1'])

/** A metrics listener address: HOST:PORT with HOST 127.0.0.1 or [::1]. */
export const metricsAddress = hostPort.refine(s => LOOPBACK_HOSTS.has(parseHostPort(s)?.host ?? ''),
  'metrics must listen on a loopback address (127.0.0.1:PORT or [::1]:PORT): /metrics has no authentication and reveals the mesh topology; scrape it through a local agent or an SSH tunnel')

/**
 * A `listen` address: the daemon splits it into host and port and listens on
 * `listenAddr(host, port)` (/ip4 or /ip6, never DNS), so the host must be an
 * IPv4 literal or a bracketed IPv6 literal.
 */
export const listenAddress = hostPort.refine(s => {
  const hp = parseHostPort(s)
  if (hp === null || !(s.startsWith('[') ? isIPv6(hp.host) : isIPv4(hp.host))) return false
  try { multiaddr(listenAddr(hp.host, hp.port)); return true } catch { return false }
}, 'listen must be IP:PORT with an IP address, not a host name (e.g. 0.0.0.0:7700 or [::]:7700)')

/**
 * A bootstrap is `host:port` (PeerId learned on connect) or a full multiaddr;
 * the node's own parser (toDialAddr) decides, so the config accepts exactly
 * what the node can dial and names what is wrong otherwise.
 */
export const bootstrapEntry = z.string().superRefine((s, ctx) => {
  try { toDialAddr(s) } catch (err) {
    const shape = err instanceof BootstrapError && err.shape
    ctx.addIssue({ code: 'custom', message: `"${s}" ${shape ? BOOTSTRAP_SHAPE : `is not a usable bootstrap: ${err instanceof Error ? err.message : String(err)}`}` })
  }
})

export const configSchema = z.object({
  mesh: z.string({ error: 'missing: the mesh name (--mesh NAME)' })
    .regex(MESH_NAME, 'mesh name must be 1-63 chars of a-z 0-9 . _ - starting with a letter or digit'),
  stateDir: z.string({ error: 'missing: the state directory (--state-dir DIR)' })
    .min(1).refine(s => s.startsWith('/'), 'state dir must be an absolute path'),
  interface: z.string().regex(IFNAME, 'interface name must be 1-15 chars of a-z A-Z 0-9 _ . -').default(DEFAULTS.interface),
  listen: listenAddress.default(DEFAULTS.listen),
  wgPort: port.default(DEFAULTS.wgPort),
  probePort: port.default(DEFAULTS.probePort),
  bootstrap: z.array(bootstrapEntry).max(64).default([]),
  /** WireGuard endpoints to publish; default: the underlay addresses libp2p listens on, with wgPort. */
  announce: z.array(hostPort).max(8).default([]),
  adminSocket: z.string().min(1).refine(s => s.startsWith('/'), 'admin socket must be an absolute path').default(DEFAULTS.adminSocket),
  /** Override of the ULA /48 derived from the mesh name. */
  meshPrefix: z.string().optional(),
  /** A /64 to claim first (collisions still resolved by the shared rule). */
  prefix: z.string().optional(),
  mtu: z.number().int().min(1280).max(9000).default(DEFAULTS.mtu),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(DEFAULTS.logLevel),
  /** `json` (one object per line, for journald and log shippers) or `pretty` (for a terminal). */
  logFormat: z.enum(['json', 'pretty']).default(DEFAULTS.logFormat),
  heartbeatMs: z.number().int().min(100).max(60_000).default(DEFAULTS.heartbeatMs),
  probeIntervalMs: z.number().int().min(20).max(60_000).default(DEFAULTS.probeIntervalMs),
  probeTimeoutMs: z.number().int().min(50).max(60_000).default(DEFAULTS.probeTimeoutMs),
  /** Prometheus `GET /metrics` listener, loopback only; absent = no listener (the default). */
  metrics: metricsAddress.optional(),
  /** Closed mesh: the `gm1:<mesh>:…` id printed by `gridmesh mesh init`. Unset = open mesh. */
  authority: z.string().min(1).max(200).optional(),
  /** Closed mesh: a `gmt1.…` join token (a secret; saved to <stateDir>/join.token on first start). */
  token: z.string().min(1).max(4096).optional(),
  /** Closed mesh: read the join token from this file instead (keeps it out of argv). */
  tokenFile: z.string().min(1).optional(),
  /** go-ipfs swarm key file (0600): only holders can open libp2p connections (pnet). */
  pskFile: z.string().min(1).optional()
}).strict().superRefine((c, ctx) => {
  if (c.authority !== undefined) {
    try {
      const id = parseAuthorityId(c.authority)
      if (id.mesh !== c.mesh) ctx.addIssue({ code: 'custom', path: ['authority'], message: `the authority is for mesh "${id.mesh}", not "${c.mesh}"; use the authority.id of this mesh` })
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['authority'], message: err instanceof Error ? err.message : String(err) })
    }
  } else if (c.token !== undefined || c.tokenFile !== undefined) {
    ctx.addIssue({ code: 'custom', path: [c.token !== undefined ? 'token' : 'tokenFile'], message: 'a join token needs --authority (the mesh authority id) to be checked against' })
  }
  if (c.token !== undefined && c.tokenFile !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['tokenFile'], message: 'give either --token or --token-file, not both' })
  }
  if (c.wgPort === c.probePort) ctx.addIssue({ code: 'custom', path: ['probePort'], message: 'probe port must differ from the WireGuard port' })
  checkPrefixes(c, ctx)
})

/**
 * The prefix rules `up` applies (mesh/allocation.ts), checked here so that
 * `--check-config`, the installer and `up` refuse exactly the same configs:
 * the mesh prefix is a /48; a requested prefix is a usable /64 inside it.
 */
function checkPrefixes (c: { mesh: string, meshPrefix?: string | undefined, prefix?: string | undefined }, ctx: z.RefinementCtx): void {
  const message = (err: unknown): string => err instanceof Error ? err.message : String(err)
  let mesh: Ipv6Prefix
  try {
    mesh = c.meshPrefix !== undefined ? parseMeshPrefix(c.meshPrefix) : meshPrefixFromName(c.mesh)
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['meshPrefix'], message: message(err) })
    return
  }
  if (c.prefix === undefined) return
  let p: Ipv6Prefix
  try { p = parseIpv6Prefix(c.prefix) } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['prefix'], message: message(err) })
    return
  }
  if (!isNodePrefix(mesh, p)) {
    ctx.addIssue({ code: 'custom', path: ['prefix'], message: `${c.prefix} is not a /64 inside the mesh prefix ${mesh} (subnet ids 0 and ffff are reserved); pick one inside it or omit it` })
  }
}

export type Config = Readonly<z.output<typeof configSchema>>
export type ConfigInput = z.input<typeof configSchema>

/** The config keys, in the order `--check-config` prints them. */
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof Config)[]
