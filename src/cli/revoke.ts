/**
 * `gridmesh revoke PEERID | --token-id ID`: sign a revocation with the mesh
 * authority key. The `gmr1.` string (stdout) is public; the mesh spreads it.
 */
import type { Command } from 'commander'
import { peerIdFromString } from '@libp2p/peer-id'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { loadAuthority } from '../admission/authority.ts'
import { MAX_REASON_CHARS, createRevocation, encodeRevocation } from '../admission/revocation.ts'
import type { RevocationTarget } from '../admission/revocation.ts'

interface RevokeOptions { authorityKey: string, mesh: string, tokenId?: string, reason?: string }

export function registerRevoke (program: Command): void {
  program.command('revoke')
    .description('revoke a node (PEERID) or every node admitted with a join token (--token-id)')
    .argument('[peerId]', 'the PeerId of the node to revoke')
    .requiredOption('--authority-key <file>', 'the authority.key written by `gridmesh mesh init`')
    .requiredOption('--mesh <name>', 'mesh name')
    .option('--token-id <id>', 'revoke the join token with this id (printed by `gridmesh invite`) instead of one node')
    .option('--reason <text>', `free text kept in the revocation (at most ${MAX_REASON_CHARS} chars; it is public)`)
    .action(async (peerIdArg: string | undefined, opts: RevokeOptions) => {
      const target = targetOf(peerIdArg, opts.tokenId)
      if (opts.reason !== undefined && opts.reason.length > MAX_REASON_CHARS) {
        throw new GridmeshError(ErrorCodes.USAGE, `--reason is longer than ${MAX_REASON_CHARS} characters`)
      }
      const { key } = await loadAuthority(opts.authorityKey, opts.mesh)
      const rev = await createRevocation({
        authority: key, mesh: opts.mesh, target, now: Date.now(), ...(opts.reason === undefined ? {} : { reason: opts.reason })
      })
      process.stdout.write(`${encodeRevocation(rev)}\n`)
      process.stderr.write(`gridmesh: revoked ${rev.peerId !== null ? `node ${rev.peerId}` : `join token ${rev.tokenId ?? ''}`} in mesh ${rev.mesh}; ` +
        'publish the line above to the mesh (it is signed and public). Revocation is permanent.\n')
    })
}

function targetOf (peerId: string | undefined, tokenId: string | undefined): RevocationTarget {
  if ((peerId === undefined) === (tokenId === undefined)) {
    throw new GridmeshError(ErrorCodes.USAGE, 'give exactly one of PEERID or --token-id ID')
  }
  if (tokenId !== undefined) {
    if (!/^[0-9a-f]{32}$/.test(tokenId)) throw new GridmeshError(ErrorCodes.USAGE, '--token-id must be the 32 hex characters printed by `gridmesh invite`')
    return { tokenId }
  }
  try {
    return { peerId: peerIdFromString(peerId ?? '').toString() }
  } catch {
    throw new GridmeshError(ErrorCodes.USAGE, `${JSON.stringify((peerId ?? '').slice(0, 80))} is not a libp2p PeerId`)
  }
}
