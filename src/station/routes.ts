// The station counter (网点代办): staff apply for any type on a holder's behalf and list their station's cases.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { and, eq, or, type SQL } from 'drizzle-orm'
import { Type } from 'typebox'
import { appendEvent, listApplications } from '../applications/repository.js'
import { ApplicationSchema, etagOf, toApplicationView } from '../applications/schemas.js'
import { submitApplication, submitInTransaction } from '../applications/submit.js'
import { auditActorOf, recordAudit } from '../audit/record.js'
import { applications } from '../db/schema.js'
import { shanghaiDate } from '../domain/calendar.js'
import { planInfoChange } from '../domain/info-change.js'
import { pickLocale } from '../domain/timeline-messages.js'
import { checkWarranty } from '../domain/warranty.js'
import { assertValidIdentity } from '../holders/routes.js'
import { createHoldersRepository } from '../holders/repository.js'
import { principalOf } from '../plugins/auth.js'
import { notFound, ProblemError, validationProblem, type FieldError } from '../shared/problem.js'
import { AUTHENTICATED, bearerSecurity, DEFAULT_PAGE_SIZE, errorResponses, JSON_BODY, pageOf } from '../shared/schemas.js'
import { effectiveStageIs, pageOfRecords, pageRequest } from '../applications/pagination.js'
import { CounterApplicationSchema, StationListQuerySchema, type CounterApplication } from './schemas.js'

/** Which details go with which type: INFO_CHANGE needs changes and evidence, WARRANTY a damage assessment, others neither. */
function checkDetails (body: CounterApplication): void {
  const errors: FieldError[] = []
  const expect = (field: 'changes' | 'evidence' | 'damage', wanted: boolean) => {
    const present = body[field] !== undefined
    if (wanted && !present) errors.push({ pointer: `/${field}`, in: 'body', message: `is required for ${body.type}` })
    if (!wanted && present) errors.push({ pointer: `/${field}`, in: 'body', message: `is only for ${field === 'damage' ? 'WARRANTY' : 'INFO_CHANGE'}` })
  }
  expect('changes', body.type === 'INFO_CHANGE')
  expect('evidence', body.type === 'INFO_CHANGE')
  expect('damage', body.type === 'WARRANTY')
  if (errors.length > 0) throw validationProblem(errors)
}

