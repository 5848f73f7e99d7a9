/**
 * The attacker's tool: seal a node record claiming `victimPeerId` with a key
 * that is not the victim's (the signature is valid, the binding is not).
 */
import { RecordEnvelope } from '@libp2p/peer-record'
import { RECORD_DOMAIN, RECORD_CODEC } from '../../../src/mesh/record.ts'
import { samplePayload } from './helpers.ts'
import type { PrivateKey, Record as Libp2pRecord } from '@libp2p/interface'

/** forgeRecord returns envelope bytes for victimPeerId signed by attackerKey. */
export async function forgeRecord (victimPeerId: string, attackerKey: PrivateKey, seq: number): Promise<Uint8Array> {
  const payload = new TextEncoder().encode(JSON.stringify(samplePayload(victimPeerId, { seq, expiresAt: Date.now() + 600_000 })))
  const rec: Libp2pRecord = { domain: RECORD_DOMAIN, codec: RECORD_CODEC, marshal: () => payload, equals: () => false }
  return (await RecordEnvelope.seal(rec, attackerKey)).marshal()
}
