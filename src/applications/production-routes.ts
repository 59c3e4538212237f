// After payment: the bureau's warranty decisions and production stages, and the pickup station's handover.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { and, eq, ne, sql } from 'drizzle-orm'
import { Type } from 'typebox'
import { auditActorOf, recordAudit } from '../audit/record.js'
import { rowsOf, type Executor } from '../db/client.js'
import { cards } from '../db/schema.js'
import { shanghaiDate } from '../domain/calendar.js'
import { effectiveState } from '../domain/lifecycle.js'
import { checkMove, MOVABLE_TO } from '../domain/stages.js'
import { pickLocale, renderEvent } from '../domain/timeline-messages.js'
import { createHoldersRepository } from '../holders/repository.js'
import { queueSms } from '../notifications/outbox.js'
import { principalOf } from '../plugins/auth.js'
import { ProblemError, validationProblem } from '../shared/problem.js'
import { AUTHENTICATED, bearerSecurity, errorResponses, JSON_BODY } from '../shared/schemas.js'
import { applicationNotFound, maySee } from './access.js'
import { appendEvent, bumpVersion, loadApplication, type ApplicationRecord } from './repository.js'
import { ApplicationParamsSchema, ApplicationSchema, etagOf, messageValues, toApplicationView } from './schemas.js'

const StageMoveSchema = Type.Object({
  to: Type.Enum(MOVABLE_TO, { description: 'IN_PRODUCTION and READY_FOR_PICKUP (bureau, admin); COLLECTED (the pickup station\'s staff)' }),
  note: Type.Optional(Type.String({ maxLength: 500, description: 'Kept in the audit trail' }))
}, { additionalProperties: false })

const WarrantyDecisionSchema = Type.Object({
  approve: Type.Boolean({ description: 'true approves (to IN_PRODUCTION), false rejects (closed, REJECTED)' }),
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500, pattern: '\\S', description: 'Why; required when rejecting, shown to the holder' }))
}, { additionalProperties: false })

async function issueNewCard (tx: Executor, record: ApplicationRecord, today: string, now: Date): Promise<void> {
  const a = record.application
  // Deactivate first: a holder has one current card, and the index holds us to it.
  await tx.update(cards).set({ status: 'DEACTIVATED', deactivatedAt: now }).where(and(eq(cards.holderId, a.holderId), ne(cards.status, 'DEACTIVATED')))
  const [row] = rowsOf<{ value: string }>(await tx.execute(sql`select nextval('card_number_seq')::text as value`))
  await tx.insert(cards).values({
    holderId: a.holderId, cardNumber: `Y${row!.value.padStart(8, '0')}`, issuedAt: today, status: 'ACTIVE', photoId: a.photoId, createdAt: now
  })
}

