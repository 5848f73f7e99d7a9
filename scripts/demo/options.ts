/** Command-line options of the demo (`scripts/demo.ts --hosts N --fast --keep`). */

/** What the person running the demo asked for. */
export interface DemoOptions {
  /** Number of lab hosts (>= 4: the demo needs an observer, a relay, a node to kill and one to leave). */
  hosts: number
  /** Keep the lab running at the end until Enter or Ctrl-C, for poking around. */
  keep: boolean
  /** No pauses between steps (tests, impatient people). */
  fast: boolean
}

export const MIN_HOSTS = 4
// The machine has 2 cores; beyond this the daemons starve each other and the timings mean little.
export const MAX_HOSTS = 12

export const USAGE = `usage: demo.ts [--hosts N] [--fast] [--keep]
  --hosts N   lab hosts, ${MIN_HOSTS}..${MAX_HOSTS} (default 5)
  --fast      no pauses between steps
  --keep      keep the lab running at the end until Enter or Ctrl-C`

/** A usage mistake: printed as one line plus the usage, exit 2. */
export class UsageError extends Error {}

/** Parses argv (without node and script); throws UsageError on anything it does not know. */
export function parseOptions (argv: readonly string[]): DemoOptions | 'help' {
  const opts: DemoOptions = { hosts: 5, keep: false, fast: false }
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k] ?? ''
    if (arg === '--help' || arg === '-h') return 'help'
    else if (arg === '--fast') opts.fast = true
    else if (arg === '--keep') opts.keep = true
    else if (arg === '--hosts' || arg.startsWith('--hosts=')) {
      const value = arg.includes('=') ? arg.slice('--hosts='.length) : argv[++k]
      opts.hosts = parseHosts(value)
    } else throw new UsageError(`unknown argument '${arg}'`)
  }
  return opts
}

function parseHosts (value: string | undefined): number {
  const n = Number(value)
  if (value === undefined || !/^\d+$/.test(value) || n < MIN_HOSTS || n > MAX_HOSTS) {
    throw new UsageError(`--hosts needs a whole number from ${MIN_HOSTS} to ${MAX_HOSTS}, got '${value ?? ''}'`)
  }
  return n
}
