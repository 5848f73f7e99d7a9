/**
 * How the demo talks: step banners, one-line explanations, indented command output, timings.
 * Plain text; bold banners only on a terminal without NO_COLOR, so logs and pipes stay clean.
 */
import { setTimeout as sleep } from 'node:timers/promises'

const bold = process.stdout.isTTY && process.env['NO_COLOR'] === undefined
  ? (s: string): string => `\x1b[1m${s}\x1b[0m`
  : (s: string): string => s

/** Writes lines to stdout (synchronous on Linux for files and pipes, so nothing is lost at exit). */
export function say (text = ''): void {
  process.stdout.write(text + '\n')
}

/** The banner of a step, e.g. "==> step 5/9: cutting the underlay link between host 2 and host 5". */
export function banner (n: number, total: number, title: string): void {
  say()
  say(bold(`==> step ${n}/${total}: ${title}`))
}

/** The one sentence telling the viewer what to look for. */
export function explain (text: string): void {
  say(`    ${text}`)
}

/** Prints command output verbatim, indented so it stands apart from the narration. */
export function show (label: string, output: string): void {
  say(`    $ ${label}`)
  const lines = output.replace(/\n+$/, '').split('\n')
  for (const line of lines) say(`      ${line}`)
}

/** Seconds with one decimal, for the timings the demo measures. */
export function secs (ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

/** Runs `fn` and returns its result with how long it took. */
export async function timed<T> (fn: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const start = Date.now()
  const value = await fn()
  return { value, ms: Date.now() - start }
}

/** A pause so a person can read; none with --fast. */
export async function pause (fast: boolean, ms = 1000): Promise<void> {
  if (!fast) await sleep(ms)
}

/** Renders rows as aligned columns (the summary tables). */
export function table (headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}
