/**
 * `--log-format pretty`: pino's JSON lines rendered for a human at a
 * terminal — `HH:MM:SS.mmm LEVEL [module] message key=value …` — without a
 * transport thread or a dependency. Redaction has already happened in pino
 * (the line is rendered from pino's own output).
 */
import type { DestinationStream } from 'pino'

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' }
const SKIP = new Set(['level', 'time', 'msg', 'module', 'pid', 'hostname'])

function value (v: unknown): string {
  if (typeof v === 'string') return /[\s="]/.test(v) ? JSON.stringify(v) : v
  return JSON.stringify(v) ?? String(v)
}

/** prettyLine renders one pino JSON line (a line that is not JSON is passed through). */
export function prettyLine (line: string): string {
  let o: Record<string, unknown>
  try { o = JSON.parse(line) as Record<string, unknown> } catch { return line.endsWith('\n') ? line : `${line}\n` }
  const time = typeof o.time === 'string' ? o.time.slice(11, 23) : ''
  const level = LEVELS[Number(o.level)] ?? String(o.level)
  const module = typeof o.module === 'string' ? ` [${o.module}]` : ''
  const fields = Object.entries(o).filter(([k]) => !SKIP.has(k)).map(([k, v]) => `${k}=${value(v)}`)
  return `${time} ${level}${module} ${String(o.msg ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}\n`
}

/** prettyDestination writes rendered lines to `out` (default stderr). */
export function prettyDestination (out: { write: (s: string) => unknown } = process.stderr): DestinationStream {
  return { write: (chunk: string) => { for (const l of chunk.split('\n')) if (l !== '') out.write(prettyLine(l)) } }
}
