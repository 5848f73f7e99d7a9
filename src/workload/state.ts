/**
 * The persisted workload list, `<stateDir>/workloads.json` (0600, written
 * atomically): name, namespace and host number of every workload, so a
 * restarted daemon re-creates them with the same addresses.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import { readFileIfExists, writeFileAtomic } from '../keys/atomic-file.ts'
import { FIRST_WORKLOAD_HOST, LAST_WORKLOAD_HOST } from './allocate.ts'
import { parseNetnsName, parseWorkloadName, type NetnsName, type WorkloadName } from './names.ts'

/** File name of the workload list inside the state dir. */
export const WORKLOADS_FILE = 'workloads.json'

/** One persisted workload. */
export interface WorkloadEntry {
  readonly name: WorkloadName
  readonly netns: NetnsName
  /** Host number in the node's /64 (`<prefix>::<host>`). */
  readonly host: number
}

const entrySchema = z.object({
  name: z.string().transform(s => s as WorkloadName).refine(isName, 'invalid workload name'),
  netns: z.string().transform(s => s as NetnsName).refine(isNetns, 'invalid network namespace name'),
  host: z.number().int().min(FIRST_WORKLOAD_HOST).max(LAST_WORKLOAD_HOST)
}).strict()
const fileSchema = z.object({ version: z.literal(1), workloads: z.array(entrySchema) }).strict()
  .refine(f => new Set(f.workloads.map(w => w.name)).size === f.workloads.length, 'duplicate workload name')
  .refine(f => new Set(f.workloads.map(w => w.host)).size === f.workloads.length, 'duplicate workload address')

/**
 * loadWorkloads reads the list; a missing file is an empty list. An
 * unparseable or wrong-schema file throws STATE_CORRUPT naming the file.
 */
export async function loadWorkloads (stateDir: string): Promise<WorkloadEntry[]> {
  const path = join(stateDir, WORKLOADS_FILE)
  const file = await readFileIfExists(path)
  if (file === null) return []
  let json: unknown
  try { json = JSON.parse(file.data.toString('utf8')) } catch (err) {
    throw corrupt(path, file.data.length === 0 ? 'empty' : 'not JSON', err)
  }
  const parsed = fileSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw corrupt(path, `${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'}`)
  }
  return parsed.data.workloads
}

/** saveWorkloads durably replaces the list (0600). */
export async function saveWorkloads (stateDir: string, workloads: readonly WorkloadEntry[]): Promise<void> {
  const sorted = [...workloads].sort((a, b) => a.host - b.host)
  await writeFileAtomic(join(stateDir, WORKLOADS_FILE), `${JSON.stringify({ version: 1, workloads: sorted }, null, 2)}\n`)
}

function isName (s: string): boolean {
  try { parseWorkloadName(s); return true } catch { return false }
}

function isNetns (s: string): boolean {
  try { parseNetnsName(s); return true } catch { return false }
}

function corrupt (path: string, reason: string, cause?: unknown): GridmeshError {
  return new GridmeshError(ErrorCodes.STATE_CORRUPT,
    `workload state file ${path} is corrupt (${reason}); fix it, or move it away (workloads are then forgotten and get new addresses)`,
    { path }, { cause })
}
