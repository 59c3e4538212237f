// GET /v1/reconciliation: one Asia/Shanghai business day of payment codes and money, to match the platform's statement.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'drizzle-orm'
import { Type } from 'typebox'
import { rowsOf } from '../db/client.js'
import { startOfShanghaiDay } from '../domain/calendar.js'
import { validationProblem } from '../shared/problem.js'
import { AUTHENTICATED, bearerSecurity, DateSchema, errorResponses, InstantSchema } from '../shared/schemas.js'

const DAY_MS = 24 * 60 * 60 * 1000

const Amount = (description: string) => Type.Object({
  count: Type.Integer({ description: 'How many' }),
  amountFen: Type.Integer({ description: 'Their sum, in fen' })
}, { additionalProperties: false, description })

const ReconciliationSchema = Type.Object({
  date: { ...DateSchema, description: 'The business day (Asia/Shanghai)' },
  issued: Amount('Payment codes issued that day'),
  issuedOutcome: Type.Object({
    paid: Amount('…of which paid'),
    expired: Amount('…of which expired unpaid'),
    cancelled: Amount('…of which cancelled before payment'),
    pending: Amount('…of which still payable')
  }, { additionalProperties: false, description: 'What became of that day\'s codes' }),
  paid: Amount('Payments made that day (by the platform\'s paidAt), applied to their applications'),
  expired: Amount('Codes whose deadline passed that day unpaid'),
  anomalies: Type.Object({
    count: Type.Integer({ description: 'How many' }),
    amountFen: Type.Integer({ description: 'Their sum, in fen: to refund' }),
    items: Type.Array(Type.Object({
      notificationId: Type.Union([Type.String(), Type.Null()], { description: 'The platform\'s notification id' }),
      paymentCode: Type.Union([Type.String(), Type.Null()], { description: 'The code paid' }),
      amountFen: Type.Union([Type.Integer(), Type.Null()], { description: 'Amount paid' }),
      paidAt: Type.Union([InstantSchema, Type.Null()], { description: 'When it was paid' }),
      receivedAt: InstantSchema,
      platformTransactionId: Type.Union([Type.String(), Type.Null()], { description: 'The platform\'s transaction id' }),
      reason: Type.String({ description: 'UNKNOWN_CODE, AMOUNT_MISMATCH, PAID_AFTER_DEADLINE, APPLICATION_CLOSED or ALREADY_PAID' })
    }, { additionalProperties: false }), { description: 'Each anomaly with its notification' })
  }, { additionalProperties: false, description: 'Payments made that day that were not applied: refunds due' }),
  totals: Type.Object({
    receivedFen: Type.Integer({ description: 'All money paid that day per the notifications (applied and anomalous): the platform statement\'s total' }),
    appliedFen: Type.Integer({ description: 'Applied to applications' }),
    refundDueFen: Type.Integer({ description: 'To refund' })
  }, { additionalProperties: false, description: 'receivedFen = appliedFen + refundDueFen' })
}, { additionalProperties: false })

