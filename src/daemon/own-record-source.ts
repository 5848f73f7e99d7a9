/**
 * Publishing our own record: the decisions are own-record.ts's; this runs
 * them with the clock, the persisted seq (a new seq is made durable before
 * any record carries it), the certificate authority material of a closed
 * mesh, and our signing key.
 */
import { encodeRecord } from '../mesh/record.ts'
import { certificateDue, ownRecordPayload, publishableEndpoints, renewalDue } from '../mesh/own-record.ts'
import { issueMemberCertificate, type Certificate } from '../admission/certificate.ts'
import { toBase64url } from '../admission/codec.ts'
import type { ClosedMesh } from './admission.ts'
import type { Config } from '../config/schema.ts'
import type { Identity } from '../keys/store.ts'
import type { Logger } from '../log.ts'
import type { Ipv6Prefix } from '../net/prefix.ts'
import type { Clock } from '../time/clock.ts'

export interface OwnRecordInit {
  readonly config: Pick<Config, 'mesh' | 'announce' | 'wgPort' | 'listen'>
  readonly identity: Pick<Identity, 'peerId' | 'libp2pKey' | 'wg'>
  readonly meshPrefix: Ipv6Prefix
  readonly prefix: Ipv6Prefix
  readonly closed: ClosedMesh | null
  readonly clock: Clock
  readonly log: Logger
  /** Our transport's listen addresses (multiaddrs). */
  readonly listenAddrs: () => string[]
  /** Makes the next record seq durable and returns it. */
  readonly persistSeq: (now: number) => Promise<number>
}

export class OwnRecordSource {
  /** The /64 we claim. */
  prefix: Ipv6Prefix
  /** When we took it (this run's start for a saved one); set again on a move. */
  prefixSince: number
  /** What we last published. */
  endpoints: string[] = []
  seq = 0
  cert: Certificate | null = null
  private readonly init: OwnRecordInit

  constructor (init: OwnRecordInit) {
    this.init = init
    this.prefix = init.prefix
    this.prefixSince = init.clock.now()
  }

  /**
   * signNext builds our record for publication: endpoints (CONFIG_INVALID
   * when there are none), a certificate when one is due, and a newly
   * persisted seq.
   */
  async signNext (): Promise<Uint8Array> {
    const { config, identity, clock } = this.init
    const listenAddrs = this.init.listenAddrs()
    this.endpoints = publishableEndpoints({ announce: config.announce, listenAddrs, wgPort: config.wgPort, meshPrefix: this.init.meshPrefix, listen: config.listen })
    const now = clock.now()
    const cert = await this.ownCertificate(now)
    this.seq = await this.init.persistSeq(now)
    return await encodeRecord(ownRecordPayload({
      mesh: config.mesh, peerId: identity.peerId, wgPublicKey: identity.wg.publicKey, endpoints: this.endpoints, listenAddrs,
      prefix: this.prefix, seq: this.seq, now, cert: cert === null ? null : { b64: toBase64url(cert.bytes), expiresAt: cert.expiresAt }
    }), identity.libp2pKey)
  }

  /** renewalDue: the periodic check asks whether a republish with a fresh certificate is due. */
  renewalDue (): boolean { return renewalDue(this.cert, this.prefix, this.init.clock.now(), this.init.closed?.redemption.redeemedAt) }

  private async ownCertificate (now: number): Promise<Certificate | null> {
    const { closed, identity } = this.init
    if (closed === null) return null
    if (certificateDue(this.cert, this.prefix, now, closed.redemption.redeemedAt)) {
      // Signed with our own key from our token redemption: renewal never needs the join token again.
      this.cert = await issueMemberCertificate({ redemption: closed.redemption, key: identity.libp2pKey, wgPublicKey: identity.wg.publicKey, prefix: this.prefix, now })
      this.init.log.info({ prefix: this.prefix, expiresAt: new Date(this.cert.expiresAt).toISOString() }, 'membership certificate issued')
    }
    return this.cert
  }
}
