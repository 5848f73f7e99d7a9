/**
 * `gridmesh graph`: the mesh as this node sees it, as Graphviz DOT (links as
 * both ends report them, relay paths in use in bold blue). `--svg FILE` pipes
 * the DOT through `dot -Tsvg` into FILE (`--svg` alone: SVG on stdout);
 * `--json` prints the graph as data (`nodes`, `edges` with their states,
 * `relays`) and the DOT text (`dot`).
 */
import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { addInspectOptions, call, printJson, type InspectOptions } from './common.ts'

/** renderSvg runs `dot -Tsvg -o FILE` (or to stdout when file is null) with the DOT on stdin. */
function renderSvg (dot: string, file: string | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('dot', file === null ? ['-Tsvg'] : ['-Tsvg', '-o', file], { stdio: ['pipe', file === null ? 'inherit' : 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8') })
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT'
        ? new GridmeshError(ErrorCodes.MISSING_TOOL, 'graphviz `dot` is not installed; install the Debian package graphviz (apt-get install --no-install-recommends graphviz) or drop --svg and pipe the DOT yourself')
        : new GridmeshError(ErrorCodes.DRIVER_FAILED, `cannot run dot: ${err.message}`))
    })
    child.on('close', code => {
      if (code === 0) resolve()
      else if (code !== null) reject(new GridmeshError(ErrorCodes.DRIVER_FAILED, `dot -Tsvg failed (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`))
    })
    child.stdin.on('error', () => { /* reported through 'error' / 'close' */ })
    child.stdin.end(dot)
  })
}

export function registerGraph (program: Command): void {
  addInspectOptions(program.command('graph').description('print the mesh as Graphviz DOT: members, link states, relay paths in use'))
    .option('--svg [file]', 'render SVG with graphviz `dot` into FILE (without FILE: to stdout) instead of printing DOT')
    .action(async (opts: InspectOptions & { svg?: string | true }) => {
      const graph = await call(opts, 'GET /v1/graph')
      const { dot } = graph
      if (opts.svg !== undefined) {
        const file = opts.svg === true ? null : opts.svg
        await renderSvg(dot, file)
        if (opts.json === true && file !== null) printJson({ svg: file })
        return
      }
      if (opts.json === true) printJson(graph)
      else process.stdout.write(dot)
    })
}
