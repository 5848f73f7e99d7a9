import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createSocket } from 'node:dgram'
import type { Socket } from 'node:dgram'
import { CALM_AFTER_SUCCESSES, CALM_PROBE_EVERY, createLinkProber as createProber } from '../../../src/routing/prober.ts'
import { dgramSocketFactory } from '../../../src/net/udp.ts'
import { monotonicMs, systemTime } from '../../../src/time/system.ts'
import { decodeProbe, encodeProbe, echoOf, ProbeKind, PROBE_SIZE } from '../../../src/routing/probe-packet.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { testLogger } from '../../../src/log.ts'
import type { LinkProber, LinkProberInit, ProbeOutcome, ProbeSocket, ProbeSocketFactory } from '../../../src/routing/prober.ts'
import type { Ipv6Address } from '../../../src/net/prefix.ts'

const LOOP = '::1' as Ipv6Address
const logger = testLogger()
const realTimers = {
  setTimeout: (fn: () => void, ms: number) => { const t = setTimeout(fn, ms); return () => { clearTimeout(t) } },
  setInterval: (fn: () => void, ms: number) => { const t = setInterval(fn, ms); return () => { clearInterval(t) } }
}
/** The daemon's wiring: a real udp6 socket, the system clock, real timers (each test may override). */
function createLinkProber (init: Omit<LinkProberInit, 'socketFactory' | 'clock' | 'timers'> & Partial<LinkProberInit>): LinkProber {
  return createProber({ socketFactory: dgramSocketFactory, clock: { now: systemTime.now, monotonicMs }, timers: realTimers, ...init })
}

