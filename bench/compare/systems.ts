/** The compared systems in priority order (the order they run in), with their Debian packages. */
import { gridmesh } from './gridmesh.ts'
import { nebula } from './nebula.ts'
import type { SystemFactory } from './system.ts'
import { tinc } from './tinc.ts'
import { wireguard } from './wireguard.ts'
import { yggdrasil } from './yggdrasil.ts'

export interface SystemEntry { key: string, make: SystemFactory, binary: string, debPackage: string | null }

export const SYSTEMS: readonly SystemEntry[] = [
  { key: 'gridmesh', make: gridmesh, binary: 'wireguard-go', debPackage: null },
  { key: 'wireguard', make: wireguard, binary: 'wireguard-go', debPackage: null },
  { key: 'tinc', make: tinc, binary: 'tincd', debPackage: 'tinc' },
  { key: 'nebula', make: nebula, binary: 'nebula', debPackage: 'nebula' },
  { key: 'yggdrasil', make: yggdrasil, binary: 'yggdrasil', debPackage: 'yggdrasil' }
]
