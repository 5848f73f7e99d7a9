/**
 * The design's invariants, checked on what a live host shows (DESIGN.md
 * "Invariants"; reliability anchors R1–R9). Pure: one round of samples (one
 * per host, taken by invariant-monitor.ts from `wg show <if> dump`,
 * `ip -6 route` and the admin API) in, violations out.
 *
 *  - one-owner:      no allowed-ip on two WireGuard peers of one host, and no
 *                    /64 claimed by two members across the hosts' views;
 *  - forbidden:      never ::/0, the mesh prefix, or anything shorter than a
 *                    /64 outside the mesh on a peer;
 *  - allowed-ips:    each peer holds exactly its link /128 plus the /64 of
 *                    every destination this host's routes send via it;
 *  - unknown-peer:   every WireGuard peer is a known (or recently departed) member;
 *  - departed:       after the purge bound, no peer, peers row, route or
 *                    allowed-ip for a departed member, and no kernel route to its /64;
 *  - kernel-route:   the mesh prefix is routed on the mesh interface;
 *  - identity:       a host keeps the PeerId, /64 and WireGuard key it was first seen with.
 *
 * Some of these are briefly false while a host applies a change (routes
 * first, WireGuard a moment later): the monitor reports a violation only
 * when the same one shows in consecutive rounds (see `confirmRounds`), never
 * one that a single unlucky sample caught mid-apply.
 */
import { linkAddress } from '../src/mesh/allocation.ts'
import type { Ipv6Prefix } from '../src/net/prefix.ts'
import type { DeviceState } from '../src/wireguard/types.ts'
import type { PeerJson, RouteJson, StatusJson } from './mesh.ts'

/** What one host showed at one moment; a field is absent when reading it failed. */
export interface HostSample {
  readonly host: number
  readonly at: number
  readonly status?: StatusJson
  readonly peers?: readonly PeerJson[]
  readonly routes?: readonly RouteJson[]
  readonly wg?: DeviceState
  /** Destinations of `ip -6 route show dev <mesh interface>` ("default" or a prefix). */
  readonly kernelRoutes?: readonly string[]
}

/** A member as the checker knows it (learned from its own status). */
export interface KnownMember { readonly host: number, readonly peerId: string, readonly prefix: string, readonly wgPublicKey: string }

/** A member that left or was killed at `at` (ms since epoch). */
export interface DepartedMember extends KnownMember { readonly at: number }

export interface CheckContext {
  readonly meshPrefix: string
  readonly members: readonly KnownMember[]
  readonly departed: readonly DepartedMember[]
  /** How long survivors may take to purge a departed member (ms). */
  readonly purgeBoundMs: number
}

export type Rule = 'one-owner' | 'forbidden' | 'allowed-ips' | 'unknown-peer' | 'departed' | 'kernel-route' | 'identity'

export interface Violation {
  readonly host: number
  readonly rule: Rule
  /** What it is about (a peer key, a prefix): the identity of the violation across rounds. */
  readonly subject: string
  readonly detail: string
}

/** The key under which the monitor tracks a violation across rounds. */
export function violationKey (v: Violation): string {
  return `${v.host} ${v.rule} ${v.subject}`
}

const sortedJoin = (xs: Iterable<string>): string => [...xs].sort().join(',') || '(none)'

function prefixLength (p: string): number {
  const slash = p.lastIndexOf('/')
  return slash < 0 ? 128 : Number(p.slice(slash + 1))
}

function checkWireGuard (s: HostSample, ctx: CheckContext, out: Violation[]): void {
  if (s.wg === undefined) return
  const byKey = new Map(ctx.members.map(m => [m.wgPublicKey, m]))
  const departedKeys = new Set(ctx.departed.map(d => d.wgPublicKey))
  const holders = new Map<string, string[]>()
  for (const p of s.wg.peers) {
    for (const a of p.allowedIps) {
      holders.set(a, [...(holders.get(a) ?? []), p.publicKey])
      if (a === '::/0' || a === ctx.meshPrefix || prefixLength(a) < 64) {
        out.push({ host: s.host, rule: 'forbidden', subject: `${p.publicKey} ${a}`, detail: `peer ${p.publicKey} holds ${a}` })
      }
    }
    if (!byKey.has(p.publicKey) && !departedKeys.has(p.publicKey)) {
      out.push({ host: s.host, rule: 'unknown-peer', subject: p.publicKey, detail: `WireGuard peer ${p.publicKey} is no known member (allowed-ips ${sortedJoin(p.allowedIps)})` })
    }
  }
  for (const [a, keys] of holders) {
    if (keys.length > 1) out.push({ host: s.host, rule: 'one-owner', subject: a, detail: `${a} is on ${keys.length} WireGuard peers: ${keys.join(', ')}` })
  }
  if (s.routes === undefined) return
  const viaOf = new Map<string, string[]>()
  for (const r of s.routes) viaOf.set(r.via, [...(viaOf.get(r.via) ?? []), r.destination])
  for (const p of s.wg.peers) {
    const m = byKey.get(p.publicKey)
    if (m === undefined) continue
    const want = new Set([`${linkAddress(m.prefix as Ipv6Prefix)}/128`, ...(viaOf.get(m.peerId) ?? [])])
    const have = new Set<string>(p.allowedIps)
    if (want.size !== have.size || [...want].some(x => !have.has(x))) {
      // The subject carries the mismatch itself: only the *same* mismatch seen round after round is a
      // stuck state; a host that is busy applying a stream of route changes shows a different one each time.
      out.push({ host: s.host, rule: 'allowed-ips', subject: `${p.publicKey} ${sortedJoin(have)} != ${sortedJoin(want)}`, detail: `host ${m.host}'s peer holds ${sortedJoin(have)}; its link /128 and the routes via it want ${sortedJoin(want)}` })
    }
  }
}

