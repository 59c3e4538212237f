// Liveness and readiness: ready means the database answers and every committed migration is applied.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { isMigrated } from '../db/migrate.js'
import { ProblemError } from '../shared/problem.js'
import { problemResponse } from '../shared/schemas.js'

const HealthSchema = Type.Object({
  status: Type.String({ description: '`ok` when alive, `ready` when ready to serve' }),
  database: Type.Optional(Type.String({ description: 'Which database: `postgres` or `embedded`' }))
}, { additionalProperties: false })

const healthRoutes: FastifyPluginAsyncTypebox = async function healthRoutes (app) {
  let migrated = false

  app.get('/health/live', {
    logLevel: 'warn',
    schema: {
      tags: ['operations'],
      operationId: 'getLiveness',
      summary: 'Liveness',
      security: [],
      description: 'Answers 200 while the process runs; does not touch the database.',
      response: { 200: HealthSchema }
    }
  }, async () => ({ status: 'ok' }))

  app.get('/health/ready', {
    logLevel: 'warn',
    schema: {
      tags: ['operations'],
      operationId: 'getReadiness',
      summary: 'Readiness',
      security: [],
      description: 'Answers 200 when the database is reachable and fully migrated, 503 problem+json otherwise. Load balancers route traffic by it.',
      response: { 200: HealthSchema, 503: problemResponse(503, 'The database is unreachable or not migrated') }
    }
  }, async () => {
    try {
      await app.database.ping()
    } catch (error) {
      throw new ProblemError(503, 'DATABASE_UNAVAILABLE', 'Service unavailable', { detail: 'The database is unreachable', headers: { 'retry-after': '5' }, cause: error })
    }
    // Migrations never go backwards, so once seen complete the check need not run again.
    migrated ||= await isMigrated(app.database)
    if (!migrated) throw new ProblemError(503, 'DATABASE_NOT_MIGRATED', 'Service unavailable', { detail: 'Database migrations are pending' })
    return { status: 'ready', database: app.database.kind }
  })
}

export default healthRoutes
