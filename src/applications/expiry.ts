// Same-day expiry: closes unpaid applications past their deadline, in batches, in every replica.
import type { FastifyInstance } from 'fastify'
import { purgeExpiredKeys } from '../plugins/idempotency.js'
import { expireDue } from './repository.js'

export const SWEEP_BATCH_SIZE = 500

/** Closes every application past its deadline; safe to run in any number of replicas at once. */
export async function sweepExpired (app: Pick<FastifyInstance, 'db' | 'clock'>, batchSize = SWEEP_BATCH_SIZE): Promise<number> {
  let total = 0
  for (;;) {
    const closed = await app.db.transaction((tx) => expireDue(tx, app.clock.now(), { limit: batchSize }))
    total += closed
    if (closed < batchSize) return total
  }
}

export interface Sweeper { stop(): Promise<void> }

/**
 * Runs the sweep every `intervalMs`, with jitter so replicas do not start together. A failed run
 * (the database away) is logged and the next one tries again.
 */
export function startExpirySweeper (app: Pick<FastifyInstance, 'db' | 'clock' | 'log'>, intervalMs: number): Sweeper {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let stopped = false
  const schedule = () => {
    if (stopped) return
    timer = setTimeout(() => {
      running = (async () => {
        try {
          const expired = await sweepExpired(app)
          const purged = await purgeExpiredKeys(app, app.clock.now())
          if (expired + purged > 0) app.log.info({ expired, purgedIdempotencyKeys: purged }, 'expiry sweep')
        } catch (error) {
          app.log.warn({ err: error }, 'expiry sweep failed; will retry')
        }
      })().finally(schedule)
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
