/**
 * Our links as we last announced them. Routes are computed from these, not
 * from the live link table: every other member prices our edges from this
 * same report, and a relay works only when both ends pick the same path
 * (WireGuard drops a relayed packet whose source is not on the relay's
 * entry). Before, only state changes were announced while routes used live
 * RTT classes, so two ends could disagree for as long as no link changed
 * state (measured: a relayed iperf3 got nothing for 20 s). State changes go
 * out at once, RTT classes with the next heartbeat. Pure: the caller decides
 * what a changed report sets off.
 */
import { buildLinkReport, ownLinksOfReport, routingKey, type LinkReport } from './link-report.ts'
import type { LinkState } from './link-state.ts'
import type { OwnLink, PeerIdString } from './types.ts'

export class AnnouncedLinks {
  private readonly self: PeerIdString
  private last: { report: LinkReport, key: string } | null = null

  constructor (self: PeerIdString) { this.self = self }

  /**
   * announce builds the report to announce now from the live link states and
   * remembers it; `changed` says whether it differs from the last one in
   * what routes depend on (routing.ts's key: states and RTT classes).
   */
  announce (links: ReadonlyMap<PeerIdString, LinkState>, now: number): { report: LinkReport, changed: boolean } {
    const report = buildLinkReport({ from: this.self, seq: now, at: now, links })
    const key = routingKey(report)
    const changed = key !== this.last?.key
    this.last = { report, key }
    return { report, changed }
  }

  /** ownLinks is the announced report read back as route computation's input (empty before the first announce). */
  ownLinks (): Map<PeerIdString, OwnLink> {
    return this.last === null ? new Map() : ownLinksOfReport(this.last.report)
  }
}
