// Payment codes anyone can look up, and the payment platform's signed notifications.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { eq } from 'drizzle-orm'
import { Type } from 'typebox'
import { applications, payments } from '../db/schema.js'
import { effectiveState } from '../domain/lifecycle.js'
import { checkPaymentCode } from '../domain/payment-code.js'
import { isUniqueViolation } from '../shared/db-errors.js'
import { notFound, ProblemError, validationProblem } from '../shared/problem.js'
import { errorResponses, InstantSchema } from '../shared/schemas.js'
import { toFieldErrors } from '../plugins/errors.js'
import { ANOMALY_REASONS, applyNotification, recordRejectedDelivery } from './notifications.js'
import { verifySignature } from './signature.js'

const TYPE_NAMES = { LOST: '遗失补卡', DAMAGED: '损坏换卡', INFO_CHANGE: '信息变更换卡', WARRANTY: '质保期换卡' } as const
export const NOTIFICATION_BODY_LIMIT = 64 * 1024

const PaymentLookupSchema = Type.Object({
  code: Type.String({ description: '缴款识别码' }),
  purpose: Type.String({ description: 'What the fee is for, e.g. 优抚卡补换工本费（遗失补卡）' }),
  amountFen: Type.Integer({ description: 'Amount due, in fen' }),
  currency: Type.Literal('CNY', { description: 'Always CNY' }),
  payee: Type.String({ description: 'The collecting authority' }),
  status: Type.Enum(['PENDING', 'PAID', 'EXPIRED'], { description: 'PENDING: payable until expiresAt; PAID; EXPIRED: no longer payable' }),
  expiresAt: { ...InstantSchema, description: 'Deadline: payments at or after it are refunded' },
  paidAt: Type.Union([InstantSchema, Type.Null()], { description: 'When it was paid' })
}, { additionalProperties: false })

const NotificationSchema = Type.Object({
  notificationId: Type.String({ minLength: 1, maxLength: 100, description: 'The platform\'s id of this notification; the same across redeliveries' }),
  paymentCode: Type.String({ pattern: '^[0-9]{20}$', description: '缴款识别码 that was paid' }),
  amountFen: Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'Amount paid, in fen' }),
  paidAt: Type.String({ format: 'date-time', description: 'When the payer paid (RFC 3339); this, not the arrival time, is compared with the deadline' }),
  platformTransactionId: Type.String({ minLength: 1, maxLength: 100, description: 'The platform\'s transaction id' })
}, { additionalProperties: false })

const NotificationResultSchema = Type.Object({
  notificationId: Type.String({ description: 'Echo of the notification id' }),
  outcome: Type.Enum(['RECORDED', 'DUPLICATE', 'ANOMALY'], { description: 'RECORDED: payment applied; DUPLICATE: already applied; ANOMALY: kept for reconciliation, refund due' }),
  anomaly: Type.Union([Type.Enum(ANOMALY_REASONS), Type.Null()], { description: 'Why the payment was not applied' }),
  refundRequired: Type.Boolean({ description: 'Whether the payer must be refunded (once, however often the notification is delivered)' })
}, { additionalProperties: false })

