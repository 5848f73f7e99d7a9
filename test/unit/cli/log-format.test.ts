/** `--log-format pretty|json` (issue 18): human lines for a terminal, still redacted. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { REDACT_PATHS } from '../../../src/log.ts'
import { prettyDestination, prettyLine } from '../../../src/log-pretty.ts'
import { loadConfig } from '../../../src/config/load.ts'

test('a pino line becomes time, level, module, message and key=value fields', () => {
  const line = JSON.stringify({ level: 40, time: '2026-01-02T03:04:05.678Z', module: 'mesh', msg: 'route via relay', peer: '12D3KooWx', metric: 20, note: 'two words' })
  assert.is(prettyLine(line), '03:04:05.678 WARN  [mesh] route via relay peer=12D3KooWx metric=20 note="two words"\n')
  assert.is(prettyLine('not json'), 'not json\n')
})

test('a pretty logger still redacts secrets', () => {
  const out: string[] = []
  const log = pino({ level: 'info', base: {}, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime },
    prettyDestination({ write: (s: string) => out.push(s) }))
  log.child({ module: 'daemon' }).info({ token: 'gmt1.secret', peer: 'p' }, 'joined')
  assert.is(out.length, 1)
  assert.match(out[0] ?? '', /INFO {2}\[daemon\] joined token=\[redacted\] peer=p\n$/)
})

test('logFormat is a config key: json by default, pretty accepted, anything else refused', () => {
  const base = { mesh: 'lab', stateDir: '/s' }
  assert.is(loadConfig({ flags: base, env: {} }).logFormat, 'json')
  assert.is(loadConfig({ flags: base, env: { GRIDMESH_LOG_FORMAT: 'pretty' } }).logFormat, 'pretty')
  assert.throws(() => loadConfig({ flags: { ...base, logFormat: 'xml' }, env: {} }), /--log-format/)
})

test.run()
