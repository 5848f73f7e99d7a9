/**
 * Ctrl-C (and SIGTERM) for the demo: whatever step is running, the lab is destroyed and the demo
 * exits 130 (143 for SIGTERM). netns/cleanup.ts has the same safety net for every lab, but the
 * demo needs more: it says which step was interrupted, it must not exit while `lab.sh create` is
 * still building namespaces it does not know the id of yet. (Ctrl-C during the `--keep` pause is
 * an interrupt like any other: netns/cleanup.ts would exit 130 on it anyway.)
 */
import { execFileSync } from 'node:child_process'
import { LAB_SH } from '../../netns/lab.ts'
import { say } from './narrate.ts'

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 }

/** Tracks what an interrupt has to clean up, and does it. */
export class InterruptGuard {
  /** Set as soon as the lab exists; destroyed on interrupt. */
  labId: string | null = null
  /** Where we are, for the message ("step 5/9: cutting ..."). */
  where = 'startup'
  private creating = false
  private pending: NodeJS.Signals | null = null

  /** Installs the handlers; call before anything creates a lab, so ours run before the lab's own hook. */
  install (): void {
    process.on('SIGINT', () => { this.onSignal('SIGINT') })
    process.on('SIGTERM', () => { this.onSignal('SIGTERM') })
  }

  /**
   * Runs the lab creation with interrupts deferred: the lab's id is only known once it exists, so
   * exiting earlier would leave its namespaces behind. (If the terminal's Ctrl-C also killed
   * lab.sh, its own EXIT trap removes the half-built lab and `create` rejects.)
   */
  async creatingLab<T extends { id: string }> (create: () => Promise<T>): Promise<T> {
    this.creating = true
    try {
      const made = await create()
      this.labId = made.id
      return made
    } finally {
      this.creating = false
      if (this.pending !== null) this.abort(this.pending)
    }
  }

  /** Resolves on Enter (or when stdin ends, e.g. not a terminal); Ctrl-C meanwhile aborts as usual. */
  waitForEnter (): Promise<void> {
    return new Promise(resolve => {
      const done = (): void => {
        process.stdin.off('data', done).off('end', done)
        process.stdin.pause()
        resolve()
      }
      process.stdin.on('data', done).on('end', done)
      process.stdin.resume()
    })
  }

  private onSignal (signal: NodeJS.Signals): void {
    if (this.creating) {
      this.pending = signal
      say(`\n${signal}: the lab is still being created; it is destroyed as soon as it exists`)
      return
    }
    this.abort(signal)
  }

  /** Destroys the lab synchronously (a signal handler cannot await) and exits. */
  private abort (signal: NodeJS.Signals): never {
    say(`\ninterrupted (${signal}) during ${this.where}`)
    if (this.labId !== null) {
      say(`destroying lab ${this.labId} ...`)
      try {
        execFileSync('bash', [LAB_SH, 'destroy', this.labId], { stdio: ['ignore', 'ignore', 'inherit'] })
        say(`lab ${this.labId} destroyed: no namespace or daemon left`)
      } catch (err) {
        say(`could not destroy lab ${this.labId}: ${err instanceof Error ? err.message : String(err)}; run: ${LAB_SH} destroy ${this.labId}`)
      }
    }
    process.exit(EXIT_CODES[signal] ?? 1)
  }
}
