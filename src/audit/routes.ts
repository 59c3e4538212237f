// GET /v1/audit-events: the audit trail for the bureau and operators, filtered and cursor-paginated.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm'
import { Type } from 'typebox'
import { auditEvents } from '../db/schema.js'
import { decodeCursor, encodeCursor } from '../shared/cursor.js'
import { validationProblem } from '../shared/problem.js'
import { AUTHENTICATED, bearerSecurity, DEFAULT_PAGE_SIZE, errorResponses, InstantSchema, pageOf, PaginationQuerySchema } from '../shared/schemas.js'

const AuditEventSchema = Type.Object({
  id: Type.String({ description: 'Sequence number; newer events have larger ids' }),
  occurredAt: InstantSchema,
  actor: Type.Object({
    id: Type.String({ description: 'Token subject of who acted' }),
    role: Type.String({ description: 'Their role' }),
    stationId: Type.Union([Type.String(), Type.Null()], { description: 'Their station, for station staff' })
  }, { additionalProperties: false, description: 'Who acted' }),
  action: Type.String({ description: 'What was done, e.g. HOLDER_VIEWED, HOLDER_INFO_CHANGED, STAGE_CHANGED' }),
  target: Type.Object({
    type: Type.String({ description: 'holder, application, station or job' }),
    id: Type.String({ description: 'Its id' })
  }, { additionalProperties: false, description: 'What it was done to' }),
  before: Type.Unknown({ description: 'State before (personal values masked)' }),
  after: Type.Unknown({ description: 'State after (personal values masked)' }),
  requestId: Type.Union([Type.String(), Type.Null()], { description: 'The request that did it (X-Request-Id)' })
}, { additionalProperties: false })

const AuditQuerySchema = Type.Object({
  actorId: Type.Optional(Type.String({ maxLength: 200, description: 'Only this actor' })),
  targetType: Type.Optional(Type.String({ maxLength: 50, description: 'Only targets of this type' })),
  targetId: Type.Optional(Type.String({ maxLength: 100, description: 'Only this target' })),
  action: Type.Optional(Type.String({ maxLength: 50, description: 'Only this action' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'From this instant (inclusive)' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Until this instant (exclusive)' })),
  ...PaginationQuerySchema
})

const isIdCursor = (value: unknown): value is { id: number } =>
  typeof value === 'object' && value !== null && Number.isSafeInteger((value as { id?: unknown }).id)

const auditRoutes: FastifyPluginAsyncTypebox = async function auditRoutes (app) {
  app.get('/v1/audit-events', {
    onRequest: app.authorize(['bureau_staff', 'admin']),
    schema: {
      tags: ['audit'],
      operationId: 'listAuditEvents',
      summary: 'The audit trail',
      description: 'Every staff, bureau and admin change and every staff look-up of a person, newest first; filter by actor, target, ' +
        'action and time range. Rows are written in the same transaction as what they record, and the database refuses to change ' +
        'or delete them.',
      security: bearerSecurity,
      querystring: AuditQuerySchema,
      response: {
        200: { ...pageOf(AuditEventSchema, 'Audit events, newest first'), description: 'A page of the audit trail' },
        ...errorResponses(...AUTHENTICATED, 400)
      }
    }
  }, async (request) => {
    const q = request.query
    if (q.from !== undefined && q.to !== undefined && Date.parse(q.from) > Date.parse(q.to)) {
      throw validationProblem([{ pointer: '/from', in: 'query', message: 'must not be after to' }])
    }
    const limit = q.limit ?? DEFAULT_PAGE_SIZE
    const after = decodeCursor(q.cursor, isIdCursor)
    const conditions: SQL[] = []
    if (q.actorId !== undefined) conditions.push(eq(auditEvents.actorId, q.actorId))
    if (q.targetType !== undefined) conditions.push(eq(auditEvents.targetType, q.targetType))
    if (q.targetId !== undefined) conditions.push(eq(auditEvents.targetId, q.targetId))
    if (q.action !== undefined) conditions.push(eq(auditEvents.action, q.action))
    if (q.from !== undefined) conditions.push(gte(auditEvents.occurredAt, new Date(q.from)))
    if (q.to !== undefined) conditions.push(lt(auditEvents.occurredAt, new Date(q.to)))
    if (after !== undefined) conditions.push(lt(auditEvents.id, after.id))
    const rows = await app.db.select().from(auditEvents).where(conditions.length > 0 ? and(...conditions) : undefined)
      .orderBy(desc(auditEvents.id)).limit(limit + 1)
    const page = rows.slice(0, limit)
    return {
      items: page.map((r) => ({
        id: String(r.id),
        occurredAt: r.occurredAt.toISOString(),
        actor: { id: r.actorId, role: r.actorRole, stationId: r.actorStationId },
        action: r.action,
        target: { type: r.targetType, id: r.targetId },
        before: r.before,
        after: r.after,
        requestId: r.requestId
      })),
      nextCursor: rows.length > limit ? encodeCursor({ id: page.at(-1)!.id }) : null
    }
  })
}

export default auditRoutes
