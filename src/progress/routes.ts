// POST /v1/progress-queries (制卡进度查询, attachment 2): a holder's applications and timelines, by identity.
import { timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { eq, inArray } from 'drizzle-orm'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { listApplications, type ApplicationRecord } from '../applications/repository.js'
import { ApplicationSchema, TimelineEventSchema, toApplicationView, toTimeline } from '../applications/schemas.js'
import { auditActorOf, recordAudit } from '../audit/record.js'
import { applications, timelineEvents } from '../db/schema.js'
import { shanghaiDate } from '../domain/calendar.js'
import { identityLookupKey, normalizeIdentity } from '../domain/identity.js'
import { maskIdNumber, maskName } from '../domain/masking.js'
import { pickLocale } from '../domain/timeline-messages.js'
import { assertValidIdentity } from '../holders/routes.js'
import { createHoldersRepository } from '../holders/repository.js'
import { principalOf } from '../plugins/auth.js'
import { ProblemError } from '../shared/problem.js'
import { AUTHENTICATED, bearerSecurity, errorResponses, IdentitySchema, JSON_BODY, MaskedIdentitySchema } from '../shared/schemas.js'

/** More than a person ever has; the answer is bounded whatever the history. */
export const PROGRESS_MAX_APPLICATIONS = 50
// Never a real holder: the not-found path runs the same queries as the found one.
const NO_HOLDER = '00000000-0000-0000-0000-000000000000'

const ProgressSchema = Type.Object({
  holder: { ...MaskedIdentitySchema, description: 'The identity queried, masked as the app shows it' },
  applications: Type.Array(Type.Object({
    ...ApplicationSchema.properties,
    timeline: Type.Array(TimelineEventSchema, { description: 'Oldest first' })
  }, { additionalProperties: false }), { description: 'Newest first (at most 50); empty when nothing matches the identity' })
}, { additionalProperties: false })

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const progressRoutes: FastifyPluginAsyncTypebox = async function progressRoutes (app) {
  const holders = createHoldersRepository(app.pii)
  const { perToken, perIp, windowMs } = app.config.progressQueryLimit
  const byAddress = app.createRateLimit({ max: perIp, timeWindow: windowMs, keyGenerator: (request: FastifyRequest) => `ip:${request.ip}` })
  const byToken = app.createRateLimit({
    max: perToken, timeWindow: windowMs,
    keyGenerator: (request: FastifyRequest) => { const p = principalOf(request); return `token:${p.role}:${p.subject}` }
  })

  app.post('/v1/progress-queries', {
    onRequest: app.authorize(['citizen', 'station_staff', 'bureau_staff', 'admin']),
    preHandler: async (request) => {
      for (const limiter of [byAddress, byToken]) {
        const verdict = await limiter(request)
        if (!verdict.isAllowed && verdict.isExceeded) {
          throw new ProblemError(429, 'RATE_LIMITED', 'Too many requests', {
            detail: 'Too many progress queries; retry later', headers: { 'retry-after': String(Math.max(1, verdict.ttlInSeconds)) }
          })
        }
      }
    },
    schema: {
      tags: ['progress'],
      operationId: 'queryProgress',
      summary: 'Card production progress (制卡进度查询)',
      description: 'By the identity quadruple, in the body (never in the URL). A citizen may query only their own identity (the app ' +
        'fills it in; another is 403); station and bureau staff may query anyone, and each staff query is audited. An identity with ' +
        'no record, or whose name does not match, answers like a person with no applications. Each application comes with its ' +
        'timeline; an unpaid one past its deadline is never in progress. Rate limited per token and per client address (429 with ' +
        'Retry-After).',
      security: bearerSecurity,
      body: IdentitySchema,
      response: {
        200: { ...ProgressSchema, description: 'The holder (masked) and their applications' },
        ...errorResponses(...AUTHENTICATED, ...JSON_BODY, 429)
      }
    }
  }, async (request) => {
    const principal = principalOf(request)
    const now = app.clock.now()
    const identity = normalizeIdentity(request.body)
    assertValidIdentity(identity, shanghaiDate(now), '')
    if (principal.role === 'citizen' && identityLookupKey(normalizeIdentity(principal.identity)) !== identityLookupKey(identity)) {
      throw new ProblemError(403, 'NOT_OWN_IDENTITY', 'Forbidden', { detail: 'A citizen may query only their own identity' })
    }
    const locale = pickLocale(request.headers['accept-language'])

    const result = await app.db.transaction(async (tx) => {
      const holder = await holders.findByIdentity(tx, identity)
      const matches = holder !== null && sameText(holder.identity.name, identity.name)
      const records: ApplicationRecord[] = await listApplications(tx, eq(applications.holderId, matches ? holder.id : NO_HOLDER), { limit: PROGRESS_MAX_APPLICATIONS })
      const ids = records.map((r) => r.application.id)
      const events = await tx.select().from(timelineEvents)
        .where(inArray(timelineEvents.applicationId, ids.length > 0 ? ids : [NO_HOLDER])).orderBy(timelineEvents.occurredAt, timelineEvents.id)
      if (principal.role !== 'citizen') {
        await recordAudit(tx, auditActorOf(request), now, {
          action: 'PROGRESS_QUERIED',
          // The keyed hash names whom was asked about without keeping the ID number.
          targetType: matches ? 'holder' : 'identity',
          targetId: matches ? holder.id : app.pii.hash(identityLookupKey(identity)),
          after: { found: matches, applications: records.length }
        })
      }
      return { records, events }
    })

    return {
      holder: {
        countryRegion: identity.countryRegion,
        idType: identity.idType,
        idNumberMasked: maskIdNumber(identity.idNumber),
        nameMasked: maskName(identity.name)
      },
      applications: result.records.map((record) => ({
        ...toApplicationView(record, now, app.paymentPlatform, locale),
        timeline: toTimeline(record, result.events.filter((e) => e.applicationId === record.application.id), now, locale)
      }))
    }
  })
}

export default progressRoutes
