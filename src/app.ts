// The application factory: builds a ready Fastify instance from configuration and injected dependencies.
import { randomUUID } from 'node:crypto'
import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { Logger } from 'pino'
import type { AppConfig } from './config.js'
import { openDatabase, type Database } from './db/client.js'
import { runMigrations } from './db/migrate.js'
import { seedSampleData } from './db/seed.js'
import adminRoutes from './admin/routes.js'
import eventsRoute from './applications/events-route.js'
import productionRoutes from './applications/production-routes.js'
import timelineHubPlugin from './events/hub.js'
import progressRoutes from './progress/routes.js'
import applicationRoutes from './applications/routes.js'
import auditRoutes from './audit/routes.js'
import devRoutes from './dev/routes.js'
import healthRoutes from './health/routes.js'
import meRoutes from './holders/me-routes.js'
import holderRoutes from './holders/routes.js'
import reconciliationRoutes from './payments/reconciliation.js'
import paymentRoutes from './payments/routes.js'
import photoRoutes from './photos/routes.js'
import idempotencyPlugin from './plugins/idempotency.js'
import authPlugin from './plugins/auth.js'
import contextPlugin from './plugins/context.js'
import dbPlugin from './plugins/db.js'
import errorsPlugin, { sendProblem, toProblem } from './plugins/errors.js'
import metricsPlugin from './plugins/metrics.js'
import openapiPlugin from './plugins/openapi.js'
import { installValidators } from './plugins/validation.js'
import { createLocalPaymentPlatform, type PaymentPlatform } from './payments/platform.js'
import stationCounterRoutes from './station/routes.js'
import stationRoutes from './stations/routes.js'
import { systemClock, type Clock } from './shared/clock.js'
import { loggerOptions } from './shared/logging.js'
import { ProblemError } from './shared/problem.js'

export interface AppDeps {
  clock?: Clock
  /** An open database; when omitted the app opens one from the configuration and closes it on close. */
  database?: Database
  /** The payment platform adapter; default: codes issued locally from a database sequence. */
  paymentPlatform?: PaymentPlatform
  /** A pino logger (the server's), `false` for silence; default: JSON logs to stdout at LOG_LEVEL. */
  logger?: Logger | false
}

export type App = FastifyInstance

export const BODY_LIMIT_BYTES = 1024 * 1024

// A client-supplied id is kept when it is harmless, so a trace can span the gateway and this service.
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/
function requestIdOf (request: { headers: FastifyRequest['headers'] }): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

export async function buildApp (config: AppConfig, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock
  const logging: Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> = deps.logger === undefined
    ? { logger: loggerOptions(config.logLevel) }
    : deps.logger === false ? { logger: false } : { loggerInstance: deps.logger as FastifyBaseLogger }

  const app = Fastify({
    ...logging,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: config.trustProxy,
    genReqId: requestIdOf,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    routerOptions: { maxParamLength: 200 },
    // Errors raised before routing (bad percent-encoding, over-long parameters) get the same problem+json.
    frameworkErrors: (error, request, reply) => {
      const { problem, headers } = toProblem(error, request)
      return sendProblem(reply, problem, headers)
    }
  })
  installValidators(app)
  // Bodies are JSON (and, per route, images); Fastify's default text/plain parser would let text through to validation.
  app.removeContentTypeParser('text/plain')

  const database = deps.database ?? await openDatabase(config.database, app.log)
  try {
    if (config.migrateOnStart) await runMigrations(database)

    // Cross-cutting first: shared services and the error handler every later plugin relies on.
    await app.register(contextPlugin, { config, clock, paymentPlatform: deps.paymentPlatform ?? createLocalPaymentPlatform(config.paymentRegionCode) })
    await app.register(errorsPlugin)
    app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })

    // External plugins.
    await app.register(helmet, { global: true })
    if (config.corsOrigins.length > 0) {
      await app.register(cors, { origin: config.corsOrigins, exposedHeaders: ['X-Request-Id', 'ETag', 'Location', 'Retry-After'] })
    }
    await app.register(rateLimit, {
      global: false,
      errorResponseBuilder: (_request, context) => new ProblemError(429, 'RATE_LIMITED', 'Too many requests', {
        detail: `Rate limit reached; retry in ${context.after}`,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) }
      })
    })
    await app.register(openapiPlugin)
    await app.register(authPlugin, { jwt: config.jwt, clock })

    // Our own plugins.
    await app.register(dbPlugin, { database, owned: deps.database === undefined })
    await app.register(metricsPlugin, { token: config.metricsToken })
    await app.register(idempotencyPlugin)
    await app.register(timelineHubPlugin)

    // Routes.
    await app.register(healthRoutes)
    await app.register(stationRoutes)
    await app.register(holderRoutes)
    await app.register(meRoutes)
    await app.register(photoRoutes)
    await app.register(applicationRoutes)
    await app.register(paymentRoutes)
    await app.register(eventsRoute)
    await app.register(progressRoutes)
    await app.register(stationCounterRoutes)
    await app.register(productionRoutes)
    await app.register(auditRoutes)
    await app.register(reconciliationRoutes)
    await app.register(adminRoutes)
    await app.register(devRoutes, { enabled: config.devTokens })

    await app.ready()
    if (config.seedSampleData) {
      const seeded = await seedSampleData(database.db, app.pii, clock)
      if (seeded.stations + seeded.holders > 0) app.log.info(seeded, 'loaded sample data into the empty database')
    }
    return app
  } catch (error) {
    await app.close().catch(() => undefined)
    if (deps.database === undefined) await database.close().catch(() => undefined)
    throw error
  }
}
