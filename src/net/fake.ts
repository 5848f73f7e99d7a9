/**
 * In-memory NetDriver for unit and component tests. It keeps what the real
 * driver would have configured and prints it as stable sorted text, so a test
 * asserts the whole state against one golden string.
 */
import type { InterfaceConfig, NetDriver } from './ip-driver.ts'
import { DEFAULT_ROUTE_METRIC } from './ip-driver.ts'

/** FakeNetDriver is a NetDriver whose state can be inspected. */
export interface FakeNetDriver extends NetDriver {
  /** Interface config and sysctls as sorted lines: `iface gm0 mtu 1420`, `addr …`, `route …`, `sysctl k=v`. */
  text (): string
  /** Number of calls that changed something (idempotence tests expect it to stay put). */
  readonly changeCount: number
}

/** createFakeNetDriver builds an empty fake. */
export function createFakeNetDriver (): FakeNetDriver {
  const ifaces = new Map<string, InterfaceConfig>()
  const sysctls = new Map<string, string>()
  let changeCount = 0
  const render = (iface: string, c: InterfaceConfig): string[] => [
    `iface ${iface} mtu ${c.mtu} up`,
    ...[...new Set(c.addresses.map(a => `iface ${iface} addr ${a.address}/${a.prefixLength}`))].sort(),
    ...[...new Set(c.routes.map(r => `iface ${iface} route ${r.destination} metric ${r.metric ?? DEFAULT_ROUTE_METRIC}`))].sort()
  ]
  return {
    get changeCount () { return changeCount },
    applyInterface: async (iface, desired) => {
      const before = ifaces.has(iface) ? render(iface, ifaces.get(iface) as InterfaceConfig).join('\n') : ''
      const copy: InterfaceConfig = { mtu: desired.mtu, addresses: [...desired.addresses], routes: [...desired.routes] }
      if (render(iface, copy).join('\n') !== before) changeCount++
      ifaces.set(iface, copy)
    },
    removeInterfaceConfig: async iface => {
      if (ifaces.delete(iface)) changeCount++
    },
    setSysctl: async (key, value) => {
      if (sysctls.get(key) !== value) changeCount++
      sysctls.set(key, value)
    },
    text: () => [
      ...[...ifaces.keys()].sort().flatMap(i => render(i, ifaces.get(i) as InterfaceConfig)),
      ...[...sysctls.keys()].sort().map(k => `sysctl ${k}=${sysctls.get(k) ?? ''}`)
    ].join('\n')
  }
}
