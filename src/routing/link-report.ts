/**
 * The shared form of a node's link states: what it publishes so every member
 * can run the same route computation. It arrives from the network, so
 * `parseLinkReport` is total: any input either becomes a well-formed,
 * size-bounded LinkReport or throws GridmeshError RECORD_INVALID. Nothing
 * from an unvalidated report reaches routing (invariant "nothing reaches
 * WireGuard from a record that failed validation").
 */
import { z } from 'zod'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { MAX_RTT_CLASS, isUsable } from './link-state.ts'
import type { LinkState } from './link-state.ts'
import type { OwnLink, PeerIdString } from './types.ts'

/** Upper bound on links per report: a report lists at most every other member once. */
export const MAX_REPORT_LINKS = 1024

/** PeerId strings are ~52 chars (base58 Ed25519); 128 leaves room and bounds memory. */
export const MAX_PEER_ID_LENGTH = 128

/** Largest RTT a report may carry (1 hour); anything above is nonsense, not a measurement. */
export const MAX_REPORT_RTT_MS = 3_600_000

/** One directed link measurement: `from`'s view of its direct link to `to`. */
export interface LinkReportEntry {
  readonly to: PeerIdString
  readonly up: boolean
  readonly rttClass: number
  readonly rttMs: number | null
}

/** A node's published view of all its direct links. Newer `seq` replaces older. */
export interface LinkReport {
  readonly from: PeerIdString
  readonly seq: number
  readonly at: number
  readonly links: readonly LinkReportEntry[]
}

/** PeerIds print as base58btc (or base32 CIDs): alphanumerics only, which also keeps them log-safe. */
const peerId = z.string().min(1).max(MAX_PEER_ID_LENGTH).regex(/^[0-9A-Za-z]+$/, 'not a PeerId string')

const entrySchema = z.strictObject({
  to: peerId,
  up: z.boolean(),
  rttClass: z.number().int().min(0).max(MAX_RTT_CLASS),
  rttMs: z.number().finite().min(0).max(MAX_REPORT_RTT_MS).nullable()
})

const reportSchema = z.strictObject({
  from: peerId,
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  at: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  links: z.array(entrySchema).max(MAX_REPORT_LINKS)
})

/**
 * parseLinkReport validates untrusted input into a LinkReport. Rejects
 * unknown fields, oversize reports, self-links and duplicate targets (a
 * duplicate would make the link's state depend on which entry a reader saw
 * first, and every node must read the same thing).
 */
export function parseLinkReport (input: unknown): LinkReport {
  const r = reportSchema.safeParse(input)
  if (!r.success) {
    const issue = r.error.issues[0]
    const where = issue === undefined ? '' : ` at ${issue.path.join('.') || '(root)'}: ${issue.message}`
    throw new GridmeshError(ErrorCodes.RECORD_INVALID, `invalid link report${where}`)
  }
  const seen = new Set<string>()
  for (const link of r.data.links) {
    if (link.to === r.data.from) throw invalid('a report may not list a link to its own sender')
    if (seen.has(link.to)) throw invalid(`duplicate link to ${link.to}`)
    seen.add(link.to)
  }
  return r.data
}

function invalid (why: string): GridmeshError {
  return new GridmeshError(ErrorCodes.RECORD_INVALID, `invalid link report: ${why}`)
}

/**
 * routingKey is what route computation reads from a report: each link's
 * target, usability and RTT class (weights.ts). Its timestamps and raw RTT
 * figures move with every heartbeat and change no route.
 */
export function routingKey (r: LinkReport): string {
  return `${r.from}|${r.links.map(l => `${l.to}:${l.up ? 1 : 0}:${l.rttClass}`).join(',')}`
}

/**
 * routingKeyOfReport is routingKey of a report received from the network.
 * Total: a report that does not parse keys as its raw text, so any change
 * to it still counts.
 */
export function routingKeyOfReport (input: unknown): string {
  try {
    return routingKey(parseLinkReport(input))
  } catch {
    return `invalid|${JSON.stringify(input) ?? ''}`
  }
}

/**
 * ownLinksOfReport reads our own report back as route computation's
 * `ownLinks`, so that we price our edges exactly as every other member does
 * (`unknown` was published as usable, and stays so).
 */
export function ownLinksOfReport (report: LinkReport): Map<PeerIdString, OwnLink> {
  return new Map(report.links.map(l => [l.to, { state: l.up ? 'up' : 'down', rttClass: l.rttClass }]))
}

/** buildLinkReport turns this node's link states into the report it publishes (sorted by peer for stable bytes). */
export function buildLinkReport (init: {
  from: PeerIdString
  seq: number
  at: number
  links: ReadonlyMap<PeerIdString, LinkState>
}): LinkReport {
  const links = [...init.links.entries()]
    .filter(([to]) => to !== init.from)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_REPORT_LINKS)
    .map(([to, s]) => ({
      to,
      up: isUsable(s.state),
      rttClass: s.costClass,
      rttMs: s.rttMs === null ? null : Math.min(MAX_REPORT_RTT_MS, Math.round(s.rttMs * 1000) / 1000)
    }))
  return { from: init.from, seq: init.seq, at: init.at, links }
}
