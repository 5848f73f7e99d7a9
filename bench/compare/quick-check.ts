/** Development smoke test: `node --import tsx bench/compare/quick-check.ts <system> [n]`. */
import { SYSTEMS } from './systems.ts'
import { runSystem } from './run.ts'

const name = process.argv[2] ?? 'gridmesh'
const factory = SYSTEMS.find(s => s.key === name)
if (factory === undefined) throw new Error(`unknown system ${name}`)
const rep = await runSystem(factory.make(), { n: Number(process.argv[3] ?? 4), iperfS: 3, log: s => { process.stderr.write(`${s}\n`) } })
process.stdout.write(JSON.stringify(rep, null, 2) + '\n')
