/**
 * Merges the config sources into one validated Config:
 * schema defaults < YAML config file < GRIDMESH_* env < command-line flags.
 * Every error names the source it came from (flag, env var or file) and is a
 * GridmeshError CONFIG_INVALID (exit 2). Pure apart from reading the file.
 */
import { readFileSync } from 'node:fs'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { configSchema, CONFIG_KEYS, type Config } from './schema.ts'
import { ErrorCodes, GridmeshError } from '../errors.ts'

/** Keys whose values are numbers (coerced from flag/env strings). */
const NUMBER_KEYS = new Set<string>(['wgPort', 'probePort', 'mtu', 'heartbeatMs', 'probeIntervalMs', 'probeTimeoutMs'])
/** Keys whose values are lists (repeatable flags, comma-separated env). */
const LIST_KEYS = new Set<string>(['bootstrap', 'announce'])

export interface ConfigSources {
  /** Parsed flags keyed by config key (camelCase); `config` is the file path. */
  readonly flags: Readonly<Record<string, unknown>>
  readonly env: Readonly<Record<string, string | undefined>>
  readonly readFile?: (path: string) => string
}

/** flagName turns a config key into its flag (`wgPort` → `--wg-port`). */
export function flagName (key: string): string {
  return '--' + key.replace(/[A-Z]/g, c => '-' + c.toLowerCase())
}

/** envName turns a config key into its env var (`wgPort` → `GRIDMESH_WG_PORT`). */
export function envName (key: string): string {
  return 'GRIDMESH_' + key.replace(/[A-Z]/g, c => '_' + c).toUpperCase()
}

function invalid (message: string): GridmeshError {
  return new GridmeshError(ErrorCodes.CONFIG_INVALID, message)
}

function coerce (key: string, value: unknown, source: string): unknown {
  if (NUMBER_KEYS.has(key) && typeof value === 'string') {
    if (!/^\d+$/.test(value.trim())) throw invalid(`${source}: expected a whole number, got "${value}"`)
    return Number(value)
  }
  if (LIST_KEYS.has(key) && typeof value === 'string') {
    return value.split(/[\s,]+/).filter(s => s.length > 0)
  }
  return value
}

function readConfigFile (path: string, read: (p: string) => string): Record<string, unknown> {
  let text: string
  try {
    text = read(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw invalid(`cannot read config file ${path} (${code}); check the path given to --config / GRIDMESH_CONFIG`)
  }
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : ''
    throw invalid(`config file ${path} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`)
  }
  if (doc === null || doc === undefined) return {}
  if (typeof doc !== 'object' || Array.isArray(doc)) throw invalid(`config file ${path} must be a mapping of keys to values`)
  return doc as Record<string, unknown>
}

/** loadConfig merges and validates; throws CONFIG_INVALID with one clear line. */
export function loadConfig (sources: ConfigSources): Config {
  const read = sources.readFile ?? ((p: string) => readFileSync(p, 'utf8'))
  // Null-prototype maps: a `__proto__` key (from YAML or a flag parser) is then
  // an own key like any other, refused below as unknown, never a prototype.
  const merged: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  const origin: Record<string, string> = Object.create(null) as Record<string, string>
  const configPath = (sources.flags.config as string | undefined) ?? sources.env.GRIDMESH_CONFIG
  if (configPath !== undefined) {
    const file = readConfigFile(configPath, read)
    for (const [key, value] of Object.entries(file)) {
      merged[key] = value
      origin[key] = `config file ${configPath}: key "${key}"`
    }
  }
  for (const key of CONFIG_KEYS) {
    const value = sources.env[envName(key)]
    if (value === undefined || value === '') continue
    merged[key] = coerce(key, value, `env ${envName(key)}`)
    origin[key] = `env ${envName(key)}`
  }
  for (const [key, value] of Object.entries(sources.flags)) {
    if (key === 'config' || value === undefined) continue
    merged[key] = coerce(key, value, flagName(key))
    origin[key] = flagName(key)
  }
  const result = configSchema.safeParse(merged)
  if (!result.success) {
    const issue = result.error.issues[0]
    const key = issue?.path[0]
    if (issue?.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys
      const first = keys[0] ?? ''
      const o = origin[first] ?? ''
      const from = o.startsWith('--') ? `flag ${o}` : `config file ${configPath ?? ''}`
      throw invalid(`unknown config key${keys.length > 1 ? 's' : ''} ${keys.map(k => `"${k}"`).join(', ')} in ${from}; valid keys: ${CONFIG_KEYS.join(', ')}`)
    }
    const where = typeof key === 'string' ? (origin[key] ?? flagName(key)) : 'config'
    throw invalid(`invalid ${where}: ${issue?.message ?? 'invalid value'}`)
  }
  return Object.freeze(result.data)
}
