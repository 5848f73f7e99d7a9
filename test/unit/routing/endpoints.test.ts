import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isUsableUnderlay, ownEndpoints } from '../../../src/mesh/own-endpoints.ts'
import { chooseEndpoint } from '../../../src/routing/endpoint-choice.ts'
import { isIpv4Literal, isIpv6Literal } from '../../../src/net/ip-literal.ts'
import { isIPv4, isIPv6 } from 'node:net'
import { parseEndpoint } from '../../../src/mesh/endpoint.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'

const MESH = 'fd95:50dc:25a4::/48' as Ipv6Prefix

test('underlay filter: unicast only, never our own overlay', () => {
  for (const ip of ['10.77.0.1', '192.0.2.7', 'fd77:77::1', '2001:db8::5']) assert.ok(isUsableUnderlay(ip, MESH), ip)
  for (const ip of ['127.0.0.1', '0.0.0.0', '169.254.1.1', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'ff02::1', '::ffff:10.0.0.1', 'fd95:50dc:25a4:12::1', 'not-an-ip']) {
    assert.not.ok(isUsableUnderlay(ip, MESH), ip)
  }
})

test('published endpoints are exactly what the record validator accepts', () => {
  const eps = ownEndpoints([], ['/ip4/127.0.0.1/tcp/7700', '/ip4/10.77.0.3/tcp/7700', '/ip6/fd95:50dc:25a4:12::1/tcp/7700', '/ip6/fd77:77::3/tcp/7700', '/ip4/10.78.0.3/tcp/7700'], 51820, MESH)
  assert.equal(eps, ['10.77.0.3:51820', '10.78.0.3:51820', '[fd77:77::3]:51820'])
  assert.ok(eps.every(e => parseEndpoint(e) !== null))
  assert.equal(ownEndpoints(['203.0.113.9:51820'], ['/ip4/10.77.0.3/tcp/7700'], 51820, MESH), ['203.0.113.9:51820'])
})

test('a peer on two networks is reached on the one we share; otherwise its first endpoint', () => {
  const peer = ['10.77.0.3:51820', '10.78.0.3:51820']
  assert.is(chooseEndpoint(peer, ['10.78.0.4']), '10.78.0.3:51820')
  assert.is(chooseEndpoint(peer, ['10.77.0.1']), '10.77.0.3:51820')
  assert.is(chooseEndpoint(['[fd78:78::3]:51820', '[fd77:77::3]:51820'], ['fd77:77::9']), '[fd77:77::3]:51820')
  assert.is(chooseEndpoint(peer, []), '10.77.0.3:51820')
  assert.is(chooseEndpoint([], ['10.77.0.1']), null)
})

test('the pure IP literal checks agree with node:net on addresses and near-misses', () => {
  const samples = ['10.0.0.1', '255.255.255.255', '256.0.0.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '', '::', '::1', 'fe80::1', '2001:db8::5',
    '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1::2::3', '::ffff:10.0.0.1', '::ffff:10.0.0.256', 'fd77:77::3', '12345::', 'g::1', ':1', '1:', 'not-an-ip']
  for (const s of samples) {
    assert.is(isIpv4Literal(s), isIPv4(s), `v4 ${s}`)
    assert.is(isIpv6Literal(s), isIPv6(s), `v6 ${s}`)
  }
})

test.run()
