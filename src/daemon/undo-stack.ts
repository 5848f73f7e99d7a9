/**
 * Start-up as a transaction: every step that changed something registers
 * how to undo it, and a failure anywhere unwinds what was done, newest
 * first, so a start that fails leaves no process holding a port, no timer,
 * no interface (issue 19, attack 4). A failing undo step is logged and the
 * unwinding goes on.
 */
import type { Logger } from '../log.ts'

export type Undo = () => void | Promise<void>

export interface UndoStack {
  /** Registers how to undo a step that is about to run (or just ran); `what` names it in the log. */
  push: (what: string, undo: Undo) => void
  /** Runs every registered undo, newest first, once; later calls do nothing. */
  unwind: () => Promise<void>
  /** Runs `start`; if it throws, unwinds everything and rethrows. */
  guard: <T>(start: () => Promise<T>) => Promise<T>
}

export function createUndoStack (log: Logger): UndoStack {
  const steps: Array<{ what: string, undo: Undo }> = []
  const unwind = async (): Promise<void> => {
    for (let s = steps.pop(); s !== undefined; s = steps.pop()) {
      try { await s.undo() } catch (err) { log.warn({ err, step: s.what }, 'undo step failed') }
    }
  }
  return {
    push: (what, undo) => { steps.push({ what, undo }) },
    unwind,
    guard: async (start) => {
      try {
        return await start()
      } catch (err) {
        await unwind()
        throw err
      }
    }
  }
}
