/**
 * A recording CommandRunner for unit tests: every call is kept (with stdin, so
 * tests can assert that secrets went there and not into argv), and answers come
 * from a responder function. Unanswered commands succeed with empty output.
 */
import { commandFailedError } from './command.ts'
import type { CommandRunner, RunOptions, RunResult } from './command.ts'

/** One recorded call. */
export interface RecordedCall {
  readonly cmd: string
  readonly args: readonly string[]
  readonly stdin: string | undefined
}

/** Decides the result of one call; return undefined for "ok, empty output". */
export type Responder = (call: RecordedCall) => Partial<RunResult> | undefined

/** RecordingRunner is a CommandRunner that remembers its calls. */
export interface RecordingRunner extends CommandRunner {
  readonly calls: RecordedCall[]
  /** The calls as `cmd arg arg` lines, for compact assertions. */
  lines (): string[]
}

/** createRecordingRunner builds the fake; non-zero codes throw like the real runner unless allowFail. */
export function createRecordingRunner (responder: Responder = () => undefined): RecordingRunner {
  const calls: RecordedCall[] = []
  return {
    calls,
    lines: () => calls.map(c => [c.cmd, ...c.args].join(' ')),
    run: async (cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> => {
      const call = { cmd, args: [...args], stdin: opts.stdin }
      calls.push(call)
      const partial = responder(call) ?? {}
      const r: RunResult = { stdout: partial.stdout ?? '', stderr: partial.stderr ?? '', code: partial.code ?? 0 }
      if (r.code !== 0 && opts.allowFail !== true) throw commandFailedError(cmd, args, r)
      return r
    }
  }
}
