// Same-day expiry: closes unpaid applications past their deadline, in batches, in every replica.
import type { FastifyInstance } from 'fastify'
import { purgeExpiredKeys } from '../plugins/idempotency.js'
import { startPeriodic, type PeriodicJob } from '../shared/periodic.js'
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

/** The sweep every `intervalMs` in this replica, with the purge of expired idempotency keys. */
export function startExpirySweeper (app: Pick<FastifyInstance, 'db' | 'clock' | 'log'>, intervalMs: number): PeriodicJob {
  return startPeriodic('expiry-sweep', intervalMs, app.log, async () => {
    const expired = await sweepExpired(app)
    const purged = await purgeExpiredKeys(app, app.clock.now())
    if (expired + purged > 0) app.log.info({ expired, purgedIdempotencyKeys: purged }, 'expiry sweep')
  })
}
