/**
 * The admin API client the CLI commands use. Turns socket failures into one
 * clear line that says which socket was tried and how to fix it.
 */
import { request } from 'node:http'
import { ErrorCodes, GridmeshError } from '../errors.ts'

function unreachable (socketPath: string, err: NodeJS.ErrnoException): GridmeshError {
  const how = `start the daemon with \`gridmesh up --mesh NAME --state-dir DIR --admin-socket ${socketPath}\`, or pass the socket it uses with --admin-socket / GRIDMESH_ADMIN_SOCKET`
  switch (err.code) {
    case 'ENOENT':
      return new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `no gridmesh daemon at ${socketPath} (socket does not exist); ${how}`)
    case 'ECONNREFUSED':
      return new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `no gridmesh daemon at ${socketPath} (stale socket: nothing is listening); ${how}`)
    case 'EACCES':
    case 'EPERM':
      return new GridmeshError(ErrorCodes.NOT_PERMITTED, `permission denied on ${socketPath}; the admin socket is root-only (0600): run as root`)
    default:
      return new GridmeshError(ErrorCodes.DAEMON_UNREACHABLE, `cannot reach the gridmesh daemon at ${socketPath}: ${err.message}`)
  }
}

/** adminRequest sends one request and returns the parsed JSON body. */
export function adminRequest (socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
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
          const msg = (parsed as { error?: string }).error ?? `HTTP ${res.statusCode ?? '?'}`
          reject(new GridmeshError(ErrorCodes.ADMIN_REQUEST, `daemon refused ${method} ${path}: ${msg}`)); return
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
