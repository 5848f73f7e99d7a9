/**
 * The attacker of the hostile-records tests: a real gridmesh libp2p node
 * (same transports, DHT protocol and gossip topic as a daemon, built by
 * src/mesh/libp2p-node.ts) that accepts anything into its own DHT store,
 * captures every member's announced record, and delivers whatever bytes the
 * test hands it through the paths daemons listen on: a DHT PUT to the
 * closest peers and a gossipsub message on the members topic. It decides
 * nothing itself; the test crafts the records (netns/attacker.ts).
 *
 *   node --import tsx netns/attacker-node.ts --key FILE --mesh NAME --socket PATH [--port N]
 *
 * Control API (HTTP over the unix socket, JSON, same shape as the admin API):
 *   GET  /info     { peerId, connected, topicPeers, captured: { peerId: [{ seq, record }] } }
 *   POST /dial     { addrs }            -> { connected }
 *   POST /put      { key, value }       -> { stored, failed }       (value: base64)
 *   POST /publish  { data }             -> { recipients }           (data: base64)
 */
import { createServer } from 'node:http'
import { readFileSync, rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createMeshNode } from '../src/mesh/libp2p-node.ts'
import { decodeRecord } from '../src/mesh/record.ts'
import { decodeMessage, fromBase64, membersTopic } from '../src/mesh/messages.ts'
import { createRootLogger } from '../src/log.ts'

const { values } = parseArgs({ options: { key: { type: 'string' }, mesh: { type: 'string' }, socket: { type: 'string' }, port: { type: 'string' } } })
if (values.key === undefined || values.mesh === undefined || values.socket === undefined) {
  console.error('usage: attacker-node.ts --key FILE --mesh NAME --socket PATH [--port N]')
  process.exit(2)
}
const mesh = values.mesh
const socket = values.socket
const topic = membersTopic(mesh)
const logger = createRootLogger({ level: 'warn' })

const node = await createMeshNode({
  privateKey: privateKeyFromProtobuf(readFileSync(values.key)),
  mesh,
  listen: { host: '0.0.0.0', port: Number(values.port ?? 7799) },
  bootstrap: [],
  // The attacker stores and serves anything: only the daemons' validators stand in the way.
  validator: async () => {},
  selector: async () => 0,
  logger
})

/** Every distinct record seen per member (by seq), as announced: the replay material. */
const captured = new Map<string, Map<number, string>>()
node.subscribe(topic, async msg => {
  try {
    const m = decodeMessage(msg.data)
    if (m.type !== 'announce') return 'ignore'
    // Open-mesh checks only (no certificate check): enough to learn whose record and which seq.
    const r = await decodeRecord(fromBase64(m.record), { mesh, now: Date.now() })
    const seqs = captured.get(r.peerId) ?? new Map<number, string>()
    seqs.set(r.seq, m.record)
    captured.set(r.peerId, seqs)
  } catch { /* not our concern */ }
  return 'ignore' // never forward anything
})

const handlers: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
  'GET /info': async () => ({
    peerId: node.peerId,
    connected: node.libp2p.getConnections().map(c => c.remotePeer.toString()),
    topicPeers: node.libp2p.services.pubsub.getSubscribers(topic).map(p => p.toString()),
    captured: Object.fromEntries([...captured].map(([id, seqs]) => [id, [...seqs].map(([seq, record]) => ({ seq, record }))]))
  }),
  'POST /dial': async body => {
    const addrs = body['addrs'] as string[]
    await Promise.allSettled(addrs.map(async a => { await node.libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(5_000) }) }))
    return { connected: node.libp2p.getConnections().map(c => c.remotePeer.toString()) }
  },
  'POST /put': async body => await node.putRecord(String(body['key']), fromBase64(String(body['value'])), { timeoutMs: 8_000 }),
  'POST /publish': async body => {
    const r = await node.libp2p.services.pubsub.publish(topic, fromBase64(String(body['data'])))
    return { recipients: r.recipients.map(p => p.toString()) }
  }
}

rmSync(socket, { force: true })
const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    const handler = handlers[`${req.method ?? ''} ${req.url ?? ''}`]
    if (handler === undefined) { reply(404, { error: 'no such route' }); return }
    let body: Record<string, unknown> = {}
    try { body = chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> } catch {
      reply(400, { error: 'body is not JSON' }); return
    }
    handler(body).then(r => { reply(200, r) }, (err: unknown) => { reply(500, { error: String(err) }) })
  })
})
server.listen(socket, () => { console.log(`attacker ${node.peerId} ready on ${socket}`) })

const stop = (): void => {
  server.close()
  rmSync(socket, { force: true })
  node.stop().finally(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