const reconciliationRoutes: FastifyPluginAsyncTypebox = async function reconciliationRoutes (app) {
  app.get('/v1/reconciliation', {
    onRequest: app.authorize(['bureau_staff', 'admin']),
    schema: {
      tags: ['payments'],
      operationId: 'getReconciliation',
      summary: 'Daily reconciliation',
      description: 'For one business day (Asia/Shanghai): codes issued and what became of them, payments made (count and fen), ' +
        'codes expired, and every anomaly with its notification and reason, with totals to match the payment platform\'s statement.',
      security: bearerSecurity,
      querystring: Type.Object({ date: { ...DateSchema, description: 'The business day, YYYY-MM-DD (Asia/Shanghai)' } }),
      response: {
        200: { ...ReconciliationSchema, description: 'The day\'s figures' },
        ...errorResponses(...AUTHENTICATED, 400)
      }
    }
  }, async (request) => {
    let start: Date
    try {
      start = startOfShanghaiDay(request.query.date)
    } catch {
      throw validationProblem([{ pointer: '/date', in: 'query', message: 'must be a real calendar date' }])
    }
    const end = new Date(start.getTime() + DAY_MS)
    const now = app.clock.now()
    type Row = Record<string, number>
    const [figures] = rowsOf<Row>(await app.db.execute(sql`
      select
        count(*) filter (where p.created_at >= ${start} and p.created_at < ${end})::int as issued_count,
        coalesce(sum(p.amount_fen) filter (where p.created_at >= ${start} and p.created_at < ${end}), 0)::int as issued_fen,
        count(*) filter (where p.created_at >= ${start} and p.created_at < ${end} and p.status = 'PAID')::int as issued_paid_count,
        coalesce(sum(p.amount_fen) filter (where p.created_at >= ${start} and p.created_at < ${end} and p.status = 'PAID'), 0)::int as issued_paid_fen,
        count(*) filter (where p.created_at >= ${start} and p.created_at < ${end} and a.stage = 'CANCELLED')::int as issued_cancelled_count,
        coalesce(sum(p.amount_fen) filter (where p.created_at >= ${start} and p.created_at < ${end} and a.stage = 'CANCELLED'), 0)::int as issued_cancelled_fen,
        count(*) filter (where p.created_at >= ${start} and p.created_at < ${end} and p.status <> 'PAID' and a.stage <> 'CANCELLED' and p.expires_at <= ${now})::int as issued_expired_count,
        coalesce(sum(p.amount_fen) filter (where p.created_at >= ${start} and p.created_at < ${end} and p.status <> 'PAID' and a.stage <> 'CANCELLED' and p.expires_at <= ${now}), 0)::int as issued_expired_fen,
        count(*) filter (where p.created_at >= ${start} and p.created_at < ${end} and p.status = 'PENDING' and p.expires_at > ${now})::int as issued_pending_count,
        coalesce(sum(p.amount_fen) filter (where p.created_at >= ${start} and p.created_at < ${end} and p.status = 'PENDING' and p.expires_at > ${now}), 0)::int as issued_pending_fen,
        count(*) filter (where p.status = 'PAID' and p.paid_at >= ${start} and p.paid_at < ${end})::int as paid_count,
        coalesce(sum(p.amount_fen) filter (where p.status = 'PAID' and p.paid_at >= ${start} and p.paid_at < ${end}), 0)::int as paid_fen,
        count(*) filter (where p.status <> 'PAID' and a.stage <> 'CANCELLED' and p.expires_at > ${start} and p.expires_at <= ${end} and p.expires_at <= ${now})::int as expired_count,
        coalesce(sum(p.amount_fen) filter (where p.status <> 'PAID' and a.stage <> 'CANCELLED' and p.expires_at > ${start} and p.expires_at <= ${end} and p.expires_at <= ${now}), 0)::int as expired_fen
      from payments p join applications a on a.id = p.application_id
      where (p.created_at >= ${start} and p.created_at < ${end}) or (p.paid_at >= ${start} and p.paid_at < ${end})
         or (p.expires_at > ${start} and p.expires_at <= ${end})`))
    const anomalies = rowsOf<{ notification_id: string | null; payment_code: string | null; amount_fen: number | null; paid_at: string | null; received_at: string; platform_transaction_id: string | null; anomaly_reason: string }>(
      await app.db.execute(sql`
        select notification_id, payment_code, amount_fen, paid_at, received_at, platform_transaction_id, anomaly_reason
        from payment_notifications
        where outcome = 'ANOMALY' and paid_at >= ${start} and paid_at < ${end}
        order by paid_at, id`))
    const f = figures!
    const amount = (name: string) => ({ count: Number(f[`${name}_count`]), amountFen: Number(f[`${name}_fen`]) })
    const refundDueFen = anomalies.reduce((sum, a) => sum + Number(a.amount_fen ?? 0), 0)
    const paid = amount('paid')
    return {
      date: request.query.date,
      issued: amount('issued'),
      issuedOutcome: { paid: amount('issued_paid'), expired: amount('issued_expired'), cancelled: amount('issued_cancelled'), pending: amount('issued_pending') },
      paid,
      expired: amount('expired'),
      anomalies: {
        count: anomalies.length,
        amountFen: refundDueFen,
        items: anomalies.map((a) => ({
          notificationId: a.notification_id,
          paymentCode: a.payment_code,
          amountFen: a.amount_fen === null ? null : Number(a.amount_fen),
          paidAt: a.paid_at === null ? null : new Date(a.paid_at).toISOString(),
          receivedAt: new Date(a.received_at).toISOString(),
          platformTransactionId: a.platform_transaction_id,
          reason: a.anomaly_reason
        }))
      },
      totals: { receivedFen: paid.amountFen + refundDueFen, appliedFen: paid.amountFen, refundDueFen }
    }
  })
}

export default reconciliationRoutes