async function waitFor (cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

async function quiet (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

async function rawSocket (): Promise<Socket> {
  const s = createSocket({ type: 'udp6', ipv6Only: true })
  await new Promise<void>(resolve => s.bind(0, '::1', resolve))
  return s
}

function freePortPair (): [number, number] {
  const base = 20000 + Math.floor(Math.random() * 20000)
  return [base, base + 1]
}

test('probe packets are 16 bytes and round-trip; echoes flip only the kind', () => {
  const buf = encodeProbe({ kind: ProbeKind.PROBE, nonce: 'a1b2c3d4e5f607', sentAt: 1234.5 })
  assert.is(buf.length, PROBE_SIZE)
  assert.equal(decodeProbe(buf), { kind: ProbeKind.PROBE, nonce: 'a1b2c3d4e5f607', sentAt: 1234.5 })
  assert.equal(decodeProbe(echoOf(buf)), { kind: ProbeKind.ECHO, nonce: 'a1b2c3d4e5f607', sentAt: 1234.5 })
  assert.is(decodeProbe(Buffer.alloc(15)), null)
  assert.is(decodeProbe(Buffer.alloc(16)), null, 'kind 0 is not a probe')
})

test('two probers on loopback measure each other', async () => {
  const [pa, pb] = freePortPair()
  const got = { a: [] as ProbeOutcome[], b: [] as ProbeOutcome[] }
  const a = createLinkProber({ logger, bindAddress: '::1', port: pa, remotePort: pb, intervalMs: 20, timeoutMs: 500, onResult: (peer, r) => { assert.is(peer, 'B'); got.a.push(r) } })
  const b = createLinkProber({ logger, bindAddress: '::1', port: pb, remotePort: pa, intervalMs: 20, timeoutMs: 500, onResult: (peer, r) => { assert.is(peer, 'A'); got.b.push(r) } })
  a.setTargets(new Map([['B', LOOP]]))
  b.setTargets(new Map([['A', LOOP]]))
  try {
    await Promise.all([a.start(), b.start()])
    await waitFor(() => got.a.length >= 3 && got.b.length >= 3)
    for (const r of [...got.a, ...got.b]) {
      assert.ok(r.ok)
      assert.ok(typeof r.rttMs === 'number' && r.rttMs >= 0 && r.rttMs < 500)
    }
  } finally {
    a.stop(); b.stop()
  }
})

test('a peer that never answers yields failures after the timeout', async () => {
  const silent = await rawSocket()
  const results: ProbeOutcome[] = []
  let received = 0
  silent.on('message', () => { received++ })
  const t0 = Date.now()
  const p = createLinkProber({ logger, bindAddress: '::1', port: freePortPair()[0], remotePort: silent.address().port, intervalMs: 20, timeoutMs: 100, onResult: (_peer, r) => results.push(r) })
  p.setTargets(new Map([['X', LOOP]]))
  try {
    await p.start()
    await waitFor(() => results.length >= 3)
    assert.ok(received >= 3, 'probes were sent')
    assert.ok(results.every(r => !r.ok && r.rttMs === undefined))
    assert.ok((results[0]?.at ?? 0) - t0 >= 100, 'no failure before the timeout')
  } finally {
    p.stop(); silent.close()
  }
})

test('probes from addresses that are not members are not answered; stray echoes are dropped', async () => {
  const port = freePortPair()[0]
  const results: ProbeOutcome[] = []
  const p = createLinkProber({ logger, bindAddress: '::1', port, intervalMs: 1000, timeoutMs: 1000, onResult: (_peer, r) => results.push(r) })
  const raw = await rawSocket()
  let answers = 0
  raw.on('message', () => { answers++ })
  try {
    await p.start()
    p.setTargets(new Map([['Y', 'fd00::2' as Ipv6Address]]))
    raw.send(encodeProbe({ kind: ProbeKind.PROBE, nonce: '00000000000001', sentAt: 0 }), port, '::1')
    await quiet(100)
    assert.is(answers, 0, 'stranger not answered')
    p.setTargets(new Map([['Z', LOOP]]))
    raw.send(encodeProbe({ kind: ProbeKind.ECHO, nonce: '00000000000002', sentAt: 0 }), port, '::1')
    raw.send(Buffer.from('not a probe'), port, '::1')
    await quiet(100)
    assert.is(answers, 0, 'late/unknown echo and garbage not answered')
    raw.send(encodeProbe({ kind: ProbeKind.PROBE, nonce: '00000000000003', sentAt: 0 }), port, '::1')
    await waitFor(() => answers === 1)
    assert.ok(results.every(r => !r.ok || r.rttMs !== undefined))
  } finally {
    p.stop(); raw.close()
  }
})

function fakeFactory (bindErrors: string[], sent: unknown[]): ProbeSocketFactory {
  return () => {
    const sock: ProbeSocket = {
      bind: async () => {
        const code = bindErrors.shift()
        if (code !== undefined) throw Object.assign(new Error(`bind ${code}`), { code })
      },
      send: (buf) => { sent.push(buf) },
      close: () => {}
    }
    return sock
  }
}

test('bind is retried while the link address is not available, then probing starts', async () => {
  const sent: unknown[] = []
  const p = createLinkProber({ socketFactory: fakeFactory(['EADDRNOTAVAIL', 'EADDRNOTAVAIL'], sent), logger, bindAddress: 'fd00::2', intervalMs: 1000, onResult: () => {} })
  p.setTargets(new Map([['A', LOOP]]))
  await p.start()
  assert.is(sent.length, 1, 'first probe goes out on start')
  p.stop()
  p.stop()
})

test('other bind errors fail start with DRIVER_FAILED', async () => {
  const p = createLinkProber({ socketFactory: fakeFactory(['EADDRINUSE'], []), logger, bindAddress: 'fd00::2', onResult: () => {} })
  try {
    await p.start()
    assert.unreachable('should throw')
  } catch (err) {
    assert.ok(isGridmeshError(err))
    assert.is(err.code, ErrorCodes.DRIVER_FAILED)
  }
})

test('a probe with no echo fails once its timeout has passed (fake socket and clock)', async () => {
  let mono = 0
  const results: ProbeOutcome[] = []
  const p = createLinkProber({
    socketFactory: fakeFactory([], []), clock: { now: () => 5000 + mono, monotonicMs: () => mono },
    logger, bindAddress: 'fd00::2', intervalMs: 10, timeoutMs: 1000, onResult: (_peer, r) => results.push(r)
  })
  p.setTargets(new Map([['A', LOOP]]))
  await p.start()
  await quiet(50)
  assert.is(results.length, 0, 'nothing fails before the timeout')
  mono = 1000
  await waitFor(() => results.length > 0)
  p.stop()
  assert.equal(results[0], { ok: false, at: 6000 })
})


test('a calm link is probed about 1/CALM_PROBE_EVERY as often as a failing one, and a failure makes it fast again', async () => {
  // Two targets behind one fake socket: A echoes every probe, B never answers. Counting
  // both over the same window makes the ratio independent of how fast timers run here.
  let answerA = true
  const sends = { A: 0, B: 0 }
  let deliver: ((buf: Buffer, from: { address: string, port: number }) => void) | null = null
  const factory: ProbeSocketFactory = onMessage => {
    deliver = onMessage
    return {
      bind: async () => {},
      send: (buf, port, address) => {
        if (address === 'fd00::a') { sends.A++; if (answerA) setImmediate(() => deliver?.(echoOf(Buffer.from(buf)), { address, port })) } else sends.B++
      },
      close: () => {}
    }
  }
  const results: Array<{ peer: string, ok: boolean }> = []
  const p = createLinkProber({ socketFactory: factory, logger, bindAddress: 'fd00::2', intervalMs: 10, timeoutMs: 30, onResult: (peer, r) => { results.push({ peer, ok: r.ok }) } })
  p.setTargets(new Map([['A', 'fd00::a' as Ipv6Address], ['B', 'fd00::b' as Ipv6Address]]))
  try {
    await p.start()
    await waitFor(() => results.filter(r => r.peer === 'A' && r.ok).length >= CALM_AFTER_SUCCESSES + 2)
    sends.A = 0; sends.B = 0
    await waitFor(() => sends.B >= 10 * CALM_PROBE_EVERY)
    assert.ok(sends.A <= 2 * sends.B / CALM_PROBE_EVERY + 1, `calm A got ${sends.A} probes while failing B got ${sends.B}`)
    assert.ok(sends.A >= 2, 'a calm link is still probed')
    answerA = false
    await waitFor(() => results.some(r => r.peer === 'A' && !r.ok))
    sends.A = 0; sends.B = 0
    await waitFor(() => sends.B >= 20)
    assert.ok(sends.A >= sends.B - 3, `after a failure A is probed every tick again (A ${sends.A}, B ${sends.B})`)
  } finally { p.stop() }
})

test('an echo that comes after its probe failed still counts: the link is slow, not broken, and the timeout learns the RTT', async () => {
  // Every echo arrives 120 ms after its probe, far past the 30 ms timeout. Without late
  // echoes this link would fail forever; with them, failures are followed by successes
  // and the adaptive timeout grows until probes stop failing.
  let deliver: ((buf: Buffer, from: { address: string, port: number }) => void) | null = null
  const factory: ProbeSocketFactory = onMessage => {
    deliver = onMessage
    return {
      bind: async () => {},
      send: (buf, port, address) => { const echo = echoOf(Buffer.from(buf)); setTimeout(() => deliver?.(echo, { address, port }), 120) },
      close: () => {}
    }
  }
  const results: ProbeOutcome[] = []
  const p = createLinkProber({ socketFactory: factory, logger, bindAddress: 'fd00::2', intervalMs: 20, timeoutMs: 30, onResult: (_peer, r) => { results.push(r) } })
  p.setTargets(new Map([['S', 'fd00::5' as Ipv6Address]]))
  try {
    await p.start()
    await waitFor(() => results.some(r => r.ok))
    const late = results.find(r => r.ok)
    assert.ok(late?.rttMs !== undefined && late.rttMs >= 100, `a late echo reports its real RTT (${String(late?.rttMs)})`)
    // Once the timeout has learned ~120 ms, a long run of probes passes without a failure.
    await waitFor(() => { const tail = results.slice(-15); return tail.length === 15 && tail.every(r => r.ok) }, 8000)
  } finally { p.stop() }
})

test.run()
