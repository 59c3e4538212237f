// Citizen self-service (本人办理, attachment 1) and the reads every role shares: one application, its timeline.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { eq } from 'drizzle-orm'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { applications, payments as paymentsTable } from '../db/schema.js'
import { isPastDeadline, SELF_SERVICE_TYPES } from '../domain/lifecycle.js'
import { pickLocale } from '../domain/timeline-messages.js'
import { createHoldersRepository } from '../holders/repository.js'
import { principalOf } from '../plugins/auth.js'
import { notFound, ProblemError } from '../shared/problem.js'
import { AUTHENTICATED, bearerSecurity, DEFAULT_PAGE_SIZE, errorResponses, JSON_BODY, pageOf } from '../shared/schemas.js'
import type { Db } from '../db/client.js'
import { applicationNotFound, citizenHolder, loadVisibleApplication } from './access.js'
import { pageOfRecords, pageRequest } from './pagination.js'
import { appendEvent, bumpVersion, findInProgress, listApplications, loadApplication, timelineOf, type ApplicationRecord } from './repository.js'
import {
  ApplicationParamsSchema, ApplicationSchema, CreateApplicationSchema, etagOf, ListQuerySchema, TimelineSchema, toApplicationView, toTimeline
} from './schemas.js'
import { submitApplication, submitInTransaction } from './submit.js'

const ALL_ROLES = ['citizen', 'station_staff', 'bureau_staff', 'admin'] as const

