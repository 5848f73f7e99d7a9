import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseHostPort, splitHostPort } from '../../../src/net/host-port.ts'
import { ErrorCodes, isGridmeshError } from '../../../src/errors.ts'

test('parseHostPort: IPv4, names and bracketed IPv6; port 0-65535', () => {
  assert.equal(parseHostPort('0.0.0.0:7700'), { host: '0.0.0.0', port: 7700 })
  assert.equal(parseHostPort('[::1]:9090'), { host: '::1', port: 9090 })
  assert.equal(parseHostPort('node-1.example:1'), { host: 'node-1.example', port: 1 })
  assert.equal(parseHostPort('127.0.0.1:0'), { host: '127.0.0.1', port: 0 })
  for (const bad of ['::1:80', '[::1]', '1.2.3.4:65536', ':80', '[]:80', 'a:b', '1.2.3.4:123456', '']) assert.is(parseHostPort(bad), null, bad)
})

test('splitHostPort: a bad value is CONFIG_INVALID naming it', () => {
  try { splitHostPort('nope'); assert.unreachable() } catch (err) {
    assert.ok(isGridmeshError(err)); assert.is(err.code, ErrorCodes.CONFIG_INVALID); assert.match(err.message, /"nope"/)
  }
})

test.run()
