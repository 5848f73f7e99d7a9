/**
 * What is on the system for one interface name: the link as `ip` sees it in
 * our network namespace, and the wireguard-go UAPI socket on the (possibly
 * shared) filesystem. `up()` uses these to tell "ours, reuse", "stale, clean
 * up" and "someone else's / another namespace's, refuse" apart.
 */
import { connect } from 'node:net'
import { existsSync, rmSync } from 'node:fs'
import type { CommandRunner } from '../net/command.ts'

/** The link as `ip -d link` reports it: `kind` is `wireguard`, `tun`, … or null. */
export interface LinkInfo { readonly kind: string | null }

/** readLink returns the link in our netns, or null if there is none. */
export async function readLink (runner: CommandRunner, iface: string): Promise<LinkInfo | null> {
  const r = await runner.run('ip', ['-j', '-d', 'link', 'show', 'dev', iface], { allowFail: true })
  if (r.code !== 0) return null
  try {
    const parsed: unknown = JSON.parse(r.stdout)
    const first = Array.isArray(parsed) ? (parsed[0] as { linkinfo?: { info_kind?: unknown } } | undefined) : undefined
    const kind = first?.linkinfo?.info_kind
    return { kind: typeof kind === 'string' ? kind : null }
  } catch {
    return { kind: null }
  }
}

/** deleteLink removes the link if present; idempotent. */
export async function deleteLink (runner: CommandRunner, iface: string): Promise<void> {
  if (await readLink(runner, iface) === null) return
  await runner.run('ip', ['link', 'del', 'dev', iface])
}

/** State of a UAPI socket path: absent, stale (nobody listens), or live (a wireguard-go listens). */
export type SocketState = 'absent' | 'stale' | 'live'

/** probeUapiSocket connects to the socket to learn whether a process still serves it. */
export function probeUapiSocket (path: string): Promise<SocketState> {
  if (!existsSync(path)) return Promise.resolve('absent')
  return new Promise(resolve => {
    const sock = connect(path)
    sock.once('connect', () => { sock.destroy(); resolve('live') })
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ENOENT' ? 'absent' : 'stale'))
  })
}

/** removeSocket deletes a socket file; idempotent. */
export function removeSocket (path: string): void {
  rmSync(path, { force: true })
}
