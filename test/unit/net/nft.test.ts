/** The anti-spoof nftables table: golden rules text and the driver's calls. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createNftDriver, nftHardeningRules } from '../../../src/net/nft.ts'
import { createRecordingRunner } from '../../../src/net/command-fake.ts'
import type { Ipv6Prefix } from '../../../src/net/prefix.ts'

const MESH = 'fd12:3456:789a::/48' as Ipv6Prefix

const GOLDEN = `table inet gridmesh {}
delete table inet gridmesh
table inet gridmesh {
  chain antispoof {
    type filter hook prerouting priority raw; policy accept;
    iifname { "lo", "gridmesh0" } accept
    iifname "gmw*" accept
    ip6 saddr fd12:3456:789a::/48 counter drop comment "mesh source on an underlay interface"
  }
}
`

test('golden rules: one idempotent transaction dropping mesh sources off the mesh interface', () => {
  assert.fixture(nftHardeningRules(MESH, 'gridmesh0'), GOLDEN)
})

test('apply feeds the rules to `nft -f -` on stdin; remove deletes the table', async () => {
  const runner = createRecordingRunner()
  const nft = createNftDriver(runner)
  await nft.apply(MESH, 'gm1')
  await nft.remove()
  assert.equal(runner.calls.map(c => [c.cmd, ...c.args]), [['nft', '-f', '-'], ['nft', 'delete', 'table', 'inet', 'gridmesh']])
  assert.is(runner.calls[0]?.stdin, nftHardeningRules(MESH, 'gm1'))
})

test('remove succeeds when the table is already gone', async () => {
  const nft = createNftDriver(createRecordingRunner(() => ({ code: 1, stderr: 'No such file or directory' })))
  await nft.remove()
})

test.run()
