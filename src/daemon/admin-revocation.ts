/**
 * `gridmesh revoke` on a running node: verify and keep the revocation
 * (revocations.ts), then spread it on the members topic. A revocation that
 * does not verify is the admin's mistake: ADMIN_REQUEST with the reason.
 */
import { ErrorCodes, GridmeshError, isGridmeshError } from '../errors.ts'
import type { Revocations } from './revocations.ts'
import type { Membership } from '../mesh/membership.ts'
import type { ClosedMesh } from './admission.ts'
import type { RevocationResult } from '../admin/contract.ts'

export async function publishRevocation (revocations: Revocations, membership: Pick<Membership, 'publishRevocation'>, text: string, closed: ClosedMesh | null): Promise<RevocationResult> {
  let applied
  try {
    applied = await revocations.apply(text, 'admin')
  } catch (err) {
    if (isGridmeshError(err) && err.code === ErrorCodes.RECORD_INVALID) throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, `revocation refused (${String(err.meta?.reason)}): ${err.message}`)
    throw err
  }
  await membership.publishRevocation(applied.text)
  return { id: applied.id, result: applied.result, revocations: closed?.revocations.size ?? 0 }
}
