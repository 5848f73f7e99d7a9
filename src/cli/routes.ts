/** `gridmesh routes`: the next hop for every member prefix, and why. */
import type { Command } from 'commander'
import { addInspectOptions, getJson, printJson, type InspectOptions } from './common.ts'
import { ago, renderTable, shortId } from './table.ts'

interface RouteView {
  destination: string, destinationPeer?: string, via: string, kind: string, metric: number, since: number, path?: string[]
}

export function registerRoutes (program: Command): void {
  addInspectOptions(program.command('routes').description('list routes: destination prefix, next hop, direct or relay, metric'))
    .action(async (opts: InspectOptions) => {
      const routes = await getJson(opts, '/v1/routes') as RouteView[]
      if (opts.json === true) { printJson(routes); return }
      const rows = routes.map(r => [
        r.destination, r.kind, shortId(r.via), String(r.metric), ago(r.since),
        r.kind === 'relay' ? `path ${(r.path ?? []).map(p => shortId(p)).join(' > ')}` : 'direct link up'
      ])
      process.stdout.write(renderTable(['DESTINATION', 'KIND', 'VIA', 'METRIC', 'SINCE', 'WHY'], rows))
    })
}
