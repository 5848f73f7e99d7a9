/**
 * The kernel WireGuard path: `ip link add <if> type wireguard`. Where the
 * module is missing, `ip` says "Unknown device type" (or "not supported"),
 * which in `auto` mode means "use wireguard-go" rather than an error.
 */
import type { CommandRunner } from '../net/command.ts'
import { commandFailedError } from '../net/command.ts'

/** stderr patterns meaning "this kernel has no WireGuard". */
const NO_KERNEL_WG = /unknown device type|not supported|no such device/i

/** isNoKernelWireGuard classifies `ip link add … type wireguard` stderr. */
export function isNoKernelWireGuard (stderr: string): boolean {
  return NO_KERNEL_WG.test(stderr)
}

/**
 * createKernelLink creates the kernel interface. Returns false when the kernel
 * lacks WireGuard and `fallbackAllowed`; throws DRIVER_FAILED otherwise.
 */
export async function createKernelLink (runner: CommandRunner, iface: string, fallbackAllowed: boolean): Promise<boolean> {
  const args = ['link', 'add', 'dev', iface, 'type', 'wireguard']
  const r = await runner.run('ip', args, { allowFail: true })
  if (r.code === 0) return true
  if (fallbackAllowed && isNoKernelWireGuard(r.stderr)) return false
  throw commandFailedError('ip', args, r)
}
