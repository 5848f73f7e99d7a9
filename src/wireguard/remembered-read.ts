/**
 * RememberedRead keeps the last device state the driver read or modelled,
 * for a while, tagged with a generation: any change to the device (an apply,
 * a restart, a re-create) moves the generation, so a state read before it is
 * never reused.
 */
import type { DeviceState } from './types.ts'

export class RememberedRead {
  private recent: { state: DeviceState, at: number, generation: number, validMs: number } | null = null
  private generation = 0

  /** invalidate says the device changed: no earlier state describes it. */
  invalidate (): void { this.generation++ }

  /** remember keeps `state` as the device's state for validMs. */
  remember (state: DeviceState, validMs: number): void {
    this.recent = { state, at: performance.now(), generation: this.generation, validMs }
  }

  /** read reads the device and remembers the result unless the device changed meanwhile. */
  async read (reader: () => Promise<DeviceState>, validMs: number): Promise<DeviceState> {
    const started = this.generation
    const state = await reader()
    if (this.generation === started) this.remember(state, validMs)
    return state
  }

  /** fresh is the remembered state while still valid, else null. */
  fresh (): DeviceState | null {
    const r = this.recent
    if (r === null || r.generation !== this.generation || performance.now() - r.at > r.validMs) return null
    return r.state
  }
}
