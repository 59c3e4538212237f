// `npm run test:faults`: the service under faults, against its own PostgreSQL database.
//   a. the database connection is cut for ~3 s under load (a TCP proxy): 503s in the gap, recovery without restart;
//   b. one of two replicas is killed with SIGKILL with transactions half-way: nothing half-written, the survivor serves;
//   c. SIGTERM with requests in flight and a live stream: answers delivered, `event: close`, exit 0 within the grace.
// The services run on the real clock (no CLOCK_START): every process then reads the same time, so timelines written
// by two replicas are comparable to the millisecond.
import { log, runScript, section } from '../harness/checks.js'
import { createScriptDatabase } from '../harness/database.js'
import { newTally, random } from '../harness/flows.js'
import { credentials } from '../harness/identity.js'
import { checkDatabaseInvariants, checkNoDeadlocks, checkNotificationsStoredWithFaults } from '../harness/invariants.js'
import { baseServiceEnv, stopService, type Service } from '../harness/services.js'
import { systemClock } from '../../src/shared/clock.js'
import { databaseOutage, type FaultContext } from './outage.js'
import { killReplica } from './sigkill.js'
import { gracefulShutdown } from './sigterm.js'

const SEED = Number(process.env.FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31))

await runScript('faults', 170_000, async (checks, cleanup) => {
  section(`setup (seed ${SEED})`)
  const db = await createScriptDatabase('yufu_faults', cleanup)
  log(`database ${db.name}`)
  const env = baseServiceEnv(db.url)
  const ctx: FaultContext = { checks, cleanup, db, env, creds: credentials(env, systemClock), rng: random(SEED), tally: newTally() }

  const verify = async (after: string, services: Service[]) => {
    section(`database invariants after ${after}`)
    await checkNotificationsStoredWithFaults(checks, db, ctx.tally.notificationsAccepted, ctx.tally.notificationsSent)
    await checkDatabaseInvariants(checks, db, { regionCode: ctx.creds.config.paymentRegionCode, expiryCutoff: new Date(Date.now() - 3000), outboxSentWithinMs: services.length > 0 ? 5000 : 0 })
    for (const service of services) await stopService(service)
  }

  await verify('the outage', await databaseOutage(ctx))
  await verify('the SIGKILL', await killReplica(ctx))
  await verify('the SIGTERM', await gracefulShutdown(ctx))
  await checkNoDeadlocks(checks, db)
})