const stationRoutes: FastifyPluginAsyncTypebox = async function stationCounterRoutes (app) {
  const holders = createHoldersRepository(app.pii)

  app.post('/v1/station/applications', {
    onRequest: app.authorize(['station_staff']),
    config: { idempotent: true },
    schema: {
      tags: ['station'],
      operationId: 'createCounterApplication',
      summary: 'Apply at the counter (网点代办)',
      description: 'Station staff apply for a registered holder, any type. The pickup station defaults to the staff member\'s own. ' +
        'INFO_CHANGE carries `changes` and `evidence`: the holder record changes in the same transaction, each field\'s before and ' +
        'after (masked) goes to the audit trail and the timeline gets INFO_CHANGED; a change colliding with another holder\'s ' +
        'identity is 409 and nothing is written. WARRANTY carries `damage`: eligible only within one year of the card\'s issue and ' +
        'for damage not caused by a person (422 WARRANTY_NOT_ELIGIBLE otherwise); it is free and awaits the bureau\'s approval. ' +
        'Paid types get a payment code with the same-day deadline. Same one-in-progress rule and Idempotency-Key as self-service.',
      security: bearerSecurity,
      headers: Type.Object({
        'idempotency-key': Type.Optional(Type.String({ description: 'Makes retries safe: 1 to 255 visible ASCII characters, kept 24 hours' }))
      }),
      body: CounterApplicationSchema,
      response: {
        201: { ...ApplicationSchema, description: 'The application' },
        ...errorResponses(...AUTHENTICATED, ...JSON_BODY, 404, 409, 422)
      }
    }
  }, async (request, reply) => {
    const principal = principalOf(request)
    if (principal.role !== 'station_staff') throw new Error('unreachable: route admits station staff only')
    const body = request.body
    checkDetails(body)
    if (!body.oldCardConfirmed) {
      throw new ProblemError(422, 'OLD_CARD_NOT_CONFIRMED', 'Old card not confirmed', { detail: 'Check and confirm the old card (旧卡信息确认)' })
    }
    const now = app.clock.now()
    const today = shanghaiDate(now)
    const actor = auditActorOf(request)
    const record = await submitInTransaction(app, body.holderId, async (tx) => {
      await holders.lock(tx, body.holderId)
      const holder = await holders.findById(tx, body.holderId)
      if (holder === null) throw notFound('HOLDER_NOT_FOUND', 'No holder with this id')
      await recordAudit(tx, actor, now, { action: 'HOLDER_VIEWED', targetType: 'holder', targetId: holder.id })

      const details: Record<string, unknown> = {}
      if (body.type === 'WARRANTY') {
        if (holder.card === null) throw new ProblemError(422, 'NO_CURRENT_CARD', 'No current card', { detail: 'The holder has no card on file' })
        const verdict = checkWarranty(holder.card.issuedAt, today, body.damage!.causes)
        if (!verdict.eligible) {
          throw new ProblemError(422, 'WARRANTY_NOT_ELIGIBLE', 'Not eligible for a warranty replacement', {
            detail: verdict.detail, extensions: { reason: verdict.reason, warrantyEndsOn: verdict.warrantyEndsOn, humanCauses: verdict.humanCauses }
          })
        }
        details.damage = body.damage
      }
      let plan: ReturnType<typeof planInfoChange> | undefined
      if (body.type === 'INFO_CHANGE') {
        plan = planInfoChange({ identity: holder.identity, phone: holder.phone }, body.changes!)
        assertValidIdentity(plan.next.identity, today, (field) => field === 'name' ? '/changes/name' : `/changes/identity/${field}`)
        if (plan.changes.length === 0) {
          throw validationProblem([{ pointer: '/changes', in: 'body', message: 'changes nothing: every value equals the current one' }])
        }
        const evidence = body.evidence!
        details.evidence = { documentType: evidence.documentType, documentNumberEnc: app.pii.encrypt(evidence.documentNumber), note: evidence.note ?? null }
        details.changedFields = plan.changes.map((c) => c.field)
      }

      const submitted = await submitApplication(tx, {
        holderId: holder.id,
        type: body.type,
        channel: 'STATION',
        pickupStationId: body.pickupStationId ?? principal.stationId,
        createdByStationId: principal.stationId,
        photo: body.photo,
        uploader: `${principal.role}:${principal.subject}`,
        details
      }, { platform: app.paymentPlatform, feesFen: app.config.feesFen, now })

      if (plan !== undefined) {
        await holders.update(tx, holder.id, plan.next, now)
        await appendEvent(tx, submitted.application.id, 'INFO_CHANGED', now, { fields: plan.changes.map((c) => c.field) })
        await recordAudit(tx, actor, now, {
          action: 'HOLDER_INFO_CHANGED', targetType: 'holder', targetId: holder.id,
          before: Object.fromEntries(plan.changes.map((c) => [c.field, c.before])),
          after: { ...Object.fromEntries(plan.changes.map((c) => [c.field, c.after])), applicationId: submitted.application.id, evidenceType: body.evidence!.documentType }
        })
      }
      await recordAudit(tx, actor, now, {
        action: 'APPLICATION_CREATED', targetType: 'application', targetId: submitted.application.id,
        after: { type: body.type, channel: 'STATION', stage: submitted.application.stage, pickupStationId: submitted.application.pickupStationId }
      })
      return submitted
    })
    return reply.code(201).header('location', `/v1/applications/${record.application.id}`).header('etag', etagOf(record, now))
      .send(toApplicationView(record, now, app.paymentPlatform, pickLocale(request.headers['accept-language'])))
  })

  app.get('/v1/station/applications', {
    onRequest: app.authorize(['station_staff']),
    schema: {
      tags: ['station'],
      operationId: 'listStationApplications',
      summary: 'My station\'s applications',
      description: 'Applications picked up at or created by the staff member\'s station, newest first, optionally by stage; cursor paginated.',
      security: bearerSecurity,
      querystring: StationListQuerySchema,
      response: {
        200: { ...pageOf(ApplicationSchema, 'Applications, newest first'), description: 'A page of applications' },
        ...errorResponses(...AUTHENTICATED, 400)
      }
    }
  }, async (request) => {
    const principal = principalOf(request)
    if (principal.role !== 'station_staff') throw new Error('unreachable: route admits station staff only')
    const limit = request.query.limit ?? DEFAULT_PAGE_SIZE
    const now = app.clock.now()
    const scope = or(eq(applications.pickupStationId, principal.stationId), eq(applications.createdByStationId, principal.stationId))!
    const where: SQL = request.query.stage === undefined ? scope : and(scope, effectiveStageIs(request.query.stage, now))!
    const rows = await listApplications(app.db, where, pageRequest(limit, request.query.cursor))
    const locale = pickLocale(request.headers['accept-language'])
    return pageOfRecords(rows, limit, (r) => toApplicationView(r, now, app.paymentPlatform, locale))
  })
}

export default stationRoutes
