/** `gridmesh routes`: the next hop for every member prefix, and why. */
import type { Command } from 'commander'
import type { Explanation } from '../admin/contract.ts'
import { addInspectOptions, call, printJson, type InspectOptions } from './common.ts'
import { ago, renderTable, shortId } from './table.ts'
import { renderExplanation } from '../daemon/explain.ts'

interface RoutesOptions extends InspectOptions { explain?: string | true }

/** explainAll explains the route to every member (`--explain` without a target). */
async function explainAll (opts: InspectOptions): Promise<Explanation[]> {
  const peers = await call(opts, 'GET /v1/peers')
  return await Promise.all(peers.map(p => call(opts, 'GET /v1/routes/explain', { query: { target: p.peerId } })))
}

export function registerRoutes (program: Command): void {
  addInspectOptions(program.command('routes').description('list routes: destination prefix, next hop, direct or relay, metric'))
    .option('--explain [target]', 'explain the route to one member (its /64, an address inside it, its PeerId, the short form 12D3KooW…abcdef of the tables, or a unique end of its PeerId); without a target, every member')
    .action(async (opts: RoutesOptions) => {
      if (opts.explain !== undefined) {
        const all = opts.explain === true ? await explainAll(opts) : [await call(opts, 'GET /v1/routes/explain', { query: { target: opts.explain } })]
        if (opts.json === true) printJson(opts.explain === true ? all : all[0])
        else process.stdout.write(all.map(e => renderExplanation(e)).join('\n'))
        return
      }
      const routes = await call(opts, 'GET /v1/routes')
      if (opts.json === true) { printJson(routes); return }
      const rows = routes.map(r => [
        r.destination, r.kind, shortId(r.via), String(r.metric), ago(r.since),
        r.kind === 'relay' ? `path ${r.path.map(p => shortId(p)).join(' > ')}` : 'direct link up'
      ])
      process.stdout.write(renderTable(['DESTINATION', 'KIND', 'VIA', 'METRIC', 'SINCE', 'WHY'], rows))
    })
}
