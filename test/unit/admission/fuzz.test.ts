/**
 * Fuzz (fast-check, seeded): random bytes and random mutations of valid
 * tokens, certificates and revocations never make a decoder throw anything
 * but GridmeshError RECORD_INVALID with a known reason, and no mutation
 * yields a different object that still verifies.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { ADMISSION_REJECT_REASONS } from '../../../src/admission/codec.ts'
import { issueCertificate, verifyCertificate } from '../../../src/admission/certificate.ts'
import { decodeToken, encodeToken } from '../../../src/admission/token.ts'
import { createRevocation, encodeRevocation, verifyRevocation } from '../../../src/admission/revocation.ts'
import { HOUR, MESH, NOW, PREFIX, WG, newAuthority, newPeerId, newToken } from './helpers.ts'
import { mutate, mutationsArb as mutationArb, sameBytes } from '../fuzz/helpers.ts'

const RUNS = 2000
const SEED = 0x6d657368
const REASONS: ReadonlySet<string> = new Set(ADMISSION_REJECT_REASONS)

const authority = await newAuthority()
const anchor = { mesh: MESH, authority: authority.publicKey }
const peer = await newPeerId()
const token = await newToken(authority)
const tokenText = encodeToken(token)
const cert = (await issueCertificate({ token, peerId: peer, wgPublicKey: WG, prefix: PREFIX, now: NOW, ttlMs: HOUR })).bytes
const rev = (await createRevocation({ authority, mesh: MESH, target: { peerId: peer }, now: NOW, reason: 'fuzz' })).bytes
const revText = encodeRevocation({ bytes: rev })

/** Runs a decoder; returns true if it accepted, false if it rejected properly; fails the test otherwise. */
async function accepts (fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn()
    return true
  } catch (err) {
    if (!isGridmeshError(err) || err.code !== ErrorCodes.RECORD_INVALID) throw new Error(`escaped: ${String(err)}`)
    const reason = (err.meta as { reason?: unknown } | undefined)?.reason
    if (typeof reason !== 'string' || !REASONS.has(reason)) throw new Error(`unknown reason ${String(reason)}`)
    return false
  }
}

const textBytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const bytesText = (b: Uint8Array): string => new TextDecoder().decode(b)
const params = { numRuns: RUNS, seed: SEED }

test('random bytes never escape as anything but RECORD_INVALID', async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2400 }), async bytes => {
    await accepts(async () => await verifyCertificate(bytes, { ...anchor, now: NOW }))
    await accepts(async () => await verifyRevocation(bytes, anchor))
    await accepts(async () => await decodeToken(bytesText(bytes)))
  }), params)
})

test('random strings shaped like tokens and revocations are rejected cleanly', async () => {
  await fc.assert(fc.asyncProperty(fc.string({ maxLength: 600 }), fc.string({ maxLength: 100 }), async (a, b) => {
    assert.not.ok(await accepts(async () => await decodeToken(`gmt1.${a}.${b}`)))
    assert.not.ok(await accepts(async () => await verifyRevocation(`gmr1.${a}`, anchor)))
  }), params)
})

test('mutated certificates: rejected unless byte-identical', async () => {
  await fc.assert(fc.asyncProperty(mutationArb, async ops => {
    const m = mutate(cert, ops)
    if (await accepts(async () => await verifyCertificate(m, { ...anchor, now: NOW }))) assert.ok(sameBytes(m, cert))
  }), params)
})

test('mutated token strings: rejected unless identical', async () => {
  const original = textBytes(tokenText)
  await fc.assert(fc.asyncProperty(mutationArb, async ops => {
    const m = mutate(original, ops)
    if (await accepts(async () => await decodeToken(bytesText(m)))) assert.ok(sameBytes(m, original))
  }), params)
})

test('mutated revocations (bytes and strings): rejected unless identical', async () => {
  const original = textBytes(revText)
  await fc.assert(fc.asyncProperty(mutationArb, async ops => {
    const m = mutate(rev, ops)
    if (await accepts(async () => await verifyRevocation(m, anchor))) assert.ok(sameBytes(m, rev))
    const t = mutate(original, ops)
    if (await accepts(async () => await verifyRevocation(bytesText(t), anchor))) assert.ok(sameBytes(t, original))
  }), params)
})

test.run()
