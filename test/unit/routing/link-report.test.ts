import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { buildLinkReport, ownLinksOfReport, parseLinkReport, routingKeyOfReport, MAX_REPORT_LINKS } from '../../../src/routing/link-report.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'
import { initialLinkState, applyProbe } from '../../../src/routing/link-state.ts'

const good = {
  from: '12D3KooWA', seq: 3, at: 1000,
  links: [{ to: '12D3KooWB', up: true, rttClass: 4, rttMs: 9.5 }, { to: '12D3KooWC', up: false, rttClass: 0, rttMs: null }]
}

function rejects (input: unknown, label: string): void {
  try {
    parseLinkReport(input)
  } catch (err) {
    assert.ok(isGridmeshError(err), `${label}: GridmeshError`)
    assert.is(err.code, ErrorCodes.RECORD_INVALID, label)
    return
  }
  assert.unreachable(`${label}: should be rejected`)
}

test('a well-formed report parses to the same value', () => {
  assert.equal(parseLinkReport(good), good)
})

test('routingKeyOfReport: timestamps and raw RTTs leave it alone; usability, RTT class, links and garbage move it', () => {
  const key = routingKeyOfReport(good)
  assert.is(routingKeyOfReport({ ...good, seq: 4, at: 2000, links: [{ ...good.links[0], rttMs: 11.2 }, good.links[1]] }), key)
  assert.is.not(routingKeyOfReport({ ...good, links: [{ ...good.links[0], up: false }, good.links[1]] }), key)
  assert.is.not(routingKeyOfReport({ ...good, links: [{ ...good.links[0], rttClass: 5 }, good.links[1]] }), key)
  assert.is.not(routingKeyOfReport({ ...good, links: [good.links[0]] }), key)
  assert.is.not(routingKeyOfReport({ ...good, from: '12D3KooWZ' }), key)
  assert.is.not(routingKeyOfReport({ junk: 1 }), routingKeyOfReport({ junk: 2 }))
  assert.type(routingKeyOfReport(undefined), 'string')
})

test('ownLinksOfReport prices our edges as others read them: usability and RTT class only', () => {
  assert.equal(ownLinksOfReport(parseLinkReport(good)), new Map([
    ['12D3KooWB', { state: 'up', rttClass: 4 }],
    ['12D3KooWC', { state: 'down', rttClass: 0 }]
  ]))
})

test('malformed reports are RECORD_INVALID', () => {
  const link = good.links[0]
  const cases: Array<[string, unknown]> = [
    ['null', null], ['string', 'x'], ['array', []],
    ['missing links', { ...good, links: undefined }],
    ['extra field', { ...good, extra: 1 }],
    ['negative seq', { ...good, seq: -1 }],
    ['fractional seq', { ...good, seq: 1.5 }],
    ['rttClass 16', { ...good, links: [{ ...link, rttClass: 16 }] }],
    ['NaN rtt', { ...good, links: [{ ...link, rttMs: Number.NaN }] }],
    ['bad id', { ...good, from: 'not a peer/id' }],
    ['long id', { ...good, from: 'A'.repeat(200) }],
    ['self link', { ...good, links: [{ ...link, to: good.from }] }],
    ['duplicate link', { ...good, links: [link, link] }],
    ['too many links', { ...good, links: Array.from({ length: MAX_REPORT_LINKS + 1 }, (_, i) => ({ ...link, to: `P${i}` })) }]
  ]
  for (const [label, input] of cases) rejects(input, label)
})

test('parseLinkReport is total: arbitrary input returns or throws RECORD_INVALID, never anything else', () => {
  fc.assert(fc.property(fc.anything(), input => {
    try { parseLinkReport(input) } catch (err) { return isGridmeshError(err) && err.code === ErrorCodes.RECORD_INVALID }
    return true
  }), { numRuns: 500 })
})

test('buildLinkReport publishes sorted links, unknown as up, and round-trips through the parser', () => {
  const up = applyProbe(initialLinkState(0), { ok: true, rttMs: 20, at: 1 })
  const links = new Map([['12D3KooWZ', up], ['12D3KooWB', initialLinkState(0)], ['12D3KooWA', up]])
  const report = buildLinkReport({ from: '12D3KooWA', seq: 1, at: 5, links })
  assert.equal(report.links.map(l => l.to), ['12D3KooWB', '12D3KooWZ'])
  assert.equal(report.links[0], { to: '12D3KooWB', up: true, rttClass: 0, rttMs: null })
  assert.equal(report.links[1], { to: '12D3KooWZ', up: true, rttClass: 5, rttMs: 20 })
  assert.equal(parseLinkReport(JSON.parse(JSON.stringify(report))), report)
})

test.run()
