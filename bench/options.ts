/**
 * Command-line options of `npm run bench`:
 *   --quick          N = 4 only, 1 repetition (for development)
 *   --n 4,8,12       host counts for the mesh metrics (default 4,8,12)
 *   --reps 3         repetitions of every measurement (default 3)
 *   --no-routing     skip the N = 6 fault metrics
 *   --no-compute     skip the route-computation micro-benchmark
 *   --compare        gridmesh side by side with the WireGuard ceiling, tinc, Nebula, Yggdrasil
 *                    (bench/compare/): N = --n (one value, default 10; --quick: 4, 1 rep)
 *   --systems a,b    with --compare: only these (gridmesh,wireguard,tinc,nebula,yggdrasil)
 *   --scale          the largest gridmesh mesh the machine sustains (16, 20, 24) and route
 *                    computation at 1,000 and 10,000 members
 */
export interface BenchOptions {
  ns: number[]
  reps: number
  quick: boolean
  routing: boolean
  compute: boolean
  compare: boolean
  scale: boolean
  /** True when --n was given (--compare then uses its first value). */
  nGiven: boolean
  /** --systems for --compare; empty = all. */
  systems: string[]
}

const USAGE = 'usage: npm run bench -- [--quick] [--n 4,8,12] [--reps 3] [--no-routing] [--no-compute] [--compare [--systems a,b]] [--scale]'

function fail (msg: string): never {
  process.stderr.write(`bench: ${msg}\n${USAGE}\n`)
  process.exit(2)
}

function positiveInt (flag: string, text: string | undefined, max: number): number {
  const v = Number(text)
  if (text === undefined || !Number.isInteger(v) || v < 1 || v > max) fail(`${flag} needs an integer 1..${max}, got ${text ?? 'nothing'}`)
  return v
}

export function parseOptions (argv: readonly string[]): BenchOptions {
  const o: BenchOptions = { ns: [4, 8, 12], reps: 3, quick: false, routing: true, compute: true, compare: false, scale: false, nGiven: false, systems: [] }
  let nsGiven = false
  let repsGiven = false
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]
    switch (a) {
      case '--quick': o.quick = true; break
      case '--n': {
        const text = argv[++k]
        if (text === undefined) fail('--n needs a list like 4,8,12')
        o.ns = text.split(',').map(s => positiveInt('--n', s.trim(), 40))
        if (o.ns.some(n => n < 2)) fail('--n: every N must be at least 2')
        nsGiven = true
        break
      }
      case '--reps': o.reps = positiveInt('--reps', argv[++k], 50); repsGiven = true; break
      case '--no-routing': o.routing = false; break
      case '--no-compute': o.compute = false; break
      case '--compare': o.compare = true; break
      case '--scale': o.scale = true; break
      case '--systems': {
        const text = argv[++k]
        if (text === undefined) fail('--systems needs a list like gridmesh,tinc')
        o.systems = text.split(',').map(x => x.trim()).filter(x => x !== '')
        break
      }
      case '--help': case '-h': process.stdout.write(USAGE + '\n'); process.exit(0); break
      default: fail(`unknown option ${a ?? ''}`)
    }
  }
  o.nGiven = nsGiven
  if (o.quick) {
    if (!nsGiven) o.ns = [4]
    if (!repsGiven) o.reps = 1
  }
  return o
}
