/**
 * The admin API: JSON over HTTP on a unix socket (0600, root), versioned
 * paths, read-only GETs apart from mutating POSTs. `buildAdminHandler` is
 * pure wiring (tests call it in-process); `listenAdmin` owns the socket.
 * No TCP listener exists.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { chmod, mkdir, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ErrorCodes, GridmeshError, isGridmeshError } from '../errors.ts'
import { describeSocketPath } from './client.ts'
import { workloadRoutes } from '../workload/api.ts'
import type { WorkloadService } from '../workload/manager.ts'
import type { Explanation, GraphView, PeerRow, ReloadResult, RevocationResult, RouteRow, StatusView } from './contract.ts'

/** What the daemon exposes to the admin API; the reply types are the contract (contract.ts). */
export interface AdminServices {
  status (): StatusView
  peers (): PeerRow[]
  routes (): RouteRow[]
  /** Graceful leave; resolves once the leave is under way. */
  leave (): Promise<void>
  /** Closed meshes: verify, keep and spread a `gmr1.` revocation (ADMIN_REQUEST when refused or the mesh is open). */
  publishRevocation?: (revocation: string) => Promise<RevocationResult>
  /** Workloads (issue 5): `/v1/workloads` exists only when given. */
  workloads?: WorkloadService
  /** Operator inspection (issue 5): `/v1/routes/explain` and `/v1/graph` exist only when given. */
  inspect?: InspectServices
  /** Live reload: `POST /v1/reload { dryRun?: boolean }`; a refused config is `{ ok: false, error }`, not an HTTP error. */
  reload?: (dryRun: boolean) => Promise<ReloadResult>
}

/** Read-only inspection views; `explain` throws ADMIN_REQUEST (400) for a bad or unknown target. */
export interface InspectServices {
  explain (target: string): Explanation
  graph (): GraphView
}

type Handler = (body: unknown, query: URLSearchParams) => Promise<unknown> | unknown

/** httpStatusFor is the one place that maps error codes to HTTP statuses. */
export function httpStatusFor (err: unknown): number {
  if (!isGridmeshError(err)) return 500
  if (err.code === ErrorCodes.ADMIN_REQUEST || err.code === ErrorCodes.USAGE) return 400
  return 500
}

const MAX_BODY = 64 * 1024

function readBody (req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => {
      if (size > MAX_BODY) return // refused already; the reply closes the connection (see send)
      size += c.length
      if (size > MAX_BODY) { reject(new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'request body too large')); return }
      chunks.push(c)
    })
    req.on('end', () => {
      if (size === 0) { resolve(undefined); return }
      try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))) } catch {
        reject(new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'request body is not valid JSON'))
      }
    })
    req.on('error', reject)
  })
}

/** buildAdminHandler returns the request handler for the v1 API. */
export function buildAdminHandler (services: AdminServices): (req: IncomingMessage, res: ServerResponse) => void {
  const routes: Record<string, Handler> = {
    'GET /v1/status': () => services.status(),
    'GET /v1/peers': () => services.peers(),
    'GET /v1/routes': () => services.routes(),
    'POST /v1/leave': async (body) => {
      if (body !== undefined && (typeof body !== 'object' || body === null || Object.keys(body).length > 0)) {
        throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'leave takes no fields')
      }
      await services.leave()
      return { leaving: true }
    },
    ...(services.publishRevocation === undefined ? {} : revocationRoutes(services.publishRevocation)),
    ...(services.workloads === undefined ? {} : workloadRoutes(services.workloads)),
    ...(services.inspect === undefined ? {} : inspectRoutes(services.inspect)),
    ...(services.reload === undefined ? {} : reloadRoutes(services.reload))
  }
  return (req, res) => {
    const send = (status: number, payload: unknown): void => {
      const text = JSON.stringify(payload)
      // A reply before the whole body was read (e.g. too large) closes the connection instead of reading on.
      const close = req.complete ? {} : { connection: 'close' }
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...close })
      res.end(text)
    }
    const url = (req.url ?? '/').split('?')[0] ?? '/'
    // Not `new URL(req.url, base)`: it throws on request targets such as `//a:b`, and a
    // throw here escapes the request listener and kills the daemon.
    const q = (req.url ?? '').indexOf('?')
    const query = new URLSearchParams(q < 0 ? '' : (req.url ?? '').slice(q + 1).split('#')[0] ?? '')
    const handler = routes[`${req.method ?? 'GET'} ${url}`]
    if (handler === undefined) {
      const known = Object.keys(routes).some(k => k.endsWith(` ${url}`))
      send(known ? 405 : 404, { error: known ? `method ${req.method ?? ''} not allowed on ${url}` : `no such endpoint ${url}` })
      return
    }
    readBody(req)
      .then(body => handler(body, query))
      .then(result => { send(200, result) })
      .catch((err: unknown) => { send(httpStatusFor(err), { error: err instanceof Error ? err.message : String(err) }) })
  }
}