const paymentRoutes: FastifyPluginAsyncTypebox = async function paymentRoutes (app) {
  app.get('/v1/payments/:code', {
    config: { rateLimit: { max: 60, timeWindow: 60_000 } },
    schema: {
      tags: ['payments'],
      operationId: 'lookUpPaymentCode',
      summary: 'Look up a payment code',
      description: 'Anyone holding a code can see what it is for, how much, to whom, its status and deadline; no personal data. ' +
        'A malformed code or wrong check digit (ISO 7064 MOD 11-2) is 400, an unknown one 404. Rate limited per client.',
      security: [],
      params: Type.Object({ code: Type.String({ maxLength: 40, description: 'The 20-digit payment identification code' }) }),
      response: {
        200: { ...PaymentLookupSchema, description: 'The payment' },
        ...errorResponses(400, 404, 429, 503)
      }
    }
  }, async (request) => {
    const check = checkPaymentCode(request.params.code)
    if (!check.ok) {
      throw validationProblem([{ pointer: '/code', in: 'path', message: check.problem === 'FORMAT' ? 'must be 20 digits' : 'check digit is wrong' }],
        'This is not a valid payment identification code')
    }
    const [row] = await app.db.select({ payment: payments, application: applications }).from(payments)
      .innerJoin(applications, eq(applications.id, payments.applicationId)).where(eq(payments.code, request.params.code))
    if (row === undefined) throw notFound('PAYMENT_CODE_NOT_FOUND', 'No payment with this code')
    const { payment: p, application: a } = row
    const state = effectiveState({ status: a.status, stage: a.stage, outcome: a.outcome, expiresAt: a.expiresAt, paymentStatus: p.status }, app.clock.now())
    return {
      code: p.code,
      purpose: `优抚卡补换工本费（${TYPE_NAMES[a.type]}）`,
      amountFen: p.amountFen,
      currency: 'CNY' as const,
      payee: app.paymentPlatform.payee,
      status: state.paymentStatus ?? p.status,
      expiresAt: p.expiresAt.toISOString(),
      paidAt: p.paidAt?.toISOString() ?? null
    }
  })

  // The signature covers the exact bytes, so this route keeps the raw body and checks it before parsing.
  const rawBodies = new WeakMap<object, Buffer>()
  const malformed = new WeakSet<object>()
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: NOTIFICATION_BODY_LIMIT }, (request, body, done) => {
    const nowSeconds = Math.floor(app.clock.now().getTime() / 1000)
    const verdict = verifySignature(request.headers['x-payment-signature'] as string | undefined, body as Buffer, app.config.paymentWebhookSecret, nowSeconds)
    if (!verdict.ok) {
      done(new ProblemError(401, `SIGNATURE_${verdict.problem}`, 'Invalid signature', {
        detail: 'X-Payment-Signature is missing, malformed, stale or does not match the body'
      }), undefined)
      return
    }
    rawBodies.set(request.raw, body as Buffer)
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')))
    } catch {
      // Signed by the platform, so kept as received (REJECTED) by the handler before it refuses it.
      malformed.add(request.raw)
      done(null, null)
    }
  })
  app.post('/v1/payment-notifications', {
    attachValidation: true,
    bodyLimit: NOTIFICATION_BODY_LIMIT,
    schema: {
      tags: ['payments'],
      operationId: 'receivePaymentNotification',
      summary: 'Payment notification (platform → service)',
      description: 'Sent by the payment platform, signed with `X-Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` ' +
        '(PAYMENT_WEBHOOK_SECRET; 300 s tolerance). Every delivery is kept as received. Idempotent: any number of copies, even ' +
        'concurrent, record one payment and one PAYMENT_RECEIVED event. Wrong amount, unknown code, payment at or after the deadline, ' +
        'or a closed application are acknowledged (200) and kept as anomalies needing a refund. A payment made before the deadline ' +
        'counts even when its notification arrives later.',
      security: [{ paymentSignature: [] }],
      headers: Type.Object({ 'x-payment-signature': Type.Optional(Type.String({ description: 't=<unix seconds>,v1=<hex HMAC-SHA256>' })) }),
      body: NotificationSchema,
      response: {
        200: { ...NotificationResultSchema, description: 'What was made of the notification' },
        ...errorResponses(400, 401, 413, 415, 503)
      }
    }
  }, async (request) => {
    const delivery = {
      rawBody: rawBodies.get(request.raw) ?? Buffer.alloc(0),
      signature: String(request.headers['x-payment-signature']),
      receivedAt: app.clock.now()
    }
    if (request.validationError !== undefined) {
      await app.db.transaction((tx) => recordRejectedDelivery(tx, delivery))
      if (malformed.has(request.raw)) throw new ProblemError(400, 'MALFORMED_JSON', 'Malformed JSON', { detail: 'The body is not valid JSON' })
      const validation = (request.validationError as { validation?: unknown[] }).validation ?? []
      throw validationProblem(toFieldErrors(validation as Parameters<typeof toFieldErrors>[0], 'body'))
    }
    const input = { ...request.body, paidAt: new Date(request.body.paidAt) }
    let result
    try {
      result = await app.db.transaction((tx) => applyNotification(tx, input, delivery))
    } catch (error) {
      // Lost the race for the one-in-progress slot to a new application: this payment is refunded instead.
      if (!isUniqueViolation(error, 'applications_one_in_progress')) throw error
      result = await app.db.transaction((tx) => applyNotification(tx, input, delivery, false))
    }
    return { notificationId: input.notificationId, outcome: result.outcome, anomaly: result.anomaly, refundRequired: result.anomaly !== null }
  })
}

export default paymentRoutes
