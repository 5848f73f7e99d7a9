/**
 * An in-memory VethDriver for tests: namespaces are a set the test fills,
 * links a map printed as stable text. Refuses what the real driver refuses
 * (a namespace that does not exist).
 */
import { ErrorCodes, GridmeshError } from '../errors.ts'
import type { NetnsName } from './names.ts'
import type { VethDriver, WorkloadLink } from './veth-driver.ts'

export interface FakeVethDriver extends VethDriver {
  readonly namespaces: Set<string>
  /** The node's own namespace (refused as a workload namespace). */
  ownNamespace: string | null
  /** Namespaces holding a mesh interface (refused as workload namespaces). */
  readonly meshNamespaces: Set<string>
  readonly links: Map<string, WorkloadLink>
  /** One line per link, sorted: `gmw… netns NS address A mtu M`. */
  text (): string
}

export function createFakeVethDriver (namespaces: Iterable<string> = []): FakeVethDriver {
  const ns = new Set(namespaces)
  const links = new Map<string, WorkloadLink>()
  const meshNamespaces = new Set<string>()
  const fake: FakeVethDriver = {
    namespaces: ns,
    ownNamespace: null,
    meshNamespaces,
    links,
    netnsConflict: async (n: NetnsName) => n === fake.ownNamespace
      ? `network namespace ${n} is this node's own namespace`
      : meshNamespaces.has(n) ? `network namespace ${n} holds a mesh interface` : null,
    text: () => [...links.values()].map(l => `${l.ifname} netns ${l.netns} address ${l.address} mtu ${l.mtu}`).sort().join('\n'),
    netnsExists: async (n: NetnsName) => ns.has(n),
    apply: async link => {
      if (!ns.has(link.netns)) throw new GridmeshError(ErrorCodes.DRIVER_FAILED, `Cannot open network namespace "${link.netns}"`)
      links.set(link.ifname, link)
    },
    remove: async ifname => { links.delete(ifname) },
    list: async () => [...links.keys()].sort()
  }
  return fake
}
