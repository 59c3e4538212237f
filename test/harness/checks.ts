// The check counter of the standalone scripts, and the runner that always cleans up and prints `N passed, M failed`.

export class Checks {
  passed = 0
  failed = 0
  readonly failures: string[] = []

  /** One invariant or assertion. Returns `ok` so callers can branch on it. */
  check (name: string, ok: boolean, detail?: unknown): boolean {
    if (ok) {
      this.passed++
      process.stdout.write(`ok   - ${name}\n`)
    } else {
      this.failed++
      const text = detail === undefined ? '' : `: ${describe(detail)}`
      this.failures.push(`${name}${text}`)
      process.stdout.write(`FAIL - ${name}${text}\n`)
    }
    return ok
  }

  /** A check over a list of violations: passes when the list is empty, and shows the first few otherwise. */
  none (name: string, violations: readonly unknown[]): boolean {
    return this.check(name, violations.length === 0, violations.length === 0 ? undefined : `${violations.length} violation(s), e.g. ${describe(violations.slice(0, 3))}`)
  }
}

export function describe (value: unknown): string {
  if (value instanceof Error) return value.stack ?? value.message
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)
  } catch {
    return String(value)
  }
}

export function log (message: string): void {
  process.stdout.write(`#    ${message}\n`)
}

export function section (title: string): void {
  process.stdout.write(`\n# ${title}\n`)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Cleanup steps run last-in first-out, each bounded in time, whatever happened before. */
export class Cleanup {
  readonly #steps: Array<{ name: string; run: () => Promise<void> | void }> = []

  add (name: string, run: () => Promise<void> | void): void {
    this.#steps.push({ name, run })
  }

  async runAll (): Promise<void> {
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!
      try {
        await Promise.race([Promise.resolve().then(step.run), sleep(10_000).then(() => { throw new Error('timed out after 10 s') })])
      } catch (error) {
        process.stderr.write(`cleanup "${step.name}" failed: ${describe(error)}\n`)
      }
    }
  }
}

/**
 * Runs a script: a watchdog bounds the whole run, cleanup always runs (also on SIGINT/SIGTERM or a
 * thrown error), and the exit code is 0 only when every check passed and at least one ran.
 */
export async function runScript (name: string, timeoutMs: number, main: (checks: Checks, cleanup: Cleanup) => Promise<void>): Promise<never> {
  const checks = new Checks()
  const cleanup = new Cleanup()
  const started = performance.now()
  let finishing = false
  const finish = async (extraFailure?: string): Promise<never> => {
    if (finishing) await new Promise(() => undefined) // a second caller waits for the first to exit
    finishing = true
    if (extraFailure !== undefined) checks.check(extraFailure, false)
    await cleanup.runAll()
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    process.stdout.write(`\n# ${name}: finished in ${seconds} s\n`)
    if (checks.failures.length > 0) {
      process.stdout.write(`# failed checks:\n${checks.failures.map((f) => `#   - ${f.slice(0, 2000)}`).join('\n')}\n`)
    }
    process.stdout.write(`${checks.passed} passed, ${checks.failed} failed\n`)
    process.exit(checks.failed === 0 && checks.passed > 0 ? 0 : 1)
  }
  const watchdog = setTimeout(() => { void finish(`${name} finished within ${timeoutMs / 1000} s (watchdog)`) }, timeoutMs)
  watchdog.unref()
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { void finish(`${name} was not interrupted (${signal})`) })
  }
  try {
    await main(checks, cleanup)
  } catch (error) {
    checks.check(`${name} ran to the end without an unexpected error`, false, error)
  }
  return finish()
}
