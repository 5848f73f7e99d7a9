/**
 * `gridmesh workload add|remove|list`: give a network namespace on this host
 * an address of the node's /64 (a veth pair the daemon owns), take it away,
 * or list them. Thin clients of `/v1/workloads`; names are checked here too
 * so a typo is a usage error (exit 2) without a round trip.
 */
import type { Command } from 'commander'
import { adminRequest } from '../admin/client.ts'
import { parseNetnsName, parseWorkloadName } from '../workload/names.ts'
import { addInspectOptions, getJson, printJson, socketPath, type InspectOptions } from './common.ts'
import { renderTable } from './table.ts'
import type { WorkloadView } from '../workload/manager.ts'

interface AddOptions extends InspectOptions { netns: string }

/** Subcommands inherit exitOverride from the program; their errors name the full command. */
function named (cmd: Command, full: string): Command {
  return cmd.exitOverride().configureOutput({ outputError: (str, write) => { write(`gridmesh ${full}: ${str.replace(/^error: /, '')}`) } })
}

function registerAdd (workload: Command): void {
  named(addInspectOptions(workload.command('add').argument('<name>', 'workload name: 1-32 chars of a-z 0-9 -')
    .description('give network namespace NS an address of this node\'s /64 through a veth pair')
    .requiredOption('--netns <ns>', 'existing network namespace (as in `ip netns list`)')), 'workload add')
    .action(async (name: string, opts: AddOptions) => {
      const body = { name: parseWorkloadName(name), netns: parseNetnsName(opts.netns) }
      const w = await adminRequest(socketPath(opts), 'POST', '/v1/workloads', body) as WorkloadView
      if (opts.json === true) { printJson(w); return }
      process.stdout.write(`${w.name} ${w.address} (netns ${w.netns}, interface ${w.interface})\n`)
    })
}

function registerRemove (workload: Command): void {
  named(addInspectOptions(workload.command('remove').argument('<name>', 'workload name')
    .description('delete a workload\'s veth pair and forget its address'), false), 'workload remove')
    .action(async (name: string, opts: InspectOptions) => {
      const w = await adminRequest(socketPath(opts), 'POST', '/v1/workloads/remove', { name: parseWorkloadName(name) }) as WorkloadView
      process.stderr.write(`gridmesh: workload ${w.name} removed (was ${w.address})\n`)
    })
}

function registerList (workload: Command): void {
  named(addInspectOptions(workload.command('list').description('list workloads: name, address, namespace, interface, state')), 'workload list')
    .action(async (opts: InspectOptions) => {
      const list = await getJson(opts, '/v1/workloads') as WorkloadView[]
      if (opts.json === true) { printJson(list); return }
      const rows = list.map(w => [w.name, w.address, w.netns, w.interface, w.state + (w.error === undefined ? '' : `: ${w.error}`)])
      process.stdout.write(renderTable(['NAME', 'ADDRESS', 'NETNS', 'INTERFACE', 'STATE'], rows))
    })
}

export function registerWorkload (program: Command): void {
  const workload = program.command('workload').description('workloads: network namespaces on this host with an address in the node\'s /64')
  registerAdd(workload)
  registerRemove(workload)
  registerList(workload)
}