const productionRoutes: FastifyPluginAsyncTypebox = async function productionRoutes (app) {
  const holders = createHoldersRepository(app.pii)

  app.post('/v1/applications/:applicationId/stage', {
    onRequest: app.authorize(['station_staff', 'bureau_staff', 'admin']),
    schema: {
      tags: ['station'],
      operationId: 'moveApplicationStage',
      summary: 'Move an application to its next stage',
      description: 'Bureau or admin move PAID → IN_PRODUCTION → READY_FOR_PICKUP; the pickup station\'s staff record COLLECTED after ' +
        'checking the person, which closes the application (COMPLETED), makes the new card current (new issue date) and deactivates ' +
        'the old one. READY_FOR_PICKUP queues an SMS to the holder naming the station and its address. Any other move is 409 naming ' +
        'the current stage. `If-Match` with the application\'s ETag is required (428 without, 412 when stale). Audited.',
      security: bearerSecurity,
      params: ApplicationParamsSchema,
      headers: Type.Object({ 'if-match': Type.Optional(Type.String({ description: 'The ETag from GET /v1/applications/{applicationId}' })) }),
      body: StageMoveSchema,
      response: {
        200: { ...ApplicationSchema, description: 'The application after the move' },
        ...errorResponses(...AUTHENTICATED, ...JSON_BODY, 404, 409, 412, 428)
      }
    }
  }, async (request, reply) => {
    const principal = principalOf(request)
    const ifMatch = request.headers['if-match']
    if (ifMatch === undefined) throw new ProblemError(428, 'IF_MATCH_REQUIRED', 'Precondition required', { detail: 'Send If-Match with the application\'s current ETag' })
    const now = app.clock.now()
    const actor = auditActorOf(request)
    const { to, note } = request.body
    const record = await app.db.transaction(async (tx) => {
      const current = await loadApplication(tx, request.params.applicationId, { forUpdate: true })
      if (current === null || !maySee(principal, current, null)) throw applicationNotFound()
      const etag = etagOf(current, now)
      if (ifMatch !== etag && ifMatch !== '*') {
        throw new ProblemError(412, 'ETAG_MISMATCH', 'Precondition failed', { detail: 'The application changed since you read it; read it again', headers: { etag } })
      }
      const a = current.application
      const stage = effectiveState({ status: a.status, stage: a.stage, outcome: a.outcome, expiresAt: a.expiresAt, paymentStatus: current.payment?.status ?? null }, now).stage
      const verdict = checkMove(stage, to, principal.role)
      if (!verdict.ok && verdict.reason === 'NOT_ALLOWED') {
        throw new ProblemError(409, 'STAGE_MOVE_NOT_ALLOWED', 'Stage move not allowed', { detail: `The application is ${stage}; it cannot move to ${to}`, extensions: { stage, to } })
      }
      if (!verdict.ok || (principal.role === 'station_staff' && a.pickupStationId !== principal.stationId)) {
        throw new ProblemError(403, 'FORBIDDEN_ROLE', 'Forbidden', { detail: to === 'COLLECTED' ? 'Only the pickup station\'s staff record the handover' : 'Production stages are moved by the bureau' })
      }
      if (to === 'COLLECTED') {
        await bumpVersion(tx, a.id, { status: 'CLOSED', stage: 'COLLECTED', outcome: 'COMPLETED', closedAt: now }, now)
        await issueNewCard(tx, current, shanghaiDate(now), now)
      } else {
        await bumpVersion(tx, a.id, { stage: to }, now)
      }
      await appendEvent(tx, a.id, to, now, note === undefined ? {} : { note })
      if (to === 'READY_FOR_PICKUP') {
        const holder = await holders.findById(tx, a.holderId)
        const context = { applicationType: a.type, paymentStatus: current.payment?.status ?? null, stage: to }
        const text = renderEvent('READY_FOR_PICKUP', context, messageValues(current, {}), 'zh-CN')
        await queueSms(tx, app.pii, { applicationId: a.id, kind: 'READY_FOR_PICKUP', phone: holder!.phone, message: `【优抚卡】${text.message}` }, now)
      }
      await recordAudit(tx, actor, now, { action: 'STAGE_CHANGED', targetType: 'application', targetId: a.id, before: { stage }, after: { stage: to, note: note ?? null } })
      return (await loadApplication(tx, a.id))!
    })
    return reply.header('etag', etagOf(record, now)).send(toApplicationView(record, now, app.paymentPlatform, pickLocale(request.headers['accept-language'])))
  })

  app.post('/v1/applications/:applicationId/warranty-decision', {
    onRequest: app.authorize(['bureau_staff', 'admin']),
    schema: {
      tags: ['station'],
      operationId: 'decideWarranty',
      summary: 'Approve or reject a warranty replacement',
      description: 'The city bureau decides a free warranty replacement (质保期换卡) that a station submitted: approval moves it to ' +
        'IN_PRODUCTION (events WARRANTY_APPROVED and IN_PRODUCTION); rejection closes it as REJECTED with the reason shown to the ' +
        'holder. Only once, only for a WARRANTY application awaiting approval (409 otherwise). Audited.',
      security: bearerSecurity,
      params: ApplicationParamsSchema,
      body: WarrantyDecisionSchema,
      response: {
        200: { ...ApplicationSchema, description: 'The application after the decision' },
        ...errorResponses(...AUTHENTICATED, ...JSON_BODY, 404, 409)
      }
    }
  }, async (request, reply) => {
    const { approve, reason } = request.body
    if (!approve && reason === undefined) throw validationProblem([{ pointer: '/reason', in: 'body', message: 'is required when rejecting' }])
    const now = app.clock.now()
    const actor = auditActorOf(request)
    const record = await app.db.transaction(async (tx) => {
      const current = await loadApplication(tx, request.params.applicationId, { forUpdate: true })
      if (current === null) throw applicationNotFound()
      const a = current.application
      if (a.type !== 'WARRANTY' || a.stage !== 'AWAITING_APPROVAL') {
        throw new ProblemError(409, 'WARRANTY_DECISION_NOT_ALLOWED', 'No decision pending', {
          detail: `Only a WARRANTY application awaiting approval can be decided; this one is a ${a.type} at ${a.stage}`, extensions: { stage: a.stage }
        })
      }
      if (approve) {
        await bumpVersion(tx, a.id, { stage: 'IN_PRODUCTION' }, now)
        await appendEvent(tx, a.id, 'WARRANTY_APPROVED', now)
        await appendEvent(tx, a.id, 'IN_PRODUCTION', now)
      } else {
        await bumpVersion(tx, a.id, { status: 'CLOSED', stage: 'REJECTED', outcome: 'REJECTED', closedAt: now }, now)
        await appendEvent(tx, a.id, 'WARRANTY_REJECTED', now, { reason })
      }
      await recordAudit(tx, actor, now, {
        action: approve ? 'WARRANTY_APPROVED' : 'WARRANTY_REJECTED', targetType: 'application', targetId: a.id,
        before: { stage: a.stage }, after: { stage: approve ? 'IN_PRODUCTION' : 'REJECTED', reason: reason ?? null }
      })
      return (await loadApplication(tx, a.id))!
    })
    return reply.header('etag', etagOf(record, now)).send(toApplicationView(record, now, app.paymentPlatform, pickLocale(request.headers['accept-language'])))
  })
}

export default productionRoutes