/** revocationRoutes: `POST /v1/revocations { revocation: "gmr1.…" }`. */
function revocationRoutes (publish: (revocation: string) => Promise<RevocationResult>): Record<string, Handler> {
  return {
    'POST /v1/revocations': async (body) => {
      const text = typeof body === 'object' && body !== null && Object.keys(body).length === 1 ? (body as { revocation?: unknown }).revocation : undefined
      if (typeof text !== 'string' || text.length > 2048) throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'expected { "revocation": "gmr1.…" }')
      return await publish(text)
    }
  }
}

/** reloadRoutes: `POST /v1/reload { dryRun?: boolean }`. */
function reloadRoutes (reload: (dryRun: boolean) => Promise<ReloadResult>): Record<string, Handler> {
  return {
    'POST /v1/reload': async (body) => {
      const b = body ?? {}
      const ok = typeof b === 'object' && b !== null && Object.keys(b).every(k => k === 'dryRun') && [undefined, true, false].includes((b as { dryRun?: unknown }).dryRun as boolean | undefined)
      if (!ok) throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'expected { "dryRun"?: boolean }')
      return await reload((b as { dryRun?: boolean }).dryRun === true)
    }
  }
}

/** inspectRoutes are the read-only inspection endpoints. */
function inspectRoutes (inspect: InspectServices): Record<string, Handler> {
  return {
    'GET /v1/routes/explain': (_body, query) => {
      const target = query.get('target')
      if (target === null || target.trim() === '') {
        throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, 'missing ?target=: give a member /64, an address inside it, or a PeerId')
      }
      return inspect.explain(target)
    },
    'GET /v1/graph': () => inspect.graph()
  }
}

/** probeSocket tells whether something accepts connections on a unix socket path. */
function probeSocket (path: string): Promise<'live' | 'stale' | 'absent'> {
  return new Promise(resolve => {
    const sock = connect(path)
    sock.once('connect', () => { sock.destroy(); resolve('live') })
    sock.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code === 'ENOENT' ? 'absent' : 'stale') })
  })
}

/**
 * checkAdminSocketFree fails with ALREADY_RUNNING when a daemon answers on
 * `path`, removes a stale socket left by a crash, and is otherwise a no-op.
 * Runs before the daemon changes anything on the system.
 */
export async function checkAdminSocketFree (path: string): Promise<void> {
  // Never unlink what is not a socket: a typo must not delete a config file.
  const kind = describeSocketPath(path)
  if (kind === 'directory' || kind === 'file' || kind === 'other') {
    throw new GridmeshError(ErrorCodes.CONFIG_INVALID, `admin socket ${path} is ${kind === 'directory' ? 'a directory' : kind === 'file' ? 'a regular file' : 'a special file'}, not a socket; pick another --admin-socket (default /run/gridmesh/gridmesh.sock)`)
  }
  const state = await probeSocket(path)
  if (state === 'live') {
    throw new GridmeshError(ErrorCodes.ALREADY_RUNNING, `another gridmesh daemon is answering on ${path}; stop it first (gridmesh leave --admin-socket ${path}) or pick another --admin-socket`)
  }
  if (state === 'stale') await unlink(path).catch(() => {})
}

/** listenAdmin serves the API on `path` with mode 0600. */
export async function listenAdmin (path: string, services: AdminServices): Promise<Server> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 })
  await checkAdminSocketFree(path)
  const server = createServer(buildAdminHandler(services))
  // umask while binding so the socket is never, even briefly, wider than 0600.
  const previous = process.umask(0o177)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => { server.off('error', reject); resolve() })
    })
  } finally {
    process.umask(previous)
  }
  await chmod(path, 0o600)
  return server
}

/** closeAdmin stops the server and removes its socket; idempotent. */
export async function closeAdmin (server: Server | null, path: string): Promise<void> {
  if (server !== null) await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  await unlink(path).catch(() => {})
}
