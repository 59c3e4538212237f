// The one source of "now": business code takes a Clock so tests can move time across midnight.
export interface Clock {
  now(): Date
}

export const systemClock: Clock = {
  now: () => new Date()
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
