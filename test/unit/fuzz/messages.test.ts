/**
 * Fuzz: what peers send besides DHT records (T9; S8): membership gossip
 * messages (announce / leave / revoke), the roster response, link reports
 * carried inside announces, and the 16-byte link-probe datagrams. Each
 * decoder is fed random bytes, random and field-edited JSON and one-byte /
 * multi-byte mutations of known-good encodings. Oracle: RECORD_INVALID with
 * a known reason (or null for the two decoders documented as returning
 * null), or a value that survives its own encode → decode unchanged.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { ErrorCodes } from '../../../src/errors.ts'
import { decodeRecord, encodeRecord, RECORD_REJECT_REASONS } from '../../../src/mesh/record.ts'
import { decodeMessage, encodeMessage, fromBase64, MAX_MESSAGE_BYTES, toBase64, type MemberMessage } from '../../../src/mesh/messages.ts'
import { decodeRoster, encodeRoster, ROSTER_MAX_RECORDS } from '../../../src/mesh/roster.ts'
import { parseLinkReport, MAX_REPORT_LINKS, type LinkReport } from '../../../src/routing/link-report.ts'
import { MAX_RTT_CLASS } from '../../../src/routing/link-state.ts'
import { decodeProbe, echoOf, encodeProbe, PROBE_SIZE, ProbeKind } from '../../../src/routing/probe-packet.ts'
import { newIdentity, samplePayload } from '../mesh/helpers.ts'
import { MESH, NOW } from '../admission/helpers.ts'
import {
  anyString, bigBytes, fieldEditsArb, mutate, mutateText, mutationsArb, nastyJson, oneMutationArb, outcome, outcomeSync, params, timeTests
} from './helpers.ts'

timeTests(test)

const REASONS: ReadonlySet<string> = new Set(RECORD_REJECT_REASONS)
const CODES = [ErrorCodes.RECORD_INVALID]
const enc = new TextEncoder()

const me = await newIdentity()
const peerB = await newIdentity()
const peerC = await newIdentity()
const recordBytes = await encodeRecord(samplePayload(me.peerId, {}, NOW), me.privateKey)
const report: LinkReport = {
  from: me.peerId,
  seq: 7,
  at: NOW,
  links: [
    { to: peerB.peerId, up: true, rttClass: 2, rttMs: 1.25 },
    { to: peerC.peerId, up: false, rttClass: MAX_RTT_CLASS, rttMs: null }
  ]
}
const VALID: MemberMessage[] = [
  { v: 1, type: 'announce', record: toBase64(recordBytes), links: report },
  { v: 1, type: 'leave', seq: 12 },
  { v: 1, type: 'revoke', revocation: 'gmr1.AAAA' }
]
const validBytes = VALID.map(m => encodeMessage(m))

/**
 * What the membership handler does with a decoded message, checked: the
 * message re-encodes to itself, its record (announce) decodes or is refused
 * with a reason, and its link report parses to something that round-trips.
 */
async function followMessage (m: MemberMessage): Promise<void> {
  assert.equal(decodeMessage(encodeMessage(m)), m, 'decode → encode → decode is not a fixed point')
  if (m.type !== 'announce') return
  const r = await outcome(async () => await decodeRecord(fromBase64(m.record), { mesh: MESH, now: NOW }), CODES, REASONS)
  if (r.ok) assert.is(r.value.peerId, me.peerId, 'a mutated announce carried someone else\'s valid record')
  if (m.links !== undefined) followReport(m.links)
}

function followReport (input: unknown): void {
  const r = outcomeSync(() => parseLinkReport(input), CODES)
  if (!r.ok) return
  const again = parseLinkReport(JSON.parse(JSON.stringify(r.value)))
  assert.equal(again, r.value, 'link report does not round-trip')
  const tos = r.value.links.map(l => l.to)
  assert.is(new Set(tos).size, tos.length, 'duplicate link target accepted')
  assert.not.ok(tos.includes(r.value.from), 'self-link accepted')
  assert.ok(r.value.links.length <= MAX_REPORT_LINKS)
}

test('oracle sanity: every known-good message decodes to itself and its record and report are accepted', async () => {
  for (const [i, bytes] of validBytes.entries()) assert.equal(decodeMessage(bytes), VALID[i])
  assert.is((await decodeRecord(recordBytes, { mesh: MESH, now: NOW })).peerId, me.peerId)
  assert.equal(parseLinkReport(report), report)
  assert.equal(decodeRoster(encodeRoster([toBase64(recordBytes)])), [toBase64(recordBytes)])
  for (const m of VALID) await followMessage(m)
})

test('gossip: random bytes are refused as malformed or oversized', async () => {
  const arb = fc.oneof(fc.uint8Array({ maxLength: 400 }), bigBytes(MAX_MESSAGE_BYTES - 4, MAX_MESSAGE_BYTES + 64))
  await fc.assert(fc.asyncProperty(arb, async bytes => {
    const d = outcomeSync(() => decodeMessage(bytes), CODES, REASONS)
    if (d.ok) await followMessage(d.value)
    else if (bytes.length > MAX_MESSAGE_BYTES) assert.is(d.reason, 'oversized')
  }), params(1500))
})

