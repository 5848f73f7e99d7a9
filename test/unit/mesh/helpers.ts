/**
 * Test helpers for the mesh tests: keys, payloads and a polling waitFor (never
 * fixed sleeps for assertions).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import type { NodeRecordPayload } from '../../../src/mesh/record.ts'

/** A fresh Ed25519 identity. */
export async function newIdentity (): Promise<{ privateKey: PrivateKey, peerId: string }> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() }
}

/** A valid payload for `peerId` in `mesh`, expiring an hour after `now`. */
export function samplePayload (peerId: string, over: Partial<NodeRecordPayload> = {}, now = Date.now()): NodeRecordPayload {
  return {
    v: 1,
    mesh: 'testmesh',
    peerId,
    wgPublicKey: 'q2Ahv8bq8Dd1VZJkpsPj5nRSfnDP6sWy7jUIxt9rV1I=',
    endpoints: ['10.0.0.2:51820', '[2001:db8::2]:51820'],
    addrs: ['/ip4/10.0.0.2/tcp/4001'],
    prefix: 'fd5e:1a2b:3c4d:12::/64',
    seq: 1,
    expiresAt: now + 3_600_000,
    ...over
  }
}

/** waitFor polls `check` until it returns true or the deadline passes; returns elapsed ms. */
export async function waitFor (check: () => boolean, what: string, timeoutMs = 10_000, everyMs = 20): Promise<number> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
  return Date.now() - start
}

/** expectReason asserts that `fn` rejects with GridmeshError RECORD_INVALID and returns meta.reason. */
export async function rejectionReason (fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
  } catch (err) {
    const e = err as { name?: string, code?: string, meta?: { reason?: string } }
    if (e.name !== 'GridmeshError' || e.code !== 'ERR_RECORD_INVALID') throw new Error(`unexpected error: ${String(err)}`)
    return e.meta?.reason ?? 'none'
  }
  throw new Error('expected a rejection')
}
