/**
 * Fuzz: files in the state dir (T9, T10; R15, S8, S9). Random bytes,
 * random JSON, field-edited and byte-mutated versions of valid files are
 * written to a real temp state dir and loaded: node state (state.json),
 * workloads (workloads.json), the join token (join.token) and the identity
 * key files (libp2p.key, wireguard.key). Oracle: the loader's documented
 * code (STATE_CORRUPT / KEY_CORRUPT), or a value that saves and reloads to
 * itself. Key files additionally must never be replaced: a corrupt key is
 * an error, never a silently new identity.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ErrorCodes } from '../../../src/errors.ts'
import { NODE_STATE_FILE, type NodeState } from '../../../src/mesh/node-state.ts'
import { loadNodeState, saveNodeState } from '../../../src/mesh/node-state-file.ts'
import { WORKLOADS_FILE, loadWorkloads, saveWorkloads } from '../../../src/workload/state.ts'
import { parseNetnsName, parseWorkloadName } from '../../../src/workload/names.ts'
import { TOKEN_FILE, loadToken } from '../../../src/admission/token-store.ts'
import { encodeToken } from '../../../src/admission/token.ts'
import { LIBP2P_KEY_FILE, WG_KEY_FILE, loadOrCreateIdentity } from '../../../src/keys/store.ts'
import { generateWgKeyPair, wgPublicKeyFromPrivate } from '../../../src/keys/wg-key.ts'
import { parseIpv6Prefix } from '../../../src/net/prefix.ts'
import { newAuthority, newToken } from '../admission/helpers.ts'
import { fieldEditsArb, mutate, mutateText, mutationsArb, nastyJson, oneMutationArb, outcome, params, timeTests } from './helpers.ts'
import { SAMPLE_STATE } from '../node-state/fixtures.ts'

timeTests(test)

const root = await mkdtemp(join(tmpdir(), 'gm-fuzz-state-'))
const enc = new TextEncoder()
let n = 0
/** A fresh private state dir (0700): loaders see exactly the one file a test writes. */
async function freshDir (): Promise<string> {
  const dir = join(root, `d${n++}`)
  await mkdir(dir, { mode: 0o700 })
  await chmod(dir, 0o700)
  return dir
}
async function put (dir: string, name: string, data: Uint8Array | string): Promise<void> {
  await writeFile(join(dir, name), data, { mode: 0o600 })
}

/** Byte-level inputs built from one valid file text: random bytes, random JSON, field edits, mutations. */
function fileArb (validText: string, validJson: Record<string, unknown>, nearValid: fc.Arbitrary<unknown>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    nastyJson.map(j => enc.encode(JSON.stringify(j) ?? '')),
    fieldEditsArb(validJson, fc.oneof(nastyJson, nearValid)).map(j => enc.encode(JSON.stringify(j))),
    fc.oneof(oneMutationArb, mutationsArb).map(ops => mutate(enc.encode(validText), ops))
  )
}

const SAMPLE = SAMPLE_STATE

test('node state: corrupt files are STATE_CORRUPT; anything loaded saves and reloads to itself', async () => {
  const sane = await freshDir()
  await saveNodeState(sane, SAMPLE)
  assert.equal(await loadNodeState(sane), SAMPLE, 'oracle sanity')
  const text = await readFile(join(sane, NODE_STATE_FILE), 'utf8')
  const near = fc.constantFrom('FD9F:6906:5255:30E1:0::1/64', 'fd9f::/200', '::/0', -1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, { '': 1 }, { __proto__: 1 }, { a: -1 }, 2, '1')
  const dir = await freshDir()
  const out = await freshDir()
  await fc.assert(fc.asyncProperty(fileArb(text, SAMPLE as unknown as Record<string, unknown>, near), async bytes => {
    await put(dir, NODE_STATE_FILE, bytes)
    const r = await outcome(async () => await loadNodeState(dir), [ErrorCodes.STATE_CORRUPT])
    if (!r.ok) return
    const s = r.value
    for (const p of [s.prefix, s.meshPrefix]) if (p !== null) assert.is(parseIpv6Prefix(p), p, 'loaded prefix is not canonical')
    assert.ok(Number.isSafeInteger(s.seq) && s.seq >= 0)
    await saveNodeState(out, s) // must not be refused (INTERNAL) for a state the loader accepted
    assert.equal(await loadNodeState(out), s)
  }), params(400))
})

