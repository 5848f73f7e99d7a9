/** `gridmesh routes`: the next hop for every member prefix, and why. */
import type { Command } from 'commander'
import { addInspectOptions, getJson, printJson, type InspectOptions } from './common.ts'
import { ago, renderTable, shortId } from './table.ts'
import { renderExplanation, type Explanation } from '../daemon/explain.ts'

interface RouteView {
  destination: string, destinationPeer?: string, via: string, kind: string, metric: number, since: number, path?: string[]
}

export function registerRoutes (program: Command): void {
  addInspectOptions(program.command('routes').description('list routes: destination prefix, next hop, direct or relay, metric'))
    .option('--explain <target>', 'explain the route to one member: its /64, an address inside it, or its PeerId')
    .action(async (opts: InspectOptions & { explain?: string }) => {
      if (opts.explain !== undefined) {
        const e = await getJson(opts, `/v1/routes/explain?target=${encodeURIComponent(opts.explain)}`) as Explanation
        if (opts.json === true) printJson(e)
        else process.stdout.write(renderExplanation(e))
        return
      }
      const routes = await getJson(opts, '/v1/routes') as RouteView[]
      if (opts.json === true) { printJson(routes); return }
      const rows = routes.map(r => [
        r.destination, r.kind, shortId(r.via), String(r.metric), ago(r.since),
        r.kind === 'relay' ? `path ${(r.path ?? []).map(p => shortId(p)).join(' > ')}` : 'direct link up'
      ])
      process.stdout.write(renderTable(['DESTINATION', 'KIND', 'VIA', 'METRIC', 'SINCE', 'WHY'], rows))
    })
}
