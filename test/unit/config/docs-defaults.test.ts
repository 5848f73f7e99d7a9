/**
 * Docs cannot drift from the code (issue 18): every default in the README's
 * option table and in dist/gridmesh.example.yaml is the schema's default
 * (DEFAULTS in src/config/schema.ts), every config key has a README row and
 * the flag, env and key names in a row belong together.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CONFIG_KEYS, DEFAULTS } from '../../../src/config/schema.ts'
import { envName, flagName } from '../../../src/config/load.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const README = readFileSync(`${ROOT}README.md`, 'utf8')
const EXAMPLE = readFileSync(`${ROOT}dist/gridmesh.example.yaml`, 'utf8')
const defaults: Record<string, unknown> = DEFAULTS

/** keyOfFlag turns `--wg-port` into `wgPort`. */
function keyOfFlag (flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

interface Row { readonly keys: string[], readonly envs: string[], readonly defaults: string[] }

/** optionRows reads the `| flag | env | default | meaning |` table. */
function optionRows (): Row[] {
  const start = README.indexOf('| flag | env | default | meaning |')
  assert.ok(start >= 0, 'README option table not found')
  const lines = README.slice(start).split('\n')
  const rows: Row[] = []
  for (const line of lines.slice(2)) {
    if (!line.startsWith('|')) break
    const [flags = '', envs = '', def = ''] = line.split('|').slice(1).map(c => c.trim())
    const ticks = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map(m => m[1] ?? '')
    rows.push({ keys: ticks(flags).map(keyOfFlag), envs: ticks(envs), defaults: ticks(def) })
  }
  return rows
}

test('every default in the README option table is the code\'s default', () => {
  let checked = 0
  for (const row of optionRows()) {
    const withDefault = row.keys.filter(k => k in defaults)
    if (withDefault.length === 0) continue
    assert.is(row.defaults.length, row.keys.length, `row ${row.keys.join(' / ')}: one default per flag`)
    row.keys.forEach((k, i) => {
      if (!(k in defaults)) return
      assert.is(row.defaults[i], String(defaults[k]), `README default of --${k}`)
      checked++
    })
  }
  assert.is(checked, Object.keys(DEFAULTS).length, 'every default is in the table')
})

test('every config key has a README row with its flag and env names', () => {
  const rows = optionRows()
  for (const key of CONFIG_KEYS) {
    const row = rows.find(r => r.keys.includes(key))
    assert.ok(row !== undefined, `${flagName(key)} missing from the README option table`)
    const i = row.keys.indexOf(key)
    assert.is(row.envs[i] ?? row.envs[0], envName(key), `env name of ${flagName(key)}`)
  }
})

test('every default in dist/gridmesh.example.yaml is the code\'s default', () => {
  let checked = 0
  for (const m of EXAMPLE.matchAll(/^# (\w+): (.+)$/gm)) {
    const key = m[1] ?? ''
    if (!(key in defaults)) continue
    assert.is(m[2], String(defaults[key]), `example default of ${key}`)
    checked++
  }
  assert.is(checked, Object.keys(DEFAULTS).length, 'every default is in the example')
})

test.run()
