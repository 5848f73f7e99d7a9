/**
 * The DHT side of the libp2p adapter: our record put and get over kad-dht's
 * event streams, timed for the metrics.
 */
import { errText } from './transport.ts'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Logger } from '../log.ts'
import type { MeshNode, PutResult } from './transport.ts'

const DHT_TIMEOUT_MS = 10_000

/** dhtRecords is MeshNode's putRecord/getRecord on `dht`; `observe` hears each op's duration and outcome. */
export function dhtRecords (dht: KadDHT, log: Logger, observe: (op: 'put' | 'get', ms: number, ok: boolean) => void): Pick<MeshNode, 'putRecord' | 'getRecord'> {
  return {
    putRecord: async (key, value, o) => {
      const t0 = performance.now()
      let ok = false
      try {
        const r = await dhtPut(dht, key, value, o?.timeoutMs ?? DHT_TIMEOUT_MS)
        ok = r.stored > 0 || r.failed === 0
        return r
      } finally { observe('put', performance.now() - t0, ok) }
    },
    getRecord: async (key, o) => {
      const t0 = performance.now()
      let ok = true
      const value = await dhtGet(dht, key, o?.timeoutMs ?? DHT_TIMEOUT_MS, log, () => { ok = false })
      observe('get', performance.now() - t0, ok)
      return value
    }
  }
}

/** dhtPut drains the put event stream and counts per-peer outcomes (put itself never fails on rejections). */
async function dhtPut (dht: KadDHT, key: string, value: Uint8Array, timeoutMs: number): Promise<PutResult> {
  const result: PutResult = { stored: 0, failed: 0 }
  const responders = new Set<string>()
  for await (const ev of dht.put(new TextEncoder().encode(key), value, { signal: AbortSignal.timeout(timeoutMs) })) {
    if (ev.name === 'PEER_RESPONSE' && ev.messageName === 'PUT_VALUE') {
      result.stored++
      responders.add(ev.from.toString())
    } else if (ev.name === 'QUERY_ERROR') {
      // An error after a PUT_VALUE response means the peer answered but did not store our value.
      if (responders.delete(ev.from.toString())) result.stored--
      result.failed++
    }
  }
  return result
}

/** dhtGet returns the value kad-dht selected (the last VALUE event), or null. */
async function dhtGet (dht: KadDHT, key: string, timeoutMs: number, log: Logger, onError?: () => void): Promise<Uint8Array | null> {
  let value: Uint8Array | null = null
  try {
    for await (const ev of dht.get(new TextEncoder().encode(key), { signal: AbortSignal.timeout(timeoutMs) })) {
      if (ev.name === 'VALUE') value = ev.value
    }
  } catch (err) {
    log.debug({ err: errText(err) }, 'dht get failed')
    onError?.()
  }
  return value
}
