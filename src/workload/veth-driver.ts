/**
 * The workload link driver: one veth pair per workload, host end `gmw<hash6>`
 * in the node's namespace, workload end `gm0` inside the workload's network
 * namespace. "Make it so": `apply` creates what is missing, replaces a pair
 * that is broken (host end without its peer in the right namespace) and
 * otherwise only re-asserts addresses and routes with `replace`, which change
 * nothing when they already hold. Everything goes through the CommandRunner,
 * so unit tests use the recording fake.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { GRIDMESH_ROUTE_PROTO } from '../net/ip-driver.ts'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { isWorkloadIfname, WORKLOAD_IFNAME, type NetnsName } from './names.ts'
import type { CommandRunner } from '../net/command.ts'
import type { Ipv6Address } from '../net/prefix.ts'

/** Link-local gateway the workload's default route points at (on the host end). */
export const WORKLOAD_GATEWAY = 'fe80::1'

/** What one workload link should look like. */
export interface WorkloadLink {
  /** Host-side veth name (`gmw…`). */
  readonly ifname: string
  readonly netns: NetnsName
  /** The workload's address, a /128 inside the node's /64. */
  readonly address: Ipv6Address
  /** MTU of both ends: the mesh interface MTU, so workloads never send what the tunnel cannot carry. */
  readonly mtu: number
}

/** VethDriver manages workload veth pairs; every method is idempotent. */
export interface VethDriver {
  /** Whether `/run/netns/<netns>` names a network namespace we can enter. */
  netnsExists (netns: NetnsName): Promise<boolean>
  /**
   * Why `netns` must not hold a workload, or null: it is the node's own
   * namespace (a default route into the workload veth would take the host's
   * own), or it holds a mesh interface (WireGuard or TUN, ours or another
   * daemon's). Issue 19, attack 6.
   */
  netnsConflict (netns: NetnsName): Promise<string | null>
  /** Makes the pair, addresses and routes of `link` exist. Throws DRIVER_FAILED. */
  apply (link: WorkloadLink): Promise<void>
  /** Deletes the pair (both ends go, and the host route with them); no-op if absent. */
  remove (ifname: string): Promise<void>
  /** Host-side workload veths that exist now (names matching `gmw<hex6>`). */
  list (): Promise<string[]>
}

/** The collaborators of the driver. */
export interface VethDriverComponents {
  readonly runner: CommandRunner
  /** Writes a sysctl in the node's namespace (NetDriver.setSysctl). */
  setSysctl (key: string, value: string): Promise<void>
  /** Identity (dev:inode) of a namespace file, or null when unreadable. Default: stat(2). */
  nsIdentity?: (path: string) => Promise<string | null>
  /** Where named namespaces live (`ip netns`); default /run/netns. */
  netnsDir?: string
}

/** Link kinds that carry a mesh (wireguard-go's device is a TUN). */
const MESH_LINK_KINDS: ReadonlySet<string> = new Set(['wireguard', 'tun'])

async function statIdentity (path: string): Promise<string | null> {
  try {
    const st = await stat(path)
    return `${st.dev}:${st.ino}`
  } catch { return null }
}

interface LinkJson { ifindex?: number, link_index?: number, ifname?: string, linkinfo?: { info_kind?: string } }

function parseLinks (stdout: string): LinkJson[] {
  try {
    const v: unknown = JSON.parse(stdout.trim() === '' ? '[]' : stdout)
    return Array.isArray(v) ? v as LinkJson[] : []
  } catch {
    throw new GridmeshError(ErrorCodes.DRIVER_FAILED, `ip -j link show printed something that is not JSON: ${stdout.slice(0, 80)}`)
  }
}

