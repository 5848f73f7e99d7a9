/**
 * DirectLinkProbing owns the direct-link prober of a node: it (re)starts the
 * prober bound to our link address (again after a prefix move), feeds every
 * probe outcome into the link table, and tells the caller when a link changed
 * state so the new link report is announced.
 */
import type { LinkTable } from '../routing/link-table.ts'
import type { LinkProber } from '../routing/prober.ts'
import type { MeshPorts } from './mesh-ports.ts'
import type { Logger } from '../log.ts'

export class DirectLinkProbing {
  private prober: LinkProber | null = null
  private readonly createProber: MeshPorts['createProber']
  private readonly links: LinkTable
  private readonly log: Logger
  /** called when a probe changed a link's state. */
  private readonly onLinkChange: () => void

  constructor (createProber: MeshPorts['createProber'], links: LinkTable, log: Logger, onLinkChange: () => void) {
    this.createProber = createProber
    this.links = links
    this.log = log
    this.onLinkChange = onLinkChange
  }

  setTargets (targets: Parameters<LinkProber['setTargets']>[0]): void { this.prober?.setTargets(targets) }

  stop (): void { this.prober?.stop() }

  /** restart stops the running prober (if any) and starts one bound to bindAddress. */
  async restart (bindAddress: string): Promise<void> {
    this.prober?.stop()
    const prober = this.createProber({
      bindAddress,
      onResult: (peer, r) => {
        if (!this.links.probe(peer, r)) return
        const l = this.links.get(peer)
        this.log.info({ peer, link: l?.state, rttMs: l?.rttMs === null || l?.rttMs === undefined ? null : Math.round(l.rttMs * 10) / 10 }, `direct link ${l?.state ?? 'unknown'}`)
        this.onLinkChange()
      }
    })
    this.prober = prober
    await prober.start()
  }
}
