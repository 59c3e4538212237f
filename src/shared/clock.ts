// The one source of "now": business code takes a Clock so tests can move time across midnight.
export interface Clock {
  now(): Date
}

export const systemClock: Clock = {
  now: () => new Date()
}

/**
 * Real time shifted so that it read `start` at the instant `at` (by default now): lets a test harness
 * put whole processes just before midnight, all agreeing when each is given its process start as `at`.
 */
export function shiftedClock (start: Date, base: Clock = systemClock, at: Date = base.now()): Clock {
  const offset = start.getTime() - at.getTime()
  return { now: () => new Date(base.now().getTime() + offset) }
}

/** A clock that stands still until told to move; for tests and scripted scenarios. */
export class ManualClock implements Clock {
  #ms: number

  constructor (start: Date | string = '2026-12-01T02:00:00Z') {
    this.#ms = new Date(start).getTime()
  }

  now (): Date {
    return new Date(this.#ms)
  }

  set (instant: Date | string): void {
    this.#ms = new Date(instant).getTime()
  }

  advance (ms: number): void {
    this.#ms += ms
  }
}
