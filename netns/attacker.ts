/**
 * The hostile-records attacker, from the test's side: starts
 * netns/attacker-node.ts in a lab host, drives it over its control socket,
 * and crafts what it delivers (threat-model rows T1 forgery, T4 replay, T6
 * prefix theft, T8 oversized). The test holds the attacker's private key, so
 * it can sign records as the attacker without the attacker process knowing
 * anything about records.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { adminRequest } from '../src/admin/client.ts'
import { decodeRecord, RECORD_CODEC, RECORD_DOMAIN } from '../src/mesh/record.ts'
import { recordKey } from '../src/mesh/record-dht.ts'
import { fromBase64, toBase64 } from '../src/mesh/messages.ts'
import { waitFor } from './lab.ts'
import type { PrivateKey, Record as Libp2pRecord } from '@libp2p/interface'
import type { NodeRecord } from '../src/mesh/record.ts'
import type { PutResult } from '../src/mesh/libp2p-node.ts'
import type { Lab, LabProcess } from './lab.ts'

const NODE = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url))
const MAIN = fileURLToPath(new URL('./attacker-node.ts', import.meta.url))

/** The attacker's libp2p port (daemons use 7700). */
export const ATTACKER_PORT = 7799

/** What the attacker process reports about itself. */
export interface AttackerInfo {
  peerId: string
  connected: string[]
  topicPeers: string[]
  captured: Record<string, Array<{ seq: number, record: string }>>
}

/** A record the attacker saw a member announce. */
export interface CapturedRecord { readonly seq: number, readonly bytes: Uint8Array, readonly record: NodeRecord }

export interface Attacker {
  readonly host: number
  readonly peerId: string
  readonly privateKey: PrivateKey
  info (): Promise<AttackerInfo>
  /** Dials `targets` (underlay `ip:port`) until every peer in `expect` is connected and subscribed to the members topic. */
  connect (targets: readonly string[], expect: readonly string[], timeoutMs?: number): Promise<void>
  /** Every record `peerId` announced while we listened, lowest seq first. */
  captured (peerId: string): Promise<CapturedRecord[]>
  /** DHT PUT of `value` under `peerId`'s record key, to the closest peers (every daemon, in a small mesh). */
  put (peerId: string, value: Uint8Array): Promise<PutResult>
  /** Publishes an announce carrying `record` on the members topic; returns who it was sent to. */
  announce (record: Uint8Array): Promise<string[]>
  stop (): Promise<void>
}

/** startAttacker runs the attacker node in lab host `host`, for mesh `mesh`, and waits for its control socket. */
export async function startAttacker (lab: Lab, host: number, mesh: string): Promise<Attacker> {
  const privateKey = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const keyFile = join(lab.dir, 'attacker.key')
  const socket = join(lab.dir, 'attacker.sock')
  writeFileSync(keyFile, privateKeyToProtobuf(privateKey), { mode: 0o600 })
  const proc: LabProcess = lab.spawn(host, NODE, ['--import', 'tsx', MAIN, '--key', keyFile, '--mesh', mesh, '--socket', socket, '--port', String(ATTACKER_PORT)],
    { logFile: `h${host}-attacker.log` })
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => await adminRequest(socket, method, path, body) as T
  await waitFor(async () => {
    if (!proc.running) throw new Error(`attacker exited (see ${proc.logFile})`)
    return (await call<AttackerInfo>('GET', '/info')).peerId === peerId
  }, { what: 'attacker control socket', timeoutMs: 60_000, intervalMs: 250 })

  const self: Attacker = {
    host,
    peerId,
    privateKey,
    info: () => call<AttackerInfo>('GET', '/info'),
    async connect (targets, expect, timeoutMs = 60_000) {
      await waitFor(async () => {
        await call('POST', '/dial', { addrs: targets.map(t => { const [ip, port] = t.split(':'); return `/ip4/${ip ?? ''}/tcp/${port ?? ''}` }) })
        const i = await self.info()
        const missing = expect.filter(p => !i.connected.includes(p) || !i.topicPeers.includes(p))
        if (missing.length > 0) throw new Error(`not yet connected and subscribed: ${missing.join(' ')}`)
        return true
      }, { what: `attacker connected to ${expect.length} daemons`, timeoutMs, intervalMs: 500 })
    },
    async captured (id) {
      const list = (await self.info()).captured[id] ?? []
      const out: CapturedRecord[] = []
      for (const c of list) {
        const bytes = fromBase64(c.record)
        out.push({ seq: c.seq, bytes, record: await decodeRecord(bytes, { mesh, now: Date.now() }) })
      }
      return out.sort((a, b) => a.seq - b.seq)
    },
    put: async (id, value) => await call<PutResult>('POST', '/put', { key: recordKey(mesh, id), value: toBase64(value) }),
    announce: async record => (await call<{ recipients: string[] }>('POST', '/publish', { data: toBase64(announceMessage(record)) })).recipients,
    async stop () { await lab.kill(host, proc, 'SIGTERM', 10_000) }
  }
  return self
}

/** announceMessage wraps record bytes as a members-topic announce, without the size checks an honest encoder applies. */
export function announceMessage (record: Uint8Array): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 1, type: 'announce', record: toBase64(record) }))
}

/** sealPayload signs any bytes as a node record (right domain and codec) with `key`: a valid signature, whatever the content. */
export async function sealPayload (payload: Uint8Array, key: PrivateKey): Promise<Uint8Array> {
  const rec: Libp2pRecord = { domain: RECORD_DOMAIN, codec: RECORD_CODEC, marshal: () => payload, equals: () => false }
  return (await RecordEnvelope.seal(rec, key)).marshal()
}

/**
 * forgeFrom re-signs a member's own record with another key, changing some
 * fields (e.g. the endpoint, so WireGuard would send the victim's traffic to
 * the attacker): the T1 forgery. The claimed PeerId stays the victim's.
 */
export async function forgeFrom (victim: NodeRecord, key: PrivateKey, change: Partial<Record<keyof NodeRecord, unknown>>): Promise<Uint8Array> {
  return await sealPayload(new TextEncoder().encode(JSON.stringify({ ...victim, ...change })), key)
}

/**
 * oversizedRecord returns a validly signed envelope of exactly `size` bytes
 * (a record payload padded with an extra field), so only the size cap can
 * refuse it first.
 */
export async function oversizedRecord (base: NodeRecord, key: PrivateKey, size: number): Promise<Uint8Array> {
  let pad = Math.max(0, size - 400)
  for (let i = 0; i < 64; i++) {
    const bytes = await sealPayload(new TextEncoder().encode(JSON.stringify({ ...base, pad: 'x'.repeat(pad) })), key)
    if (bytes.length === size) return bytes
    pad += size - bytes.length
    if (pad < 0) break
  }
  throw new Error(`could not build a ${size}-byte envelope`)
}
