/**
 * Host hardening with nftables (T12 / S11): Linux's weak host model accepts
 * a packet for a local address on any interface, so without a filter anyone
 * on the underlay could send packets with a mesh source address straight to
 * a member's physical NIC and look like a mesh peer. The table drops IPv6
 * packets whose source is in the mesh prefix unless they arrive on the mesh
 * interface, a workload veth (`gmw*`) or loopback (the node's own traffic to
 * its own mesh addresses).
 *
 * One `nft -f -` transaction: declare the table (so the delete can't fail),
 * delete it, add it fresh. Applying twice gives the same ruleset.
 */
import type { CommandRunner } from './command.ts'
import type { Ipv6Prefix } from './prefix.ts'

/** The nftables table gridmesh owns; nothing else in it. */
export const NFT_TABLE = 'gridmesh'

/** nftHardeningRules renders the ruleset applied by NftDriver#apply (golden-tested). */
export function nftHardeningRules (meshPrefix: Ipv6Prefix, iface: string): string {
  return [
    `table inet ${NFT_TABLE} {}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    '  chain antispoof {',
    '    type filter hook prerouting priority raw; policy accept;',
    `    iifname { "lo", "${iface}" } accept`,
    '    iifname "gmw*" accept',
    `    ip6 saddr ${meshPrefix} counter drop comment "mesh source on an underlay interface"`,
    '  }',
    '}',
    ''
  ].join('\n')
}

/** The nftables side of the daemon. */
export interface NftDriver {
  /** Installs (or replaces) the anti-spoof table. */
  apply (meshPrefix: Ipv6Prefix, iface: string): Promise<void>
  /** Deletes the table; a missing table is fine. */
  remove (): Promise<void>
}

/** createNftDriver runs `nft` through the CommandRunner (fake it in tests). */
export function createNftDriver (runner: CommandRunner): NftDriver {
  return {
    apply: async (meshPrefix, iface) => { await runner.run('nft', ['-f', '-'], { stdin: nftHardeningRules(meshPrefix, iface) }) },
    remove: async () => { await runner.run('nft', ['delete', 'table', 'inet', NFT_TABLE], { allowFail: true }) }
  }
}