const applicationRoutes: FastifyPluginAsyncTypebox = async function applicationRoutes (app) {
  const holders = createHoldersRepository(app.pii)
  const view = (record: ApplicationRecord, request: FastifyRequest) =>
    toApplicationView(record, app.clock.now(), app.paymentPlatform, pickLocale(request.headers['accept-language']))

  const visibleApplication = (db: Db, request: FastifyRequest, id: string) => loadVisibleApplication(db, holders, principalOf(request), id)

  app.post('/v1/applications', {
    onRequest: app.authorize(['citizen']),
    config: { idempotent: true },
    schema: {
      tags: ['applications'],
      operationId: 'submitApplication',
      summary: 'Apply for a replacement card (本人办理)',
      description: 'A holder applies in the app for a LOST (遗失补卡) or DAMAGED (损坏换卡) replacement. INFO_CHANGE and WARRANTY are ' +
        'station-only (422 STATION_ONLY_TYPE). The old card must be confirmed; the pickup station must be active; the photo is the ' +
        'card\'s or an upload. LOST reports the old card lost at once. The answer holds the payment code and its deadline, the next ' +
        'midnight in Asia/Shanghai. A holder has at most one application in progress (409 with its id). Honours Idempotency-Key: ' +
        'the same key and body replays the first answer, another body is 422, a retry while the first runs is 409.',
      security: bearerSecurity,
      headers: Type.Object({
        'idempotency-key': Type.Optional(Type.String({ description: 'Makes retries safe: 1 to 255 visible ASCII characters, kept 24 hours' }))
      }),
      body: CreateApplicationSchema,
      response: {
        201: { ...ApplicationSchema, description: 'The application, with its payment code' },
        ...errorResponses(...AUTHENTICATED, ...JSON_BODY, 404, 409, 422)
      }
    }
  }, async (request, reply) => {
    const principal = principalOf(request)
    const body = request.body
    if (!SELF_SERVICE_TYPES.includes(body.type)) {
      throw new ProblemError(422, 'STATION_ONLY_TYPE', 'Apply at a service station', {
        detail: '信息变更换卡和质保期换卡须前往退役军人服务站办理 (information changes and warranty replacements are handled at a veterans service station)'
      })
    }
    if (!body.oldCardConfirmed) {
      throw new ProblemError(422, 'OLD_CARD_NOT_CONFIRMED', 'Old card not confirmed', { detail: 'Confirm the old card (旧卡信息确认) to apply' })
    }
    const holder = await citizenHolder(app.db, holders, principal)
    const record = await submitInTransaction(app, holder.id, (tx) => submitApplication(tx, {
      holderId: holder.id,
      type: body.type,
      channel: 'SELF',
      pickupStationId: body.pickupStationId,
      createdByStationId: null,
      photo: body.photo,
      uploader: `${principal.role}:${principal.subject}`
    }, { platform: app.paymentPlatform, feesFen: app.config.feesFen, now: app.clock.now() }))
    return reply.code(201).header('location', `/v1/applications/${record.application.id}`)
      .header('etag', etagOf(record, app.clock.now())).send(view(record, request))
  })

  app.get('/v1/me/applications', {
    onRequest: app.authorize(['citizen']),
    schema: {
      tags: ['applications'],
      operationId: 'listMyApplications',
      summary: 'My applications',
      description: 'The signed-in holder\'s applications, newest first, cursor paginated.',
      security: bearerSecurity,
      querystring: ListQuerySchema,
      response: {
        200: { ...pageOf(ApplicationSchema, 'Applications, newest first'), description: 'A page of applications' },
        ...errorResponses(...AUTHENTICATED, 400, 404)
      }
    }
  }, async (request) => {
    const holder = await citizenHolder(app.db, holders, principalOf(request))
    const limit = request.query.limit ?? DEFAULT_PAGE_SIZE
    const rows = await listApplications(app.db, eq(applications.holderId, holder.id), pageRequest(limit, request.query.cursor))
    return pageOfRecords(rows, limit, (r) => view(r, request))
  })

  app.get('/v1/me/applications/current', {
    onRequest: app.authorize(['citizen']),
    schema: {
      tags: ['applications'],
      operationId: 'getMyCurrentApplication',
      summary: 'My application in progress',
      description: 'What the app shows when the holder re-enters the replacement page (再次进入补换卡页面会提示其进行支付): the application ' +
        'in progress with its payment code, amount, deadline and the prompt to pay. 404 NO_APPLICATION_IN_PROGRESS when there is none; ' +
        'an unpaid application past its deadline is never in progress.',
      security: bearerSecurity,
      response: {
        200: { ...ApplicationSchema, description: 'The application in progress' },
        ...errorResponses(...AUTHENTICATED, 404)
      }
    }
  }, async (request, reply) => {
    const holder = await citizenHolder(app.db, holders, principalOf(request))
    const record = await findInProgress(app.db, holder.id)
    const now = app.clock.now()
    if (record === null || isPastDeadline(record.application, now)) {
      throw notFound('NO_APPLICATION_IN_PROGRESS', 'You have no application in progress')
    }
    return reply.header('etag', etagOf(record, now)).send(view(record, request))
  })

  app.get('/v1/applications/:applicationId', {
    onRequest: app.authorize(ALL_ROLES),
    schema: {
      tags: ['applications'],
      operationId: 'getApplication',
      summary: 'One application',
      description: 'For its holder, staff of its pickup or creating station, bureau and admin; 404 for anyone else. The ETag changes ' +
        'with every change of the application (use it as If-Match for stage moves).',
      security: bearerSecurity,
      params: ApplicationParamsSchema,
      response: {
        200: { ...ApplicationSchema, description: 'The application' },
        ...errorResponses(...AUTHENTICATED, 400, 404)
      }
    }
  }, async (request, reply) => {
    const record = await visibleApplication(app.db, request, request.params.applicationId)
    return reply.header('etag', etagOf(record, app.clock.now())).send(view(record, request))
  })

  app.get('/v1/applications/:applicationId/timeline', {
    onRequest: app.authorize(ALL_ROLES),
    schema: {
      tags: ['applications'],
      operationId: 'getApplicationTimeline',
      summary: 'The application\'s timeline (制卡进度)',
      description: 'Events oldest first, each with a time, title and message in zh-CN (default) or English (Accept-Language: en). ' +
        'While unpaid, 申领信息入库 carries the payment code in the words of the notice.',
      security: bearerSecurity,
      params: ApplicationParamsSchema,
      headers: Type.Object({ 'accept-language': Type.Optional(Type.String({ description: 'zh-CN (default) or en' })) }),
      response: {
        200: { ...TimelineSchema, description: 'The timeline' },
        ...errorResponses(...AUTHENTICATED, 400, 404)
      }
    }
  }, async (request) => {
    const record = await visibleApplication(app.db, request, request.params.applicationId)
    const events = await timelineOf(app.db, record.application.id)
    return { events: toTimeline(record, events, app.clock.now(), pickLocale(request.headers['accept-language'])) }
  })

  app.post('/v1/applications/:applicationId/cancel', {
    onRequest: app.authorize(['citizen']),
    schema: {
      tags: ['applications'],
      operationId: 'cancelApplication',
      summary: 'Cancel my unpaid application',
      description: 'Only the holder, only while unpaid and before the deadline (409 CANNOT_CANCEL otherwise). The payment code stops ' +
        'accepting payment and the timeline says so.',
      security: bearerSecurity,
      params: ApplicationParamsSchema,
      response: {
        200: { ...ApplicationSchema, description: 'The cancelled application' },
        ...errorResponses(...AUTHENTICATED, 400, 404, 409)
      }
    }
  }, async (request) => {
    const principal = principalOf(request)
    const now = app.clock.now()
    const record = await app.db.transaction(async (tx) => {
      const holder = await citizenHolder(tx, holders, principal)
      const current = await loadApplication(tx, request.params.applicationId, { forUpdate: true })
      if (current === null || current.application.holderId !== holder.id) throw applicationNotFound()
      const a = current.application
      if (a.status !== 'IN_PROGRESS' || a.stage !== 'AWAITING_PAYMENT' || isPastDeadline(a, now)) {
        const stage = isPastDeadline(a, now) ? 'EXPIRED_UNPAID' : a.stage
        throw new ProblemError(409, 'CANNOT_CANCEL', 'Cannot cancel', {
          detail: `Only an unpaid application can be cancelled; this one is ${stage}`, extensions: { stage }
        })
      }
      await bumpVersion(tx, a.id, { status: 'CLOSED', stage: 'CANCELLED', outcome: 'CANCELLED', closedAt: now }, now)
      if (current.payment !== null) await tx.update(paymentsTable).set({ status: 'EXPIRED', updatedAt: now }).where(eq(paymentsTable.id, current.payment.id))
      await appendEvent(tx, a.id, 'CANCELLED', now)
      return (await loadApplication(tx, a.id))!
    })
    return view(record, request)
  })
}

export default applicationRoutes
