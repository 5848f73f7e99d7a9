import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { createMeshNode, type Libp2pMeshNode as MeshNode } from '../../../src/mesh/libp2p-node.ts'
import { createRecordSelector, createRecordValidator, createSeqHighWater } from '../../../src/mesh/record-dht.ts'
import { decodeRoster, encodeRoster, fetchRoster, serveRoster, ROSTER_MAX_RECORDS } from '../../../src/mesh/roster.ts'
import { testLogger } from '../../../src/log.ts'
import { newIdentity } from './helpers.ts'

const MESH = 'rostertest'
const clock = { now: Date.now }

async function node (bootstrap: string[]): Promise<MeshNode> {
  const id = await newIdentity()
  const seqs = createSeqHighWater()
  return await createMeshNode({
    privateKey: id.privateKey, mesh: MESH, listen: { host: '127.0.0.1', port: 0 }, bootstrap,
    validator: createRecordValidator({ mesh: MESH, clock, highWater: seqs.get }),
    selector: createRecordSelector({ mesh: MESH, clock }),
    logger: testLogger(), loopbackLab: true
  })
}

test('roster codec round-trips and caps the number of records', () => {
  assert.equal(decodeRoster(encodeRoster(['a', 'b'])), ['a', 'b'])
  const many = Array.from({ length: ROSTER_MAX_RECORDS + 10 }, (_, i) => `r${i}`)
  assert.is(decodeRoster(encodeRoster(many))?.length, ROSTER_MAX_RECORDS)
})

test('roster decoding is total: garbage, wrong shapes and extra fields give null', () => {
  for (const bad of ['', 'null', '[]', '{"v":2,"records":[]}', '{"v":1,"records":[1]}', '{"v":1,"records":[],"x":1}', '{"v":1,"records":[""]}']) {
    assert.is(decodeRoster(new TextEncoder().encode(bad)), null, bad)
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), bytes => {
    const r = decodeRoster(bytes)
    return r === null || Array.isArray(r)
  }), { numRuns: 2000, seed: 42 })
})

test('a node fetches the roster a connected member serves; an unknown peer gives null', async () => {
  const a = await node([])
  const b = await node([`${a.addrs()[0] ?? ''}/p2p/${a.peerId}`])
  try {
    const unserve = await serveRoster(a.libp2p, MESH, () => ['rec1', 'rec2'], testLogger())
    const deadline = Date.now() + 10_000
    while (!b.isConnected(a.peerId) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(await fetchRoster(b.libp2p, MESH, a.peerId), ['rec1', 'rec2'])
    assert.is(await fetchRoster(b.libp2p, 'othermesh', a.peerId, 2_000), null, 'another mesh\'s protocol is not served')
    await unserve()
  } finally {
    await b.stop()
    await a.stop()
  }
})

test.run()
