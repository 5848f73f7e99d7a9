/**
 * The network driver: addresses, routes, MTU and sysctls of the mesh
 * interface via `ip` and /proc/sys. "Make it so": each call reads the current
 * state and changes only what differs, so calling it again is a no-op.
 * Ownership of routes is marked with our own routing protocol number
 * (`GRIDMESH_ROUTE_PROTO`): routes the kernel adds (the connected /64 of our
 * address, fe80::/64, multicast) are never touched, and a leftover route from
 * a crashed run is still recognised as ours.
 */
import type { CommandRunner } from './command.ts'
import type { Ipv6Address, Ipv6Prefix } from './prefix.ts'
import { readIfaceAddrs, readOwnRoutes } from './ip-read.ts'
import { writeSysctl } from './sysctl.ts'

/**
 * Routing protocol number that marks gridmesh routes (`ip route … proto 77`).
 * Unassigned in iproute2's rt_protos (0–18, 42, 99, 186–192 are taken).
 */
export const GRIDMESH_ROUTE_PROTO = '77'
/** The kernel's default IPv6 route metric, used when a desired route names none. */
export const DEFAULT_ROUTE_METRIC = 1024

/** One address on the interface. */
export interface InterfaceAddress { readonly address: Ipv6Address, readonly prefixLength: number }
/** One route out of the interface. */
export interface InterfaceRoute {
  readonly destination: Ipv6Prefix
  readonly metric?: number
  /** Preferred source address, so traffic leaves from the node address and not a probe address. */
  readonly src?: Ipv6Address
}

/** Everything the net driver manages on one interface. */
export interface InterfaceConfig {
  readonly addresses: readonly InterfaceAddress[]
  readonly mtu: number
  readonly routes: readonly InterfaceRoute[]
}

/** NetDriver configures interfaces; every method is idempotent. */
export interface NetDriver {
  /** Makes the interface's global addresses, our routes, MTU and up-state match `desired`. */
  applyInterface (iface: string, desired: InterfaceConfig): Promise<void>
  /** Removes our routes and global addresses from the interface; no-op if it is gone. */
  removeInterfaceConfig (iface: string): Promise<void>
  /** Writes one sysctl (`net.ipv6.conf.all.forwarding` or a /proc/sys-relative path); skips if equal. */
  setSysctl (key: string, value: string): Promise<void>
}

/** Options of the real driver. */
export interface IpDriverInit {
  readonly runner: CommandRunner
  /** Root of the sysctl tree; tests point it at a temp dir. */
  readonly procSysRoot?: string
}

const routeKey = (dst: string, metric: number, src: string | null): string => `${dst} metric ${metric} src ${src ?? '-'}`

/** createIpDriver builds the real NetDriver on top of `ip`. */
export function createIpDriver (init: IpDriverInit): NetDriver {
  const { runner } = init
  const procSysRoot = init.procSysRoot ?? '/proc/sys'

  async function applyAddresses (iface: string, desired: readonly InterfaceAddress[]): Promise<void> {
    const current = await readIfaceAddrs(runner, iface)
    const want = new Set(desired.map(a => `${a.address}/${a.prefixLength}`))
    for (const have of current.globalAddrs) {
      if (!want.has(have)) await runner.run('ip', ['-6', 'addr', 'del', have, 'dev', iface])
    }
    const have = new Set(current.globalAddrs)
    for (const a of want) {
      // nodad: the tunnel has no link layer to duplicate on; skips the ~1 s tentative wait.
      if (!have.has(a)) await runner.run('ip', ['-6', 'addr', 'add', a, 'dev', iface, 'nodad'])
    }
  }

  async function applyLink (iface: string, mtu: number): Promise<void> {
    const current = await readIfaceAddrs(runner, iface)
    if (current.mtu !== mtu || !current.up) {
      await runner.run('ip', ['link', 'set', 'dev', iface, 'mtu', String(mtu), 'up'])
    }
  }

  async function applyRoutes (iface: string, desired: readonly InterfaceRoute[]): Promise<void> {
    const current = await readOwnRoutes(runner, iface, GRIDMESH_ROUTE_PROTO)
    const want = new Map(desired.map(r => {
      const metric = r.metric ?? DEFAULT_ROUTE_METRIC
      return [routeKey(r.destination, metric, r.src ?? null), { dst: r.destination as string, metric, src: r.src ?? null }]
    }))
    const have = new Set(current.map(r => routeKey(r.dst, r.metric, r.src)))
    for (const r of current) {
      if (want.has(routeKey(r.dst, r.metric, r.src))) continue
      await runner.run('ip', ['-6', 'route', 'del', r.dst, 'dev', iface, 'proto', GRIDMESH_ROUTE_PROTO, 'metric', String(r.metric)])
    }
    for (const [key, r] of want) {
      if (have.has(key)) continue
      await runner.run('ip', ['-6', 'route', 'replace', r.dst, 'dev', iface, 'proto', GRIDMESH_ROUTE_PROTO, 'metric', String(r.metric), ...(r.src !== null ? ['src', r.src] : [])])
    }
  }

  return {
    applyInterface: async (iface, desired) => {
      // Link up first: the kernel refuses routes via a down interface.
      await applyLink(iface, desired.mtu)
      await applyAddresses(iface, desired.addresses)
      await applyRoutes(iface, desired.routes)
    },
    removeInterfaceConfig: async iface => {
      const link = await runner.run('ip', ['link', 'show', 'dev', iface], { allowFail: true })
      if (link.code !== 0) return
      await applyRoutes(iface, [])
      await applyAddresses(iface, [])
    },
    setSysctl: (key, value) => writeSysctl(procSysRoot, key, value)
  }
}

/** meshInterfaceSysctls are the sysctls a mesh node needs: forwarding for relaying, no redirects, IPv6 on. */
export function meshInterfaceSysctls (iface: string): readonly (readonly [string, string])[] {
  return [
    ['net.ipv6.conf.all.forwarding', '1'],
    [`net/ipv6/conf/${iface}/accept_redirects`, '0'],
    [`net/ipv6/conf/${iface}/disable_ipv6`, '0']
  ]
}