test('gossip: random JSON and field-edited valid messages are refused, or decode to a fixed point', async () => {
  const arb = fc.oneof(
    nastyJson,
    ...VALID.map(m => fieldEditsArb(m as unknown as Record<string, unknown>, fc.oneof(nastyJson, fc.constantFrom('announce', 'leave', 'revoke', 1, 2, 'gmr1.', 'gmr1.A', 'AAAA', '====', report))))
  )
  await fc.assert(fc.asyncProperty(arb, async json => {
    const d = outcomeSync(() => decodeMessage(enc.encode(JSON.stringify(json) ?? '')), CODES, REASONS)
    if (d.ok) await followMessage(d.value)
  }), params(2000))
})

test('gossip: one-byte and multi-byte mutations of each valid message are refused, or decode to a fixed point', async () => {
  await fc.assert(fc.asyncProperty(fc.nat(VALID.length - 1), fc.oneof(oneMutationArb, mutationsArb), async (which, ops) => {
    const d = outcomeSync(() => decodeMessage(mutate(validBytes[which] ?? new Uint8Array(), ops)), CODES, REASONS)
    if (d.ok) await followMessage(d.value)
  }), params(2000))
})

test('link reports: mutated JSON text and field-edited reports and entries are refused, or round-trip', () => {
  const text = JSON.stringify(report)
  const entry = report.links[0] as unknown as Record<string, unknown>
  const arb = fc.oneof(
    fc.oneof(oneMutationArb, mutationsArb).map(ops => {
      try { return JSON.parse(mutateText(text, ops)) as unknown } catch { return undefined }
    }),
    fieldEditsArb(report as unknown as Record<string, unknown>, fc.oneof(nastyJson, fc.constantFrom(me.peerId, peerB.peerId, [], [entry, entry]))),
    fieldEditsArb(entry, fc.oneof(nastyJson, fc.constantFrom(me.peerId, -1, MAX_RTT_CLASS + 1, 3_600_000, 3_600_001, Infinity, NaN, null)))
      .map(e => ({ ...report, links: [e] })),
    nastyJson
  )
  fc.assert(fc.property(arb, input => { followReport(input) }), params(2000))
})

test('roster: random bytes, random JSON and mutations give null or a list that round-trips', () => {
  const valid = encodeRoster([toBase64(recordBytes), 'AAAA'])
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    nastyJson.map(j => enc.encode(JSON.stringify(j) ?? '')),
    fc.record({ v: fc.constantFrom(1, 2, '1'), records: fc.array(fc.oneof(anyString(20), nastyJson), { maxLength: 4 }) }).map(j => enc.encode(JSON.stringify(j))),
    fc.oneof(oneMutationArb, mutationsArb).map(ops => mutate(valid, ops))
  )
  fc.assert(fc.property(arb, bytes => {
    let r: string[] | null
    try { r = decodeRoster(bytes) } catch (err) { throw new Error(`decodeRoster threw ${String(err)}`) }
    if (r === null) return
    assert.ok(Array.isArray(r) && r.length <= ROSTER_MAX_RECORDS && r.every(s => typeof s === 'string' && s.length > 0))
    assert.equal(decodeRoster(encodeRoster(r)), r)
  }), params(2000))
})

test('probe datagrams: any bytes, at any offset into a larger buffer, give null or a packet that re-encodes to them', () => {
  const arb = fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.nat(8), fc.constantFrom(ProbeKind.PROBE, ProbeKind.ECHO, 0, 3, 255), fc.boolean())
  fc.assert(fc.property(arb, ([raw, offset, kind, exact]) => {
    // half the time an exactly-16-byte datagram with a plausible kind, as a view into a larger buffer
    const bytes = exact ? Uint8Array.from({ length: PROBE_SIZE }, (_, i) => i === 0 ? kind : raw[i] ?? i) : raw
    const backing = new Uint8Array(bytes.length + offset + 3)
    backing.set(bytes, offset)
    const view = backing.subarray(offset, offset + bytes.length)
    const p = decodeProbe(view)
    const shouldDecode = bytes.length === PROBE_SIZE && (bytes[0] === ProbeKind.PROBE || bytes[0] === ProbeKind.ECHO)
    assert.is(p !== null, shouldDecode)
    if (p === null) return
    assert.match(p.nonce, /^[0-9a-f]{14}$/)
    const again = encodeProbe(p)
    assert.equal([...again.subarray(0, 8)], [...bytes.subarray(0, 8)], 'kind or nonce changed on re-encode')
    if (!Number.isNaN(p.sentAt)) assert.equal([...again], [...bytes]) // NaN payload bits are canonicalised; informational only
    const echo = decodeProbe(echoOf(view))
    assert.ok(echo !== null && echo.kind === ProbeKind.ECHO && echo.nonce === p.nonce)
  }), params(3000))
})

test.run()
