/**
 * Workload address allocation (pure). A workload gets `<prefix>::<n>` of the
 * node's /64. Hosts below FIRST_WORKLOAD_HOST are the node's own
 * (`::1` node address, `::2` link probe, the rest reserved for later use).
 * The index n, not the address, is persisted per name: the address follows
 * the node's prefix and stays the same across restarts.
 */
import { hostAddress, type Ipv6Address, type Ipv6Prefix } from '../net/prefix.ts'
import { ErrorCodes, GridmeshError } from '../errors.ts'

/** First host number handed to workloads; 0x0–0xff stay reserved for the node. */
export const FIRST_WORKLOAD_HOST = 0x100
/** Highest host number handed out: 65 280 workloads per node is far beyond what a host runs. */
export const LAST_WORKLOAD_HOST = 0xffff

/**
 * allocateWorkloadHost returns the lowest free host number ≥ FIRST_WORKLOAD_HOST.
 * Throws ADMIN_REQUEST when every number up to LAST_WORKLOAD_HOST is taken.
 */
export function allocateWorkloadHost (used: Iterable<number>): number {
  const taken = new Set(used)
  for (let n = FIRST_WORKLOAD_HOST; n <= LAST_WORKLOAD_HOST; n++) {
    if (!taken.has(n)) return n
  }
  throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, `no free workload address: ${LAST_WORKLOAD_HOST - FIRST_WORKLOAD_HOST + 1} workloads exist`)
}

/** workloadAddress is host `n` of the node's /64. */
export function workloadAddress (prefix: Ipv6Prefix, n: number): Ipv6Address {
  return hostAddress(prefix, BigInt(n))
}
