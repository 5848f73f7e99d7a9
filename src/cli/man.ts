/**
 * `gridmesh man`: the gridmesh(1) man page in roff, generated from the CLI's
 * own commands, arguments, options and help texts (and the config's env
 * names), so it cannot drift from `--help`. Install:
 * `gridmesh man > /usr/local/share/man/man1/gridmesh.1`.
 */
import type { Command } from 'commander'
import { knownEnvNames } from '../config/warnings.ts'

/** roff escapes text for a man page line. */
export function roff (text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/, '\\&$1')
}

function usageOf (cmd: Command, path: string): string {
  const args = cmd.registeredArguments.map(a => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(' ')
  return `gridmesh ${path}${args === '' ? '' : ` ${args}`}${cmd.options.length > 0 ? ' [options]' : ''}`
}

function section (cmd: Command, path: string, out: string[]): void {
  if (cmd.commands.length === 0 || cmd.options.length > 0 || cmd.registeredArguments.length > 0) {
    out.push('.SS', `.B ${roff(usageOf(cmd, path))}`, roff(cmd.description()))
    for (const o of cmd.options) {
      const def = o.defaultValue === undefined ? '' : ` (default ${String(o.defaultValue)})`
      out.push('.TP', `.B ${roff(o.flags)}`, roff(`${o.description}${def}`))
    }
  }
  for (const sub of cmd.commands) section(sub, `${path} ${sub.name()}`, out)
}

/** manPage renders gridmesh(1). */
export function manPage (program: Command): string {
  const out = [
    '.TH GRIDMESH 1 "" "gridmesh" "User Commands"',
    '.SH NAME', `gridmesh \\- ${roff(program.description())}`,
    '.SH SYNOPSIS', '.B gridmesh', '.I command', '[options]',
    '.SH COMMANDS'
  ]
  for (const cmd of program.commands) section(cmd, cmd.name(), out)
  out.push('.SH ENVIRONMENT', roff('Every `up` option can also be set as an environment variable (flags win over the environment, which wins over the --config file):'))
  for (const name of knownEnvNames()) out.push('.TP', `.B ${roff(name)}`)
  out.push('.SH EXIT STATUS', '0 ok, 1 runtime failure, 2 usage or config error. An error is one line on stderr saying what is wrong and how to fix it.')
  out.push('.SH SEE ALSO', 'wg(8), ip(8), nft(8); README.md of the gridmesh installation.')
  return out.join('\n') + '\n'
}

export function registerMan (program: Command): void {
  program.command('man')
    .description('print the gridmesh(1) man page (roff), generated from this help text: gridmesh man > /usr/local/share/man/man1/gridmesh.1')
    .action(() => { process.stdout.write(manPage(program)) })
}
