/**
 * The opt-in Prometheus listener: `GET /metrics` on a loopback HOST:PORT
 * (the config schema refuses anything else: the endpoint has no
 * authentication and reveals the mesh's topology). Nothing else is served.
 */
import { createServer, type Server } from 'node:http'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { splitHostPort } from '../net/host-port.ts'
import type { Registry } from 'prom-client'

/** listenMetrics serves `registry` at http://HOST:PORT/metrics. */
export async function listenMetrics (hostPort: string, registry: Registry): Promise<Server> {
  const { host, port } = splitHostPort(hostPort)
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics') { res.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics is served here\n'); return }
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { allow: 'GET' }).end(); return }
    registry.metrics()
      .then(text => { res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text) })
      .catch((err: unknown) => { res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`) })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE'
        ? new GridmeshError(ErrorCodes.ALREADY_RUNNING, `cannot serve metrics on ${hostPort}: address in use; pick another --metrics port`)
        : new GridmeshError(ErrorCodes.CONFIG_INVALID, `cannot serve metrics on ${hostPort}: ${err.message}`, undefined, { cause: err }))
    })
    server.listen(port, host, () => { resolve() })
  })
  return server
}

/** closeMetrics stops the listener; idempotent. */
export async function closeMetrics (server: Server | null): Promise<void> {
  if (server === null || !server.listening) return
  const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
  // Scrapers keep connections alive; a stopping daemon must not wait for them.
  server.closeAllConnections()
  await closed
}
