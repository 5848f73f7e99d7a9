/**
 * The admin API client the CLI commands use. Turns socket failures into one
 * clear line that says which socket was tried, what is wrong with it, and how
 * to fix it. Replies are typed by the contract (contract.ts); messages name
 * the command, never the request URL.
 */
import { request } from 'node:http'
import { statSync } from 'node:fs'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { ENDPOINT_LABELS, type AdminBody, type AdminEndpoint, type AdminQuery, type AdminReply } from './contract.ts'

/** What is at a socket path that refused a connection: a dead socket, or no socket at all. */
export function describeSocketPath (socketPath: string): 'socket' | 'directory' | 'file' | 'other' | 'absent' {
  let st
  try { st = statSync(socketPath) } catch { return 'absent' }
  if (st.isSocket()) return 'socket'
  if (st.isDirectory()) return 'directory'
  if (st.isFile()) return 'file'
  return 'other'
}

function unreachable (socketPath: string, err: NodeJS.ErrnoException): GridmeshError {
  const how = `start the daemon with \`gridmesh up --mesh NAME --state-dir DIR --admin-socket ${socketPath}\`, or pass the socket it uses with --admin-socket / GRIDMESH_ADMIN_SOCKET`
  const which = 'pass the daemon\'s admin socket with --admin-socket / GRIDMESH_ADMIN_SOCKET (default /run/gridmesh/gridmesh.sock)'
  switch (err.code) {
    case 'ENOENT':
      return new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `no gridmesh daemon at ${socketPath} (socket does not exist); ${how}`)
    case 'ENOTDIR':
      return new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `${socketPath} is not a socket path (a parent is not a directory); ${which}`)
    case 'ECONNREFUSED': {
      const kind = describeSocketPath(socketPath)
      if (kind === 'directory') return new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `${socketPath} is a directory, not the admin socket; ${which}`)
      if (kind === 'file' || kind === 'other') return new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `${socketPath} is a ${kind === 'file' ? 'regular file' : 'special file'}, not a socket; ${which}`)
      return new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `no gridmesh daemon at ${socketPath} (stale socket: nothing is listening); ${how}`)
    }
    case 'EACCES':
    case 'EPERM':
      return new GridmeshError(ErrorCodes.NOT_PERMITTED, `permission denied on ${socketPath}; the admin socket is root-only (0600): run as root`)
    default:
      return new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `cannot reach the gridmesh daemon at ${socketPath}: ${err.message}`)
  }
}

/**
 * adminRequest sends one request and returns the parsed JSON body. `label`
 * names the request in errors (default: method and path without the query).
 */
export function adminRequest (socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown, label?: string): Promise<unknown> {
  const what = label ?? `${method} ${path.split('?')[0] ?? path}`
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = request({
      socketPath, method, path,
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      timeout: 10_000
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        let parsed: unknown
        try { parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch {
          reject(new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `the daemon at ${socketPath} sent a reply that is not JSON`)); return
        }
        if ((res.statusCode ?? 500) >= 400) {
          const msg = (parsed as { error?: string } | null)?.error ?? `HTTP ${res.statusCode ?? '?'}`
          reject(new GridmeshError(ErrorCodes.ADMIN_REQUEST, `daemon refused ${what}: ${msg}`)); return
        }
        resolve(parsed)
      })
    })
    req.on('timeout', () => { req.destroy(new Error('timed out after 10 s')) })
    req.on('error', (err: NodeJS.ErrnoException) => { reject(err.code !== undefined ? unreachable(socketPath, err) : new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `cannot reach the gridmesh daemon at ${socketPath}: ${err.message}`)) })
    if (payload !== undefined) req.write(payload)
    req.end()
  })
}

/** The optional parts of a call: only the ones the endpoint declares. */
export type CallParts<E extends AdminEndpoint> =
  (AdminQuery<E> extends undefined ? { query?: undefined } : { query: AdminQuery<E> }) &
  (AdminBody<E> extends undefined ? { body?: undefined } : { body: AdminBody<E> })

/** adminCall calls one endpoint of the contract and returns its typed reply. */
export async function adminCall<E extends AdminEndpoint> (socketPath: string, endpoint: E, parts?: CallParts<E>): Promise<AdminReply<E>> {
  const [method, path] = endpoint.split(' ') as ['GET' | 'POST', string]
  const query = parts?.query as Record<string, string> | undefined
  const qs = query === undefined ? '' : `?${new URLSearchParams(query).toString()}`
  return await adminRequest(socketPath, method, path + qs, parts?.body, ENDPOINT_LABELS[endpoint]) as AdminReply<E>
}
