/** A valid node state with every field set (unit and fuzz tests start from it). */
import { parseIpv6Prefix } from '../../../src/net/prefix.ts'
import type { NodeState } from '../../../src/mesh/node-state.ts'

export const SAMPLE_STATE: NodeState = {
  version: 1,
  seq: 1_760_000_000_123,
  prefix: parseIpv6Prefix('fd9f:6906:5255:30e1::/64'),
  meshPrefix: parseIpv6Prefix('fd9f:6906:5255::/48'),
  highestSeen: { '12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3': 1_760_000_000_001 }
}