test('workloads: corrupt files are STATE_CORRUPT; anything loaded is valid and saves and reloads to itself', async () => {
  const valid = { version: 1, workloads: [{ name: 'w1', netns: 'ns1', host: 0x100 }, { name: 'db-2', netns: 'ns.b', host: 0x101 }] }
  const text = JSON.stringify(valid, null, 2)
  const sane = await freshDir()
  await put(sane, WORKLOADS_FILE, text)
  assert.is((await loadWorkloads(sane)).length, 2, 'oracle sanity')
  const near = fc.constantFrom([{ name: 'w1', netns: 'ns1', host: 0xff }], [{ name: 'w1', netns: 'ns1', host: 0x10000 }], [{ name: 'W1', netns: 'ns1', host: 0x100 }],
    [{ name: 'w1', netns: '..', host: 0x100 }], [{ name: 'w1', netns: 'a/b', host: 0x100 }], [valid.workloads[0], valid.workloads[0]], [])
  const dir = await freshDir()
  const out = await freshDir()
  await fc.assert(fc.asyncProperty(fileArb(text, valid, near), async bytes => {
    await put(dir, WORKLOADS_FILE, bytes)
    const r = await outcome(async () => await loadWorkloads(dir), [ErrorCodes.STATE_CORRUPT])
    if (!r.ok) return
    for (const w of r.value) {
      parseWorkloadName(w.name)
      parseNetnsName(w.netns)
      assert.ok(Number.isInteger(w.host) && w.host >= 0x100 && w.host <= 0xffff)
    }
    assert.is(new Set(r.value.map(w => w.host)).size, r.value.length, 'duplicate workload address accepted')
    await saveWorkloads(out, r.value)
    assert.equal(await loadWorkloads(out), [...r.value].sort((a, b) => a.host - b.host))
  }), params(400))
})

test('join token file: corrupt files are KEY_CORRUPT; anything loaded is the token it encodes', async () => {
  const token = await newToken(await newAuthority())
  const text = `${encodeToken(token)}\n`
  const sane = await freshDir()
  await put(sane, TOKEN_FILE, text)
  assert.is(encodeToken((await loadToken(sane))!), encodeToken(token), 'oracle sanity')
  const dir = await freshDir()
  const arb = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.oneof(oneMutationArb, mutationsArb).map(ops => mutate(enc.encode(text), ops)))
  await fc.assert(fc.asyncProperty(arb, async bytes => {
    await put(dir, TOKEN_FILE, bytes)
    const r = await outcome(async () => await loadToken(dir), [ErrorCodes.KEY_CORRUPT])
    if (!r.ok) return
    assert.ok(r.value !== null)
    assert.is(encodeToken(r.value), new TextDecoder().decode(bytes).trim(), 'a mutated token file loaded as something else')
  }), params(400))
})

test('identity key files: a corrupt key is KEY_CORRUPT or exactly the key written, never a new one; the files are never rewritten', async () => {
  const key = await generateKeyPair('Ed25519')
  const libp2pBytes = privateKeyToProtobuf(key)
  const wg = generateWgKeyPair()
  const wgText = `${wg.privateKey}\n`
  const peerId = peerIdFromPrivateKey(key).toString()
  const sane = await freshDir()
  await put(sane, LIBP2P_KEY_FILE, libp2pBytes)
  await put(sane, WG_KEY_FILE, wgText)
  const id = await loadOrCreateIdentity(sane)
  assert.ok(id.peerId === peerId && id.wg.publicKey === wg.publicKey, 'oracle sanity')
  const dir = await freshDir()
  const arb = fc.tuple(fc.boolean(), fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.oneof(oneMutationArb, mutationsArb)))
  await fc.assert(fc.asyncProperty(arb, async ([which, edit]) => {
    const lib = which ? (edit instanceof Uint8Array ? edit : mutate(libp2pBytes, edit)) : libp2pBytes
    const wgFile = which ? wgText : (edit instanceof Uint8Array ? edit : mutateText(wgText, edit))
    await put(dir, LIBP2P_KEY_FILE, lib)
    await put(dir, WG_KEY_FILE, wgFile)
    const r = await outcome(async () => await loadOrCreateIdentity(dir), [ErrorCodes.KEY_CORRUPT])
    if (r.ok) {
      // libp2p.key stores the public half too, so every corruption is detectable: same PeerId or refused.
      assert.is(r.value.peerId, peerId, 'a mutated libp2p.key loaded as another PeerId')
      // wireguard.key is `wg genkey` text: 32 bytes with no redundancy, so a flipped base64 bit is
      // another valid key (a known limit of the format). What must hold: the key loaded is exactly
      // the one the file spells, with its public key derived, never a freshly generated one.
      const spelled = new TextDecoder().decode(typeof wgFile === 'string' ? enc.encode(wgFile) : wgFile).trimEnd()
      assert.is(r.value.wg.privateKey, spelled, 'the WireGuard key loaded is not the one in the file')
      assert.is(r.value.wg.publicKey, wgPublicKeyFromPrivate(r.value.wg.privateKey))
    }
    assert.equal([...await readFile(join(dir, LIBP2P_KEY_FILE))], [...(typeof lib === 'string' ? enc.encode(lib) : lib)], 'libp2p.key was rewritten')
    assert.equal([...await readFile(join(dir, WG_KEY_FILE))], [...(typeof wgFile === 'string' ? enc.encode(wgFile) : wgFile)], 'wireguard.key was rewritten')
  }), params(300))
})

test.after(async () => { await rm(root, { recursive: true, force: true }) })

test.run()