function checkDeparted (s: HostSample, ctx: CheckContext, out: Violation[]): void {
  for (const d of ctx.departed) {
    if (d.host === s.host || s.at < d.at + ctx.purgeBoundMs) continue
    const seen: string[] = []
    if (s.wg?.peers.some(p => p.publicKey === d.wgPublicKey) === true) seen.push('a WireGuard peer')
    if (s.wg?.peers.some(p => (p.allowedIps as readonly string[]).includes(d.prefix)) === true) seen.push('its /64 on a WireGuard peer')
    if (s.peers?.some(p => p.peerId === d.peerId) === true) seen.push('a peers row')
    if (s.routes?.some(r => r.destinationPeer === d.peerId || r.via === d.peerId || r.destination === d.prefix) === true) seen.push('a route')
    if (s.kernelRoutes?.includes(d.prefix) === true) seen.push('a kernel route to its /64')
    if (seen.length > 0) {
      out.push({ host: s.host, rule: 'departed', subject: d.peerId, detail: `host ${d.host} departed ${Math.round((s.at - d.at) / 1000)} s ago (purge bound ${ctx.purgeBoundMs / 1000} s) and still has ${seen.join(', ')}` })
    }
  }
}

function checkIdentity (s: HostSample, ctx: CheckContext, out: Violation[]): void {
  const was = ctx.members.find(m => m.host === s.host)
  if (s.status === undefined || was === undefined) return
  const now = { peerId: s.status.peerId, prefix: s.status.prefix, wgPublicKey: s.status.wgPublicKey }
  for (const k of ['peerId', 'prefix', 'wgPublicKey'] as const) {
    if (now[k] !== was[k]) out.push({ host: s.host, rule: 'identity', subject: k, detail: `host ${s.host}'s ${k} changed from ${was[k]} to ${now[k]}` })
  }
}

function checkKernel (s: HostSample, ctx: CheckContext, out: Violation[]): void {
  if (s.kernelRoutes === undefined || s.status === undefined) return
  if (!s.kernelRoutes.includes(ctx.meshPrefix)) {
    out.push({ host: s.host, rule: 'kernel-route', subject: ctx.meshPrefix, detail: `no route to the mesh prefix ${ctx.meshPrefix} on the mesh interface (has ${sortedJoin(s.kernelRoutes)})` })
  }
}

/** Across hosts: each /64 belongs to one member, and each member has one /64, in every view. */
function checkOwnership (samples: readonly HostSample[], out: Violation[]): void {
  const ownerOf = new Map<string, Set<string>>()
  const prefixOf = new Map<string, Set<string>>()
  const note = (peerId: string, prefix: string): void => {
    ownerOf.set(prefix, (ownerOf.get(prefix) ?? new Set()).add(peerId))
    prefixOf.set(peerId, (prefixOf.get(peerId) ?? new Set()).add(prefix))
  }
  for (const s of samples) {
    if (s.status !== undefined) note(s.status.peerId, s.status.prefix)
    for (const p of s.peers ?? []) note(p.peerId, p.prefix)
  }
  for (const [prefix, owners] of ownerOf) {
    if (owners.size > 1) out.push({ host: 0, rule: 'one-owner', subject: prefix, detail: `${prefix} is claimed by ${owners.size} members: ${sortedJoin(owners)}` })
  }
  for (const [peerId, prefixes] of prefixOf) {
    if (prefixes.size > 1) out.push({ host: 0, rule: 'one-owner', subject: peerId, detail: `member ${peerId} is seen with ${prefixes.size} prefixes: ${sortedJoin(prefixes)}` })
  }
}

/** checkRound returns every invariant a round of samples (one per live host) breaks. Host 0 means "across hosts". */
export function checkRound (samples: readonly HostSample[], ctx: CheckContext): Violation[] {
  const out: Violation[] = []
  for (const s of samples) {
    checkWireGuard(s, ctx, out)
    checkDeparted(s, ctx, out)
    checkKernel(s, ctx, out)
    checkIdentity(s, ctx, out)
  }
  checkOwnership(samples, out)
  return out
}

/** The destinations of `ip -6 route show dev X` output (first word of each line). */
export function parseKernelRoutes (text: string): string[] {
  return text.split('\n').map(l => l.trim().split(/\s+/)[0] ?? '').filter(x => x !== '')
}