/** createVethDriver builds the real driver on top of `ip`. */
export function createVethDriver (components: VethDriverComponents): VethDriver {
  const { runner } = components
  const ip = (args: readonly string[]): Promise<unknown> => runner.run('ip', args)
  const inNs = (netns: NetnsName, args: readonly string[]): Promise<unknown> => runner.run('ip', ['-n', netns, ...args])

  const readLink = async (netns: NetnsName | null, ifname: string): Promise<LinkJson | null> => {
    const args = [...(netns === null ? [] : ['-n', netns]), '-j', 'link', 'show', 'dev', ifname]
    const r = await runner.run('ip', args, { allowFail: true })
    return r.code === 0 ? parseLinks(r.stdout)[0] ?? null : null
  }

  /** ensurePair leaves a healthy pair behind: host end whose peer is `gm0` in `netns`. */
  const ensurePair = async (link: WorkloadLink): Promise<void> => {
    const host = await readLink(null, link.ifname)
    const peer = await readLink(link.netns, WORKLOAD_IFNAME)
    if (host !== null && peer !== null && peer.link_index === host.ifindex) return
    if (host !== null) await ip(['link', 'del', 'dev', link.ifname])
    if (peer !== null) {
      throw new GridmeshError(ErrorCodes.DRIVER_FAILED,
        `network namespace ${link.netns} already has an interface ${WORKLOAD_IFNAME} that gridmesh did not create; remove it (ip -n ${link.netns} link del ${WORKLOAD_IFNAME})`)
    }
    const mtu = String(link.mtu)
    await ip(['link', 'add', link.ifname, 'mtu', mtu, 'type', 'veth', 'peer', 'name', WORKLOAD_IFNAME, 'mtu', mtu, 'netns', link.netns])
  }

  const nsIdentity = components.nsIdentity ?? statIdentity
  const netnsConflict = async (netns: NetnsName): Promise<string | null> => {
    const own = await nsIdentity('/proc/self/ns/net')
    if (own !== null && own === await nsIdentity(join(components.netnsDir ?? '/run/netns', netns))) {
      return `network namespace ${netns} is this node's own namespace; a workload needs a namespace of its own (ip netns add NAME)`
    }
    const r = await runner.run('ip', ['-n', netns, '-d', '-j', 'link', 'show'], { allowFail: true })
    if (r.code !== 0) return null // netnsExists reports a namespace we cannot enter
    const mesh = parseLinks(r.stdout).find(l => MESH_LINK_KINDS.has(l.linkinfo?.info_kind ?? ''))
    if (mesh !== undefined) {
      return `network namespace ${netns} holds a mesh interface (${mesh.ifname ?? '?'}, ${mesh.linkinfo?.info_kind ?? '?'}); a workload needs a namespace of its own (ip netns add NAME)`
    }
    return null
  }

  return {
    netnsExists: async netns => (await runner.run('ip', ['-n', netns, 'link', 'show', 'dev', 'lo'], { allowFail: true })).code === 0,
    netnsConflict,
    apply: async link => {
      await ensurePair(link)
      // Workload end: its /128 (nodad: nothing else on a two-end link can hold it), up, default via the host end.
      await inNs(link.netns, ['-6', 'addr', 'replace', `${link.address}/128`, 'dev', WORKLOAD_IFNAME, 'nodad'])
      await inNs(link.netns, ['link', 'set', 'dev', WORKLOAD_IFNAME, 'mtu', String(link.mtu), 'up'])
      await inNs(link.netns, ['-6', 'route', 'replace', 'default', 'via', WORKLOAD_GATEWAY, 'dev', WORKLOAD_IFNAME])
      // Host end: the gateway address, forwarding, and the /128 route that pulls the address off the mesh /48 route.
      await ip(['link', 'set', 'dev', link.ifname, 'mtu', String(link.mtu), 'up'])
      await ip(['-6', 'addr', 'replace', `${WORKLOAD_GATEWAY}/64`, 'dev', link.ifname, 'nodad'])
      await components.setSysctl(`net/ipv6/conf/${link.ifname}/forwarding`, '1')
      await ip(['-6', 'route', 'replace', `${link.address}/128`, 'dev', link.ifname, 'proto', GRIDMESH_ROUTE_PROTO])
    },
    remove: async ifname => {
      if (await readLink(null, ifname) === null) return
      await ip(['link', 'del', 'dev', ifname])
    },
    list: async () => {
      const r = await runner.run('ip', ['-j', 'link', 'show', 'type', 'veth'])
      return parseLinks(r.stdout).map(l => l.ifname ?? '').filter(isWorkloadIfname)
    }
  }
}
