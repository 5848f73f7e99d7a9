/**
 * Live reload (SIGHUP, `systemctl reload`, `gridmesh reload [--dry-run]`):
 * re-read the config with the same loader as start and apply what can change
 * without a restart; nothing else moves.
 *
 * The sources are those of the start: the same flags and environment, so in
 * practice what changes is the config file (and the token file's content).
 * A flag or GRIDMESH_* variable still wins over the file, as at start.
 *
 * Applied live: `logLevel`, `bootstrap` (new seeds are dialed at once, removed
 * ones no longer redialed), and for a closed mesh the join token (`token`,
 * `tokenFile`, or a new token in the same file): a token with a new id is
 * redeemed and the node's certificate reissued from it; a token the node
 * already redeemed, or one it cannot redeem, leaves the membership as it is.
 * Everything else (mesh, stateDir, interface, listen, wgPort, …) is reported
 * as needing a restart and keeps its running value. A config that does not
 * load, or a token that is refused, changes nothing and says why.
 */
import { isGridmeshError } from '../errors.ts'
import { settleMembership, type ClosedMesh } from './admission.ts'
import type { Redemption } from '../admission/redemption.ts'
import type { Config } from '../config/schema.ts'
import type { Logger } from '../log.ts'
import type { ConfigChange, ReloadResult } from '../admin/contract.ts'

/** Keys a reload applies; every other changed key needs a restart. */
export const LIVE_KEYS: ReadonlySet<string> = new Set(['logLevel', 'bootstrap', 'token', 'tokenFile'])
/** Keys whose values are never shown. */
const SECRET_KEYS: ReadonlySet<string> = new Set(['token'])

export type { ConfigChange, ReloadResult } from '../admin/contract.ts'

/** What the running node applies: the services' side of a reload. */
export interface LiveChanges {
  readonly bootstrap?: readonly string[]
  readonly redemption?: Redemption
}

/** The running node as the reloader sees it. */
export interface ReloadTarget {
  readonly peerId: string
  readonly closed: ClosedMesh | null
  reload (changes: LiveChanges): Promise<void>
}

/** diffConfig lists every key whose value differs, split into live and restart-only. */
export function diffConfig (current: Config, next: Config): { live: ConfigChange[], fixed: ConfigChange[] } {
  const live: ConfigChange[] = []
  const fixed: ConfigChange[] = []
  const keys = new Set([...Object.keys(current), ...Object.keys(next)])
  for (const key of [...keys].sort()) {
    const from = (current as Record<string, unknown>)[key]
    const to = (next as Record<string, unknown>)[key]
    if (JSON.stringify(from) === JSON.stringify(to)) continue
    const shown = (v: unknown): unknown => SECRET_KEYS.has(key) && v !== undefined ? '[redacted]' : v ?? null
    ;(LIVE_KEYS.has(key) ? live : fixed).push({ key, from: shown(from), to: shown(to) })
  }
  return { live, fixed }
}

export interface ReloaderInit {
  /** Loads and validates the config from the start's sources (throws CONFIG_INVALID). */
  load: () => Config
  current: Config
  /** The root logger: its level is the daemon's (children follow it). */
  logger: Logger
  target: ReloadTarget
  /** Live keys fixed by a flag or GRIDMESH_* variable of the start: a reload cannot change them from the file. */
  pinned?: readonly string[]
  now?: () => number
}

/** pinnedKeys lists the live keys (tokens aside: their file is re-read) that the start's flags or environment set. */
export function pinnedKeys (flags: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>>, envName: (key: string) => string): string[] {
  return ['logLevel', 'bootstrap'].filter(k => flags[k] !== undefined || env[envName(k)] !== undefined)
}

/** createReloader returns the one reload entry point; calls are serialised. */
export function createReloader (init: ReloaderInit): { reload: (dryRun: boolean) => Promise<ReloadResult> } {
  let current = init.current
  let chain: Promise<unknown> = Promise.resolve()
  const now = init.now ?? Date.now

  const once = async (dryRun: boolean): Promise<ReloadResult> => {
    let next: Config
    try {
      next = init.load()
    } catch (err) {
      return refused(dryRun, err)
    }
    const { live, fixed } = diffConfig(current, next)
    const applied = live.filter(c => c.key !== 'token' && c.key !== 'tokenFile')
    const notes: string[] = (init.pinned ?? []).map(k => `${k} is set by a flag or GRIDMESH_* variable of the start, which wins over the file`)
    let redemption: Redemption | undefined
    const closed = init.target.closed
    if (closed !== null) {
      try {
        // Also when the path is unchanged: the file's content may be a new token.
        const choice = await settleMembership(next, closed.anchor, init.target.peerId, now(), closed.redemption, true)
        if (choice.redeemed) {
          applied.push({ key: 'membership', from: `token ${closed.redemption.token.tokenId}`, to: `token ${choice.redemption.token.tokenId}` })
        } else {
          for (const c of live) if (c.key === 'token' || c.key === 'tokenFile') notes.push(`${c.key} changed, membership kept (token ${closed.redemption.token.tokenId})`)
        }
        if (choice.note !== null && !choice.redeemed) notes.push(choice.note)
        if (choice.redeemed && !dryRun) {
          redemption = (await settleMembership(next, closed.anchor, init.target.peerId, now(), closed.redemption, false)).redemption
        }
      } catch (err) {
        return refused(dryRun, err)
      }
    } else if (live.some(c => c.key === 'token' || c.key === 'tokenFile')) {
      notes.push('token settings ignored: this mesh is open (no --authority)')
    }
    if (!dryRun) {
      const bootstrap = applied.some(c => c.key === 'bootstrap') ? next.bootstrap : undefined
      if (bootstrap !== undefined || redemption !== undefined) {
        await init.target.reload({ ...(bootstrap === undefined ? {} : { bootstrap }), ...(redemption === undefined ? {} : { redemption }) })
      }
      if (next.logLevel !== current.logLevel) init.logger.level = next.logLevel
      current = { ...current, logLevel: next.logLevel, bootstrap: next.bootstrap, token: next.token, tokenFile: next.tokenFile }
    }
    return { ok: true, dryRun, applied, needsRestart: fixed, notes }
  }

  return {
    reload: async (dryRun) => {
      const run = chain.then(async () => await once(dryRun))
      chain = run.catch(() => {})
      return await run
    }
  }
}

function refused (dryRun: boolean, err: unknown): ReloadResult {
  if (!isGridmeshError(err)) throw err
  return { ok: false, dryRun, applied: [], needsRestart: [], notes: [], error: err.message }
}

/** describeReload renders a result as the lines the CLI prints and the log carries. */
export function describeReload (r: ReloadResult): string[] {
  if (!r.ok) return [`reload refused, nothing changed: ${r.error ?? 'unknown error'}`]
  const show = (v: unknown): string => Array.isArray(v) ? `[${v.join(', ')}]` : String(v)
  const lines = [
    ...r.applied.map(c => `${r.dryRun ? 'would apply' : 'applied'}: ${c.key} ${show(c.from)} -> ${show(c.to)}`),
    ...r.needsRestart.map(c => `needs a restart (running value kept): ${c.key} ${show(c.from)} -> ${show(c.to)}`),
    ...r.notes.map(n => `note: ${n}`)
  ]
  return lines.length === 0 ? ['no changes'] : lines
}
