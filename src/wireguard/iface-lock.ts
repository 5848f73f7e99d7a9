/**
 * Ownership of one interface name (issue 19, attack 3). A daemon owns the
 * name while it holds `<runDir>/<iface>.gridmesh`, a file naming its pid and
 * that pid's start time (so a reused pid is not mistaken for the owner).
 * The file is the ownership mark: whatever a daemon finds under that name
 * (link, wireguard-go, socket) was made by gridmesh only if a lock file
 * existed, and may be cleared only once its owner is dead. It lives beside
 * the wireguard-go UAPI socket, on the filesystem every network namespace
 * shares, because the socket path is just as global (§0 of the threat model).
 *
 * - absent: created (O_EXCL); nothing under the name is provably ours.
 * - live owner (another process): ALREADY_RUNNING at once; nothing touched.
 * - dead owner: taken over at once; what it left may be cleared.
 * The network namespace is taken the same way (one daemon per namespace).
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ErrorCodes, GridmeshError } from '../errors.ts'

/** What acquiring the name found. */
export interface InterfaceLock {
  /** True when a dead gridmesh daemon held the name: what is left under it is gridmesh's, and stale. */
  readonly inherited: boolean
  /** Deletes the lock file if it is still ours. Idempotent. */
  release (): Promise<void>
}

interface Owner { pid: number, start: string | null }

/** startTimeOf reads a process's start time (clock ticks since boot), or null when it is gone. */
export function startTimeOf (pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may contain spaces and parentheses).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return rest[19] ?? null
  } catch { return null }
}

function alive (owner: Owner): boolean {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false
  const start = startTimeOf(owner.pid)
  if (start === null) {
    // No /proc entry we can read: fall back to a signal probe.
    try { process.kill(owner.pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
  }
  return owner.start === null || owner.start === start
}

function parseOwner (text: string): Owner {
  const [pid, start] = text.trim().split(/\s+/)
  return { pid: Number(pid), start: start === undefined || start === '' || start === '-' ? null : start }
}

/** interfaceLockPath is where the ownership mark of `iface` lives. */
export function interfaceLockPath (runDir: string, iface: string): string {
  return join(runDir, `${iface}.gridmesh`)
}

/** A taken mark: whether a dead daemon held it before, and how to give it back. */
interface Mark { inherited: boolean, release: () => Promise<void> }

/** takeMark creates `path` for this process (O_EXCL), taking over a dead owner's; `refuse` builds the error for a live one. */
async function takeMark (path: string, note: string, refuse: (owner: Owner & { note: string }) => GridmeshError): Promise<Mark> {
  const me = `${process.pid} ${startTimeOf(process.pid) ?? '-'} ${note}\n`
  let inherited = false
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600)
      try { await fh.writeFile(me) } finally { await fh.close() }
      return {
        inherited,
        release: async () => {
          const now = await readFile(path, 'utf8').catch(() => '')
          if (parseOwner(now).pid === process.pid) await unlink(path).catch(() => {})
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const text = await readFile(path, 'utf8').catch(() => '')
      const owner = parseOwner(text)
      if (owner.pid !== process.pid && alive(owner)) throw refuse({ ...owner, note: text.trim().split(/\s+/)[2] ?? '?' })
      inherited = true // a dead gridmesh daemon's mark: take it over
      await unlink(path).catch(() => {})
    }
  }
  throw new GridmeshError(ErrorCodes.ALREADY_RUNNING, `could not take ${path}: another daemon keeps taking it`)
}

/** netnsMarkPath names this network namespace's mark (by nsfs identity), or null when it cannot be read. */
function netnsMarkPath (runDir: string): string | null {
  try {
    const st = statSync('/proc/self/ns/net')
    return join(runDir, `netns-${st.dev}-${st.ino}.gridmesh`)
  } catch { return null }
}

/**
 * acquireInterfaceLock takes the name `iface` for this process, or throws
 * ALREADY_RUNNING naming the live daemon that holds it. It also takes this
 * network namespace: its nftables table `inet gridmesh` and its `gmw*`
 * workload veths are per namespace, so a second daemon there (even on
 * another interface name) would replace or delete the first one's.
 */
export async function acquireInterfaceLock (runDir: string, iface: string): Promise<InterfaceLock> {
  await mkdir(runDir, { recursive: true, mode: 0o700 })
  const path = interfaceLockPath(runDir, iface)
  const nsPath = netnsMarkPath(runDir)
  const ns = nsPath === null
    ? null
    : await takeMark(nsPath, iface, o => new GridmeshError(ErrorCodes.ALREADY_RUNNING,
      `this network namespace already runs a gridmesh daemon (pid ${o.pid}, interface ${o.note}); run one daemon per namespace, or stop it first`, { iface }))
  try {
    const name = await takeMark(path, iface, o => new GridmeshError(ErrorCodes.ALREADY_RUNNING,
      `interface ${iface} belongs to a running gridmesh daemon (pid ${o.pid}, ${path}); stop it first or choose another --interface`, { iface }))
    return { inherited: name.inherited, release: async () => { await name.release(); await ns?.release() } }
  } catch (err) {
    await ns?.release()
    throw err
  }
}
