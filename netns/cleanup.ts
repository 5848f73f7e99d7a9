/**
 * Last-resort teardown: a test that crashes, throws past its `finally`, or is interrupted must
 * still leave no namespace and no daemon behind. Live labs register here; on process exit,
 * SIGINT or SIGTERM each one is destroyed synchronously (an 'exit' handler cannot await).
 */

/** What the exit hook needs from a lab: a synchronous, idempotent, never-throwing teardown. */
export interface SyncDestroyable {
  destroySync (): void
}

const live = new Set<SyncDestroyable>()
let installed = false

function destroyAll (): void {
  for (const lab of [...live]) {
    live.delete(lab)
    try { lab.destroySync() } catch { /* best effort: keep tearing down the others */ }
  }
}

function onSignal (signal: NodeJS.Signals, code: number): void {
  process.stderr.write(`lab: ${signal}, destroying ${live.size} lab(s)\n`)
  destroyAll()
  process.exit(code)
}

function install (): void {
  if (installed) return
  installed = true
  process.on('exit', destroyAll)
  process.once('SIGINT', () => { onSignal('SIGINT', 130) })
  process.once('SIGTERM', () => { onSignal('SIGTERM', 143) })
}

/** Registers a lab for teardown at exit; installs the process hooks on first use. */
export function registerLab (lab: SyncDestroyable): void {
  install()
  live.add(lab)
}

/** Forgets a lab once it was destroyed normally. */
export function unregisterLab (lab: SyncDestroyable): void {
  live.delete(lab)
}
