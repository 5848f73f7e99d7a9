/**
 * Sysctls through /proc/sys files (no `sysctl` binary needed). Keys use the
 * dotted form (`net.ipv6.conf.all.forwarding`) or, for interface names that
 * contain dots, the slash form relative to /proc/sys
 * (`net/ipv6/conf/gm0.1/accept_redirects`).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GridmeshError, ErrorCodes } from '../errors.ts'

/** sysctlPath maps a key to its file under `root`; refuses `..` so a key cannot escape. */
export function sysctlPath (root: string, key: string): string {
  const rel = key.includes('/') ? key : key.replaceAll('.', '/')
  if (rel.split('/').some(part => part === '..' || part === '') || !/^[\w./-]+$/.test(rel)) {
    throw new GridmeshError(ErrorCodes.INTERNAL, `invalid sysctl key ${key}`, { key })
  }
  return join(root, rel)
}

/** writeSysctl sets `key` to `value` unless it already has it; idempotent. */
export async function writeSysctl (root: string, key: string, value: string): Promise<void> {
  const path = sysctlPath(root, key)
  try {
    const current = (await readFile(path, 'utf8')).trim()
    if (current === value) return
    await writeFile(path, `${value}\n`)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new GridmeshError(ErrorCodes.NOT_PERMITTED, `setting sysctl ${key}: permission denied; run as root or grant CAP_NET_ADMIN`, { key }, { cause: err })
    }
    throw new GridmeshError(ErrorCodes.DRIVER_FAILED, `setting sysctl ${key}=${value}: ${(err as Error).message}`, { key }, { cause: err })
  }
}
