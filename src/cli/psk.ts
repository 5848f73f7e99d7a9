/**
 * `gridmesh psk generate --out FILE`: write a new libp2p private-network
 * swarm key (0600; never overwrites). Give the same file to every node of
 * the mesh with `--psk-file`; nodes without it cannot open a connection.
 */
import type { Command } from 'commander'
import { open } from 'node:fs/promises'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { isErrno } from '../keys/atomic-file.ts'
import { generateSwarmKey } from '../keys/swarm-key.ts'

export function registerPsk (program: Command): void {
  const psk = program.command('psk').description('libp2p private-network keys (pnet)')
  psk.command('generate')
    .description('write a new swarm key file (0600) to share with every node of the mesh')
    .requiredOption('--out <file>', 'where to write the key; must not exist')
    .action(async (opts: { out: string }) => {
      let fh
      try {
        // O_EXCL + mode 0600 at creation: never overwrites, never briefly readable.
        fh = await open(opts.out, 'wx', 0o600)
      } catch (err) {
        if (isErrno(err, 'EEXIST')) throw new GridmeshError(ErrorCodes.USAGE, `${opts.out} already exists; refusing to overwrite a swarm key`)
        throw new GridmeshError(ErrorCodes.USAGE, `cannot create ${opts.out} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      }
      try {
        await fh.writeFile(generateSwarmKey())
        await fh.chmod(0o600)
        await fh.sync()
      } finally { await fh.close() }
      process.stderr.write(`gridmesh: wrote swarm key ${opts.out}; it is a SECRET shared by every node (--psk-file)\n`)
    })
}
