/**
 * Usage errors: one stderr line that says what is wrong and where the help
 * is, for every command at every depth. Two rules commander does not give us:
 *   - a flag that takes a value never swallows the next flag
 *     (`routes --explain --admin-socket X` is "needs a value", not "too many
 *     arguments");
 *   - a "did you mean" suggestion never proposes a destructive command.
 */
import { InvalidArgumentError, type Command } from 'commander'

/** Commands that change or end something: never suggested for a typo. */
export const DESTRUCTIVE_COMMANDS: ReadonlySet<string> = new Set([
  'revoke', 'leave', 'remove', 'revocation', 'publish', 'init', 'generate'
])

/** fullName is the command path an operator types (`workload add`). */
export function fullName (cmd: Command): string {
  const names: string[] = []
  for (let c: Command | null = cmd; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name())
  return names.join(' ')
}

/**
 * usageLine turns commander's message (possibly several lines: the error and
 * a "(Did you mean …?)") into one line with a hint. `command` is the full
 * command name ('' for the top level).
 */
export function usageLine (command: string, raw: string): string {
  const lines = raw.replace(/^error: /, '').split('\n').map(l => l.trim()).filter(l => l.length > 0)
  const first = lines[0] ?? 'invalid usage'
  // commander's "option '--x <v>' argument 'y' is invalid. WHY": the WHY is the line.
  const message = (/^option '.*' argument '.*' is invalid\. (.+)$/.exec(first)?.[1] ?? first).replace(/\.$/, '')
  let hint = ''
  const m = /^\(Did you mean (?:one of )?(.+)\?\)$/.exec(lines.find(l => l.startsWith('(Did you mean')) ?? '')
  if (m !== null) {
    const safe = (m[1] ?? '').split(',').map(s => s.trim()).filter(s => s.length > 0 && !DESTRUCTIVE_COMMANDS.has(s))
    if (safe.length > 0) hint = `did you mean ${safe.join(' or ')}? `
  }
  const where = command === '' ? 'gridmesh' : `gridmesh ${command}`
  return `${where}: ${message}; ${hint}see \`${where} --help\`\n`
}

/**
 * guardOptionValues makes every value-taking option of `cmd` refuse a value
 * that is one of the command's own flags (`--explain --admin-socket X`), so
 * it reads as "needs a value" instead of shifting every later argument.
 * Other values starting with a dash (`--reason -x`, negative numbers) pass.
 */
export function guardOptionValues (cmd: Command): void {
  const flags = new Set(['--help', '-h', ...cmd.options.flatMap(o => [o.long, o.short].filter((f): f is string => f !== undefined))])
  for (const opt of cmd.options) {
    if (!opt.required) continue
    const parse = opt.parseArg
    opt.parseArg = <T>(value: string, previous: T): T => {
      if (flags.has(value.split('=')[0] ?? value)) throw new InvalidArgumentError(`${opt.long ?? opt.flags} needs a value, not the flag ${value}`)
      return (parse === undefined ? value : parse(value, previous)) as T
    }
  }
}

/** configureUsage applies the one-line usage errors, exit override and value guard to `cmd` and all its subcommands. */
export function configureUsage (cmd: Command): void {
  const name = fullName(cmd)
  cmd.exitOverride().configureOutput({ outputError: (str, write) => { write(usageLine(name, str)) } })
  guardOptionValues(cmd)
  for (const sub of cmd.commands) configureUsage(sub)
}
