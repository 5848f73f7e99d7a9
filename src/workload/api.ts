/**
 * Admin API bodies of the workload endpoints (pure). Strict: a body that is
 * not an object, lacks a field, has a non-string field or an unknown field is
 * refused with ADMIN_REQUEST (HTTP 400) naming what is wrong.
 */
import { z } from 'zod'
import { ErrorCodes, GridmeshError } from '../errors.ts'
import type { WorkloadAddRequest, WorkloadService } from './manager.ts'

const addSchema = z.object({ name: z.string(), netns: z.string() }).strict()
const removeSchema = z.object({ name: z.string() }).strict()

function parseBody<T> (schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const reason = issue === undefined
    ? 'invalid'
    : issue.code === 'unrecognized_keys'
      ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
      : issue.path.length === 0 ? 'body must be a JSON object' : `field ${issue.path.join('.')}: ${issue.message}`
  throw new GridmeshError(ErrorCodes.ADMIN_REQUEST, `${what}: ${reason}`)
}

/** parseWorkloadAddBody validates `POST /v1/workloads` bodies: `{ name, netns }`. */
export function parseWorkloadAddBody (body: unknown): WorkloadAddRequest {
  return parseBody(addSchema, body, 'workload add takes {"name", "netns"}')
}

/** parseWorkloadRemoveBody validates `POST /v1/workloads/remove` bodies: `{ name }`. */
export function parseWorkloadRemoveBody (body: unknown): string {
  return parseBody(removeSchema, body, 'workload remove takes {"name"}').name
}

/**
 * workloadRoutes are the admin API routes of the workload service, keyed like
 * the admin handler's table (`METHOD /path`). GET lists; POSTs change.
 */
export function workloadRoutes (service: WorkloadService): Record<string, (body: unknown) => Promise<unknown>> {
  return {
    'GET /v1/workloads': () => service.list(),
    'POST /v1/workloads': body => service.add(parseWorkloadAddBody(body)),
    'POST /v1/workloads/remove': body => service.remove(parseWorkloadRemoveBody(body))
  }
}
