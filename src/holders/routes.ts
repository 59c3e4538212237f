// Holder registry: bureau registers holders; staff look them up (every look-up is audited).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { recordAudit, auditActorOf } from '../audit/record.js'
import { shanghaiDate } from '../domain/calendar.js'
import { normalizeIdentity, validateIdentity } from '../domain/identity.js'
import { acceptCardPhoto } from '../photos/check.js'
import { isUniqueViolation } from '../shared/db-errors.js'
import { notFound, ProblemError, validationProblem } from '../shared/problem.js'
import { AUTHENTICATED, bearerSecurity, errorResponses, JSON_BODY } from '../shared/schemas.js'
import { createHoldersRepository } from './repository.js'
import { HolderParamsSchema, HolderSchema, RegisterHolderSchema, toHolderView } from './schemas.js'

/** 400 listing each identity field that fails the document rules (check character, dates, formats). */
export function assertValidIdentity (identity: Parameters<typeof validateIdentity>[0], today: string, pointerOf: string | ((field: string) => string)): void {
  const issues = validateIdentity(identity, { today })
  const pointer = typeof pointerOf === 'string' ? (field: string) => `${pointerOf}/${field}` : pointerOf
  if (issues.length > 0) {
    throw validationProblem(issues.map((i) => ({ pointer: pointer(i.field), in: 'body' as const, message: i.message })),
      'The identity does not meet the document rules')
  }
}

export function decodePhoto (base64: string, maxBytes: number) {
  const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(base64) ? Buffer.from(base64, 'base64') : Buffer.alloc(0)
  const { width, height } = acceptCardPhoto(bytes, maxBytes)
  return { jpeg: bytes, width, height }
}

const holderRoutes: FastifyPluginAsyncTypebox = async function holderRoutes (app) {
  const repository = createHoldersRepository(app.pii)

  app.post('/v1/holders', {
    onRequest: app.authorize(['bureau_staff', 'admin']),
    schema: {
      tags: ['holders'],
      operationId: 'registerHolder',
      summary: 'Register a holder',
      description: 'Registers a holder of a preferential-treatment card with their current card. The resident ID check character ' +
        '(ISO 7064 MOD 11-2) is verified. ID number and phone are stored encrypted; the answer is masked. An identity that is ' +
        'already registered (same country, document type and number) is 409.',
      security: bearerSecurity,
      body: RegisterHolderSchema,
      response: {
        201: { ...HolderSchema, description: 'The registered holder, masked' },
        ...errorResponses(...AUTHENTICATED, ...JSON_BODY, 409, 422)
      }
    }
  }, async (request, reply) => {
    const now = app.clock.now()
    const today = shanghaiDate(now)
    const identity = normalizeIdentity(request.body.identity)
    assertValidIdentity(identity, today, '/identity')
    if (request.body.card.issuedAt > today) {
      throw new ProblemError(422, 'CARD_ISSUE_DATE_IN_FUTURE', 'Card issue date in the future', { detail: 'The card issue date is after today (Asia/Shanghai)' })
    }
    const photo = request.body.card.photoJpegBase64 === undefined ? undefined : decodePhoto(request.body.card.photoJpegBase64, app.config.photoMaxBytes)
    const actor = auditActorOf(request)
    try {
      const holder = await app.db.transaction(async (tx) => {
        const created = await repository.insert(tx, {
          identity,
          phone: request.body.phone,
          card: { cardNumber: request.body.card.cardNumber, issuedAt: request.body.card.issuedAt, ...(photo === undefined ? {} : { photo }) }
        }, now)
        await recordAudit(tx, actor, now, { action: 'HOLDER_REGISTERED', targetType: 'holder', targetId: created.id, after: toHolderView(created) })
        return created
      })
      return await reply.code(201).header('location', `/v1/holders/${holder.id}`).send(toHolderView(holder))
    } catch (error) {
      if (isUniqueViolation(error, 'holders_identity_hash_key')) {
        throw new ProblemError(409, 'IDENTITY_ALREADY_REGISTERED', 'Identity already registered', { detail: 'A holder with this identity document is already registered' })
      }
      throw error
    }
  })

  app.get('/v1/holders/:holderId', {
    onRequest: app.authorize(['station_staff', 'bureau_staff', 'admin']),
    schema: {
      tags: ['holders'],
      operationId: 'getHolder',
      summary: 'Get a holder',
      description: 'One holder with the current card, masked. Every look-up is written to the audit trail (who looked up whom, when).',
      security: bearerSecurity,
      params: HolderParamsSchema,
      response: {
        200: { ...HolderSchema, description: 'The holder, masked' },
        ...errorResponses(...AUTHENTICATED, 400, 404)
      }
    }
  }, async (request) => {
    const now = app.clock.now()
    const actor = auditActorOf(request)
    const holder = await app.db.transaction(async (tx) => {
      const found = await repository.findById(tx, request.params.holderId)
      if (found !== null) await recordAudit(tx, actor, now, { action: 'HOLDER_VIEWED', targetType: 'holder', targetId: found.id })
      return found
    })
    if (holder === null) throw notFound('HOLDER_NOT_FOUND', 'No holder with this id')
    return toHolderView(holder)
  })
}

export default holderRoutes
