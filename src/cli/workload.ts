/**
 * `gridmesh workload add|remove|list`: give a network namespace on this host
 * an address of the node's /64 (a veth pair the daemon owns), take it away,
 * or list them. Thin clients of `/v1/workloads`; names are checked here too
 * so a typo is a usage error (exit 2) without a round trip.
 */
import type { Command } from 'commander'
import { parseNetnsName, parseWorkloadName } from '../workload/names.ts'
import { addInspectOptions, call, printJson, type InspectOptions } from './common.ts'
import { renderTable } from './table.ts'

interface AddOptions extends InspectOptions { netns: string }

function registerAdd (workload: Command): void {
  addInspectOptions(workload.command('add').argument('<name>', 'workload name: 1-32 chars of a-z 0-9 -')
    .description('give network namespace NS an address of this node\'s /64 through a veth pair')
    .requiredOption('--netns <ns>', 'existing network namespace (as in `ip netns list`)'))
    .action(async (name: string, opts: AddOptions) => {
      const body = { name: parseWorkloadName(name), netns: parseNetnsName(opts.netns) }
      const w = await call(opts, 'POST /v1/workloads', { body })
      if (opts.json === true) { printJson(w); return }
      process.stdout.write(`${w.name} ${w.address} (netns ${w.netns}, interface ${w.interface})\n`)
    })
}

function registerRemove (workload: Command): void {
  addInspectOptions(workload.command('remove').argument('<name>', 'workload name')
    .description('delete a workload\'s veth pair and forget its address'), false)
    .action(async (name: string, opts: InspectOptions) => {
      const w = await call(opts, 'POST /v1/workloads/remove', { body: { name: parseWorkloadName(name) } })
      process.stderr.write(`gridmesh: workload ${w.name} removed (was ${w.address})\n`)
    })
}

function registerList (workload: Command): void {
  addInspectOptions(workload.command('list').description('list workloads: name, address, namespace, interface, state'))
    .action(async (opts: InspectOptions) => {
      const list = await call(opts, 'GET /v1/workloads')
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
