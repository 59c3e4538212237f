// Runs a background job every interval in this replica, with jitter; a failed run is logged and retried next time.
import type { FastifyBaseLogger } from 'fastify'

export interface PeriodicJob { stop(): Promise<void> }

export function startPeriodic (name: string, intervalMs: number, log: Pick<FastifyBaseLogger, 'warn'>, work: () => Promise<void>): PeriodicJob {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let stopped = false
  const schedule = () => {
    if (stopped) return
    // Jitter keeps replicas from running in lockstep.
    timer = setTimeout(() => {
      running = work().catch((error: unknown) => log.warn({ err: error, job: name }, 'background job failed; will retry')).finally(schedule)
    }, intervalMs * (0.8 + Math.random() * 0.4))
    timer.unref()
  }
  schedule()
  return {
    async stop () {
      stopped = true
      clearTimeout(timer)
      await running
    }
  }
}
