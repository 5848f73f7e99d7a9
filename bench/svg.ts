/**
 * A hand-written SVG grouped bar chart (no chart library): one group per metric, one bar per
 * series (system), one colour per series, a log-scale value axis shared by all groups, a legend,
 * and whiskers from min to max. Missing values are drawn as a small "n/a" or "FAIL" mark.
 */

export interface BarValue { median: number, min: number, max: number }
export interface BarGroup { label: string, values: ReadonlyArray<BarValue | string> }
export interface BarChart { title: string, axisLabel: string, series: readonly string[], groups: readonly BarGroup[] }

const COLORS = ['#d62728', '#7f7f7f', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b']

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function fmt (v: number): string {
  return v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toFixed(3)
}

/** Renders the chart as a standalone SVG document. */
export function renderBarChart (c: BarChart): string {
  const nums = c.groups.flatMap(g => g.values.flatMap(v => typeof v === 'string' ? [] : [v.min, v.max, v.median])).filter(v => v > 0)
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...nums, 1))))
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...nums, 1))))
  const barW = 18
  const gap = 28
  const groupW = c.series.length * barW + gap
  const left = 70; const top = 50; const plotH = 300; const bottom = 90
  const width = left + c.groups.length * groupW + 20 + 190
  const height = top + plotH + bottom
  const y = (v: number): number => top + plotH - (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * plotH
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${esc(c.title)}</text>`,
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(c.axisLabel)} (log scale)</text>`
  ]
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    out.push(`<line x1="${left}" x2="${left + c.groups.length * groupW}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(d) + 4}" text-anchor="end">${fmt(d)}</text>`)
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="black"/>`,
    `<line x1="${left}" x2="${left + c.groups.length * groupW}" y1="${top + plotH}" y2="${top + plotH}" stroke="black"/>`)
  c.groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + gap / 2
    g.values.forEach((v, si) => {
      const x = x0 + si * barW
      const color = COLORS[si % COLORS.length] ?? 'black'
      if (typeof v === 'string') {
        out.push(`<text x="${x + barW / 2}" y="${top + plotH - 4}" text-anchor="middle" font-size="8" fill="${color}" transform="rotate(-90 ${x + barW / 2} ${top + plotH - 4})">${esc(v)}</text>`)
        return
      }
      const yt = y(v.median)
      out.push(`<rect x="${x + 1}" y="${yt}" width="${barW - 2}" height="${top + plotH - yt}" fill="${color}"><title>${esc(`${c.series[si] ?? ''} ${g.label}: ${fmt(v.median)} (${fmt(v.min)}–${fmt(v.max)})`)}</title></rect>`,
        `<line x1="${x + barW / 2}" x2="${x + barW / 2}" y1="${y(v.min)}" y2="${y(v.max)}" stroke="black"/>`,
        `<text x="${x + barW / 2}" y="${yt - 3}" text-anchor="middle" font-size="8">${fmt(v.median)}</text>`)
    })
    out.push(`<text x="${x0 + (c.series.length * barW) / 2}" y="${top + plotH + 16}" text-anchor="middle">${esc(g.label)}</text>`)
  })
  const lx = left + c.groups.length * groupW + 20
  c.series.forEach((s, si) => {
    out.push(`<rect x="${lx}" y="${top + si * 18}" width="12" height="12" fill="${COLORS[si % COLORS.length] ?? 'black'}"/>`,
      `<text x="${lx + 18}" y="${top + si * 18 + 10}">${esc(s)}</text>`)
  })
  out.push(`<text x="${left}" y="${height - 20}" font-size="10" fill="#555">bars: median; whiskers: min–max over repetitions; lower is better; n/a = not measurable, FAIL = timed out</text>`, '</svg>')
  return out.join('\n') + '\n'
}
