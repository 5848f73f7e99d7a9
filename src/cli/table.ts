/** renderTable prints rows as aligned columns (no colour: meaning never rides on colour). */
export function renderTable (headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}

/** shortId abbreviates a PeerId for tables (full ids are in --json). */
export function shortId (id: string | null | undefined): string {
  if (id === null || id === undefined) return '-'
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id
}

/** ago renders a unix-ms timestamp as an age ("3s", "2m", "never"). */
export function ago (ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined || ms <= 0) return 'never'
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  return `${Math.round(s / 3600)}h`
}

/** bytes renders a byte count compactly. */
export function bytes (n: number | null | undefined): string {
  if (n === null || n === undefined) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n; let u = 0
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return `${u === 0 ? v : v.toFixed(1)}${units[u] ?? ''}`
}
