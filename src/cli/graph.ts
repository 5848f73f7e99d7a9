/**
 * `gridmesh graph`: the mesh as this node sees it, as Graphviz DOT (links as
 * both ends report them, relay paths in use in bold blue). `--svg FILE` pipes
 * the DOT through `dot -Tsvg`; `--json` prints `{ dot }`.
 */
import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { addInspectOptions, getJson, printJson, type InspectOptions } from './common.ts'

/** renderSvg runs `dot -Tsvg -o FILE` with the DOT on stdin. */
function renderSvg (dot: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('dot', ['-Tsvg', '-o', file], { stdio: ['pipe', 'ignore', 'pipe'] })
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
    .option('--svg <file>', 'render to an SVG file with graphviz `dot` instead of printing DOT')
    .action(async (opts: InspectOptions & { svg?: string }) => {
      const { dot } = await getJson(opts, '/v1/graph') as { dot: string }
      if (opts.svg !== undefined) {
        await renderSvg(dot, opts.svg)
        if (opts.json === true) printJson({ svg: opts.svg })
        return
      }
      if (opts.json === true) printJson({ dot })
      else process.stdout.write(dot)
    })
}
