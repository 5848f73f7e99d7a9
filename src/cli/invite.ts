/**
 * `gridmesh invite`: sign a join token with the mesh authority key. The token
 * (stdout) is a secret: it lets its holder add nodes until it expires (its
 * redeem-by date) or is revoked. A node that joined stays a member until it
 * is revoked, or until `--member-for` if the admin chose one. Diagnostics go
 * to stderr.
 */
import type { Command } from 'commander'
import { peerIdFromString } from '@libp2p/peer-id'
import { GridmeshError, ErrorCodes } from '../errors.ts'
import { loadAuthority } from '../admission/authority.ts'
import { formatDuration, parseDuration } from '../admission/duration.ts'
import { MAX_CERT_TTL_MS, MAX_TOKEN_LIFETIME_MS, createToken, encodeToken, memberUntilOf } from '../admission/token.ts'

interface InviteOptions { authorityKey: string, mesh: string, expires: string, peerId?: string, maxCertTtl: string, memberFor?: string }

/** Longest --member-for: ten years (beyond that, leave it out: member until revoked). */
const MAX_MEMBER_FOR_MS = 3660 * 86_400_000

export function registerInvite (program: Command): void {
  program.command('invite')
    .description('create a join token for a closed mesh (a secret: send it privately)')
    .requiredOption('--authority-key <file>', 'the authority.key written by `gridmesh mesh init`')
    .requiredOption('--mesh <name>', 'mesh name')
    .option('--expires <duration>', 'how long the token can be used to join (redeem-by), e.g. 90m, 12h, 30d; membership outlives it', '7d')
    .option('--peer-id <peerId>', 'bind the token to one node (default: reusable for any number of nodes)')
    .option('--max-cert-ttl <duration>', 'longest certificate a member may sign; nodes renew before expiry', '24h')
    .option('--member-for <duration>', 'end every membership from this token this long after now, e.g. 365d (default: until revoked)')
    .action(async (opts: InviteOptions) => {
      const lifetimeMs = parseDuration(opts.expires, '--expires', MAX_TOKEN_LIFETIME_MS)
      const maxCertTtlMs = parseDuration(opts.maxCertTtl, '--max-cert-ttl', MAX_CERT_TTL_MS)
      const memberForMs = opts.memberFor === undefined ? null : parseDuration(opts.memberFor, '--member-for', MAX_MEMBER_FOR_MS)
      if (memberForMs !== null && memberForMs < lifetimeMs) {
        throw new GridmeshError(ErrorCodes.USAGE, `--member-for ${opts.memberFor} is shorter than --expires ${opts.expires}; a membership must outlast the time to join`)
      }
      const peerId = opts.peerId === undefined ? null : checkPeerId(opts.peerId)
      const { key } = await loadAuthority(opts.authorityKey, opts.mesh)
      const token = await createToken({ authority: key, mesh: opts.mesh, now: Date.now(), lifetimeMs, peerId, maxCertTtlMs, memberForMs })
      process.stdout.write(`${encodeToken(token)}\n`)
      const c = token.claims
      process.stderr.write([
        `gridmesh: join token ${c.tokenId} for mesh ${c.mesh}, usable to join until ${new Date(c.expiresAt).toISOString()},`,
        `  ${peerId === null ? 'reusable by any number of nodes' : `only for node ${peerId}`}, certificates up to ${formatDuration(c.maxCertTtlMs)},`,
        `  members ${memberForMs === null ? 'until revoked' : `until ${new Date(memberUntilOf(c) ?? 0).toISOString()}`}.`,
        '  The token is a SECRET, like a password: anyone holding it can join the mesh until it expires.',
        '  Send it over a private channel; the node keeps it in its state dir (mode 0600).',
        `  If it leaks: gridmesh revoke --token-id ${c.tokenId} --authority-key ${opts.authorityKey} --mesh ${c.mesh}`,
        ''
      ].join('\n'))
    })
}

function checkPeerId (s: string): string {
  try {
    return peerIdFromString(s).toString()
  } catch {
    throw new GridmeshError(ErrorCodes.USAGE, `--peer-id ${JSON.stringify(s.slice(0, 80))} is not a libp2p PeerId; copy it from \`gridmesh status\` on the node`)
  }
}
