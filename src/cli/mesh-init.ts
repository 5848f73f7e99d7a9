/**
 * `gridmesh mesh init --mesh NAME --out DIR`: create a closed mesh's
 * authority key. Prints the authority id (the one line every node's config
 * needs) on stdout, and what to do with the key on stderr.
 */
import type { Command } from 'commander'
import { createAuthority } from '../admission/authority.ts'

interface MeshInitOptions { mesh: string, out: string }

export function registerMeshInit (program: Command): void {
  const mesh = program.command('mesh').description('manage a closed mesh (authority key)')
  mesh.command('init')
    .description('create the mesh authority key (keep it offline) and print the mesh authority id')
    .requiredOption('--mesh <name>', 'mesh name')
    .requiredOption('--out <dir>', 'directory for authority.key (created 0700; an existing key is never overwritten)')
    .action(async (opts: MeshInitOptions) => {
      const { id, keyFile } = await createAuthority(opts.out, opts.mesh)
      process.stdout.write(`${id.text}\n`)
      process.stderr.write([
        `gridmesh: created the authority of mesh ${id.mesh}: ${keyFile} (mode 0600)`,
        '  Put the line above in every node\'s config as `authority: <line>`; it is public.',
        '  The key file admits nodes (`gridmesh invite`) and removes them (`gridmesh revoke`).',
        '  Keep it offline and backed up: whoever holds it controls the mesh, and losing it means',
        '  re-keying every node.',
        ''
      ].join('\n'))
    })
}
