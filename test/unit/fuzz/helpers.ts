/**
 * Shared fuzz tooling: one seed (every run is reproducible: a failure prints
 * the seed and path fast-check needs to replay it), byte mutations, and the
 * one oracle every decoder must satisfy: it returns, or it throws a
 * GridmeshError with one of the codes (and, for records, reasons) it
 * documents. A TypeError, RangeError, SyntaxError or any other escape fails.
 */
import fc from 'fast-check'
import { isGridmeshError, type ErrorCode, type GridmeshError } from '../../../src/errors.ts'

/** One seed for the whole directory; override with FUZZ_SEED to explore, FUZZ_SCALE to multiply run counts. */
export const SEED = Number(process.env.FUZZ_SEED ?? 0x67726964)
const SCALE = Number(process.env.FUZZ_SCALE ?? 1)

/** fast-check parameters: seeded, `runs` scaled by FUZZ_SCALE (e.g. 10 for a nightly run). */
export function params (runs: number): { numRuns: number, seed: number, endOnFailure: boolean, includeErrorInReport: boolean } {
  return { numRuns: Math.max(1, Math.round(runs * SCALE)), seed: SEED, endOnFailure: true, includeErrorInReport: true }
}

/** What a decoder did with one input. */
export type Outcome<T> = { ok: true, value: T } | { ok: false, code: ErrorCode, reason: string | undefined, error: GridmeshError }

/**
 * outcome runs `fn` and classifies it. Anything thrown that is not a
 * GridmeshError with one of `codes` (and, when `reasons` is given, a
 * meta.reason from it) is rethrown wrapped, so the property fails naming it.
 */
export async function outcome<T> (fn: () => Promise<T> | T, codes: readonly ErrorCode[], reasons?: ReadonlySet<string>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() }
  } catch (err) {
    return classify(err, codes, reasons)
  }
}

/** outcomeSync is outcome for synchronous decoders (keeps fc.property synchronous and fast). */
export function outcomeSync<T> (fn: () => T, codes: readonly ErrorCode[], reasons?: ReadonlySet<string>): Outcome<T> {
  try {
    return { ok: true, value: fn() }
  } catch (err) {
    return classify(err, codes, reasons)
  }
}

function classify (err: unknown, codes: readonly ErrorCode[], reasons?: ReadonlySet<string>): Outcome<never> {
  if (!isGridmeshError(err)) {
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    throw new Error(`decoder escaped with a non-GridmeshError (${what})`, { cause: err })
  }
  if (!codes.includes(err.code)) throw new Error(`decoder threw ${err.code}, expected one of ${codes.join(', ')}: ${err.message}`)
  const reason = (err.meta as { reason?: unknown } | undefined)?.reason
  if (reasons !== undefined && (typeof reason !== 'string' || !reasons.has(reason))) {
    throw new Error(`decoder threw ${err.code} with an unknown reason ${String(reason)}: ${err.message}`)
  }
  if (err.message.trim() === '') throw new Error(`decoder threw ${err.code} with an empty message`)
  return { ok: false, code: err.code, reason: typeof reason === 'string' ? reason : undefined, error: err }
}

/** One byte-level edit at a fuzzed position. */
export type Mutation = readonly ['flip' | 'set' | 'insert' | 'delete' | 'truncate', number, number]

/** Exactly one edit: "a valid input mutated by one byte". */
export const oneMutationArb: fc.Arbitrary<Mutation[]> = fc.tuple(
  fc.constantFrom('flip', 'set', 'insert', 'delete') as fc.Arbitrary<Mutation[0]>, fc.nat(), fc.integer({ min: 0, max: 255 })
).map(m => [m])

/** One to four edits, truncation included. */
export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(fc.tuple(
  fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate') as fc.Arbitrary<Mutation[0]>, fc.nat(), fc.integer({ min: 0, max: 255 })
), { minLength: 1, maxLength: 4 })

/** mutate applies the edits to a copy of `input`. */
export function mutate (input: Uint8Array, ops: readonly Mutation[]): Uint8Array {
  const out = [...input]
  for (const [op, pos, val] of ops) {
    const i = out.length === 0 ? 0 : pos % out.length
    if (op === 'flip') out[i] = (out[i] ?? 0) ^ (1 << (val % 8))
    else if (op === 'set') out[i] = val
    else if (op === 'insert') out.splice(i, 0, val)
    else if (op === 'delete') out.splice(i, 1)
    else out.length = i
  }
  return Uint8Array.from(out)
}

/** mutateText mutates the UTF-8 bytes of a string and decodes them back (invalid UTF-8 becomes U+FFFD). */
export function mutateText (input: string, ops: readonly Mutation[]): string {
  return new TextDecoder().decode(mutate(new TextEncoder().encode(input), ops))
}

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** Strings from every Unicode plane, lone surrogates included. */
export const anyString = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })

/** Object keys an attacker would try: prototype names, empty, long, unicode. */
export const nastyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', 'v', 'type', 'seq'),
  fc.string({ maxLength: 12 })
)

/** JSON-ish values with nasty keys, big/small numbers, deep nesting. */
export const nastyJson: fc.Arbitrary<unknown> = fc.letrec(tie => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(),
    fc.constantFrom(0, -0, -1, 1, 0.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER),
    fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }),
    anyString(40),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(nastyKey, tie('value'), { maxKeys: 5 })
  )
})).value

/**
 * fieldEditsArb takes a valid object and returns variants with one field
 * replaced by a random value, deleted, or an extra field added: structured
 * fuzz that gets past outer framing (signatures, JSON) to the schema.
 */
export function fieldEditsArb (base: Record<string, unknown>, typical: fc.Arbitrary<unknown> = nastyJson): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(base)
  const edit = fc.oneof(
    fc.tuple(fc.constant('replace' as const), fc.constantFrom(...keys), typical),
    fc.tuple(fc.constant('delete' as const), fc.constantFrom(...keys), fc.constant(null)),
    fc.tuple(fc.constant('add' as const), nastyKey, typical)
  )
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map(edits => {
    const out: Record<string, unknown> = { ...base }
    for (const [kind, key, value] of edits) {
      if (kind === 'delete') delete out[key]
      else Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true })
    }
    return out
  })
}

/** With FUZZ_TIMING=1, prints each test's wall time to stderr (to tune run counts against the time budget). */
export function timeTests (suite: { before: { each: (fn: (ctx: Record<string, unknown>) => void) => void }, after: { each: (fn: (ctx: Record<string, unknown>) => void) => void } }): void {
  if (process.env.FUZZ_TIMING !== '1') return
  suite.before.each(ctx => { ctx.t0 = performance.now(); ctx.cpu0 = process.cpuUsage() })
  suite.after.each(ctx => {
    const cpu = process.cpuUsage(ctx.cpu0 as NodeJS.CpuUsage)
    process.stderr.write(`  ${Math.round(performance.now() - (ctx.t0 as number))} ms wall, ${Math.round((cpu.user + cpu.system) / 1000)} ms cpu  ${String(ctx.__test__)}\n`)
  })
}

/** Large byte arrays without fast-check generating every byte: a short random pattern repeated to a random length in [min, max]. */
export function bigBytes (min: number, max: number): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.integer({ min, max }), fc.uint8Array({ minLength: 1, maxLength: 64 }))
    .map(([n, pattern]) => {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i += pattern.length) out.set(pattern.subarray(0, Math.min(pattern.length, n - i)), i)
      return out
    })
}
