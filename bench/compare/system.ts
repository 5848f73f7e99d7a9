/**
 * The one interface every compared overlay implements (gridmesh, the hand-made WireGuard
 * ceiling, tinc, Nebula, Yggdrasil). A driver owns nothing but files under `lab.dir` and the
 * daemons it spawns with `lab.spawn`; the lab (and so every daemon) is destroyed by the caller.
 */
import type { Lab } from '../../netns/lab.ts'

/** What a driver can measure; the runner skips the rest and reports why. */
export interface Capabilities {
  /** A mesh of N daemons (false for the two-host WireGuard ceiling). */
  mesh: boolean
  /** How the dead-peer purge is observed, or null with the reason it is not. */
  purge: { how: string } | { none: string }
}

export interface OverlaySystem {
  /** Column name in the table. */
  readonly name: string
  readonly caps: Capabilities
  /** Writes keys and configuration for hosts 1..n under lab.dir (no daemon runs yet). */
  setup (lab: Lab, n: number): Promise<void>
  /** Starts host i's daemon(s). `fresh` = as a brand-new member (new identity) where that exists. */
  start (i: number, fresh?: boolean): Promise<void>
  /** Signals host i's daemon(s) and waits for them to exit. */
  stop (i: number, signal: NodeJS.Signals): Promise<void>
  /** Host i's overlay address (may wait for the daemon to report it). */
  overlayAddress (i: number, deadlineMs: number): Promise<string>
  /** Pids whose RSS and CPU make up host i's footprint (the daemon, plus wireguard-go for gridmesh). */
  pids (i: number): number[]
  /**
   * Whether survivor i still considers host k a live peer (route, peer table, WireGuard peer);
   * throws when it cannot tell yet. Only called when caps.purge has `how`.
   */
  knows (i: number, k: number): Promise<boolean>
  /**
   * Control-plane processes of host i that may be paused (SIGSTOP) without touching the data
   * plane, for the diagnostic "throughput with the control plane paused"; absent = no split.
   */
  controlPids? (i: number): number[]
  /** Optional system-specific facts recorded with each repetition (e.g. startup phases, MTU). */
  details? (): Promise<Record<string, unknown>>
}

/** Constructor signature shared by the drivers. */
export type SystemFactory = () => OverlaySystem

/** The reroute / throughput pair: hosts 2 and 5 (host N when N < 5). */
export const pairOf = (n: number): [number, number] => [2, Math.min(5, n)]
