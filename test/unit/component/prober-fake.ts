/**
 * The real link prober on the in-memory network's datagrams and a fake time,
 * with the daemon's default interval and timeout.
 */
import { createLinkProber, type LinkProber, type ProbeOutcome } from '../../../src/routing/prober.ts'
import { DEFAULTS } from '../../../src/config/schema.ts'
import { testLogger } from '../../../src/log.ts'
import type { MemoryNetwork } from '../../../src/mesh/memory-network.ts'
import type { Time } from '../../../src/time/clock.ts'

export function createRoutingProber (network: MemoryNetwork, peerId: string, time: Time) {
  return ({ bindAddress, onResult }: { bindAddress: string, onResult: (peer: string, r: ProbeOutcome) => void }): LinkProber => createLinkProber({
    logger: testLogger(), bindAddress, socketFactory: network.probeSockets(peerId), clock: { now: time.now, monotonicMs: time.now }, timers: time,
    intervalMs: DEFAULTS.probeIntervalMs, timeoutMs: DEFAULTS.probeTimeoutMs, onResult
  })
}
