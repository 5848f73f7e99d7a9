/**
 * Workload names and the interface names derived from them (pure). A name is
 * what the admin types; the host-side veth name is derived from it so a
 * daemon that restarts (or crashed) finds the same interface again.
 */
import { createHash } from 'node:crypto'
import { ErrorCodes, GridmeshError, type ErrorCode } from '../errors.ts'

/** A validated workload name: `[a-z0-9][a-z0-9-]{0,31}`. */
export type WorkloadName = string & { readonly __brand: 'WorkloadName' }
/** A validated network namespace name (an entry of /run/netns). */
export type NetnsName = string & { readonly __brand: 'NetnsName' }

const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/
/** `ip netns` names are file names under /run/netns: no '/', not '.' or '..'. */
const NETNS = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/

/** Prefix of every host-side workload veth; reconcile treats any such veth as ours. */
export const HOST_IFNAME_PREFIX = 'gmw'
/** Name of the workload's end inside its namespace. */
export const WORKLOAD_IFNAME = 'gm0'

/** parseWorkloadName validates a name; throws `code` (USAGE at the CLI, ADMIN_REQUEST in the API). */
export function parseWorkloadName (s: string, code: ErrorCode = ErrorCodes.USAGE): WorkloadName {
  if (!NAME.test(s)) {
    throw new GridmeshError(code, `invalid workload name ${JSON.stringify(s.slice(0, 40))}: use 1-32 chars of a-z 0-9 -, starting with a letter or digit`)
  }
  return s as WorkloadName
}

/** parseNetnsName validates a network namespace name (not a path). */
export function parseNetnsName (s: string, code: ErrorCode = ErrorCodes.USAGE): NetnsName {
  if (!NETNS.test(s)) {
    throw new GridmeshError(code, `invalid network namespace name ${JSON.stringify(s.slice(0, 70))}: give the name shown by \`ip netns list\``)
  }
  return s as NetnsName
}

/**
 * hostIfname is `gmw` + the first 6 hex digits of sha256(name): 9 chars,
 * well under IFNAMSIZ (15), stable across restarts. Two names sharing the 6
 * digits are refused at add time (1 in 16M per pair), not silently merged.
 */
export function hostIfname (name: WorkloadName): string {
  return HOST_IFNAME_PREFIX + createHash('sha256').update(name).digest('hex').slice(0, 6)
}

/** isWorkloadIfname says whether a host interface name looks like one of ours. */
export function isWorkloadIfname (ifname: string): boolean {
  return /^gmw[0-9a-f]{6}$/.test(ifname)
}
