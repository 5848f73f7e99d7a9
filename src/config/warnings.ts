/**
 * Config that is valid but probably not what the operator meant: one line
 * each, printed by `up` and `--check-config` alike (so the installer shows
 * them too). Pure.
 */
import { CONFIG_KEYS, type Config } from './schema.ts'
import { envName } from './load.ts'
import { isUlaPrefix, parseIpv6Prefix } from '../net/prefix.ts'

/** GRIDMESH_* variables that are not config keys but are read by gridmesh or its lab. */
const OTHER_ENV: readonly string[] = ['GRIDMESH_CONFIG', 'GRIDMESH_BIN', 'GRIDMESH_LAB_ROOT']

/** The GRIDMESH_* variables gridmesh reads. */
export function knownEnvNames (): string[] {
  return [...CONFIG_KEYS.map(k => envName(k)), ...OTHER_ENV]
}

/** editDistance is the Levenshtein distance (small strings only). */
export function editDistance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length] ?? 0
}

/** closest returns the candidate nearest to `name`. */
export function closest (name: string, candidates: readonly string[]): string {
  let best = candidates[0] ?? ''
  let bestD = Infinity
  for (const c of candidates) {
    const d = editDistance(name, c)
    if (d < bestD) { best = c; bestD = d }
  }
  return best
}

/** envWarnings names every set GRIDMESH_* variable that gridmesh does not read, with the closest real one. */
export function envWarnings (env: Readonly<Record<string, string | undefined>>): string[] {
  const known = knownEnvNames()
  return Object.keys(env).filter(k => k.startsWith('GRIDMESH_') && !known.includes(k)).sort()
    .map(k => `env ${k} is not a gridmesh variable and is ignored; did you mean ${closest(k, known)}?`)
}

/** configWarnings lists what is valid but suspicious in a resolved config. */
export function configWarnings (config: Config): string[] {
  const out: string[] = []
  if (config.meshPrefix !== undefined && !isUlaPrefix(parseIpv6Prefix(config.meshPrefix))) {
    out.push(`mesh prefix ${config.meshPrefix} is not a unique local address prefix (fc00::/7): mesh addresses may clash with real internet addresses; use an fdXX:… /48, or omit meshPrefix to derive one from the mesh name`)
  }
  return out
}

/** allWarnings is what `up` prints before it starts (and `--check-config` before it exits). */
export function allWarnings (config: Config, env: Readonly<Record<string, string | undefined>>): string[] {
  return [...configWarnings(config), ...envWarnings(env)]
}
