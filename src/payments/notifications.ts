// Applying a payment notification: exactly once, whatever arrives twice, late, or for the wrong amount.
import { and, eq, inArray, sql } from 'drizzle-orm'
import type { Executor } from '../db/client.js'
import { applications, paymentNotifications, payments } from '../db/schema.js'
import { isPastDeadline } from '../domain/lifecycle.js'
import { appendEvent, bumpVersion, expireDue, findInProgress, loadApplication } from '../applications/repository.js'

export const ANOMALY_REASONS = ['UNKNOWN_CODE', 'AMOUNT_MISMATCH', 'PAID_AFTER_DEADLINE', 'APPLICATION_CLOSED', 'ALREADY_PAID'] as const
export type AnomalyReason = typeof ANOMALY_REASONS[number]

export interface NotificationInput {
  notificationId: string
  paymentCode: string
  amountFen: number
  paidAt: Date
  platformTransactionId: string
}

export interface Delivery { rawBody: Buffer; signature: string; receivedAt: Date }

export interface NotificationResult {
  outcome: 'RECORDED' | 'DUPLICATE' | 'ANOMALY'
  anomaly: AnomalyReason | null
  applicationId: string | null
}

/**
 * Records one delivery and applies it. The payment row is locked first, so concurrent copies of one
 * notification queue up and all but the first see it paid. `reopenAllowed: false` is the retry after
 * losing the one-in-progress race: the holder applied again meanwhile, so the late payment is refunded.
 */
export async function applyNotification (tx: Executor, input: NotificationInput, delivery: Delivery, reopenAllowed = true): Promise<NotificationResult> {
  const now = delivery.receivedAt
  // Copies of one notification queue up here, even for a code that matches no payment row to lock.
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`notification:${input.notificationId}`}))`)
  // Locks are taken application first, then payment: the order cancellation and the sweeper use, so
  // a notification racing either of them waits instead of deadlocking.
  const [unlocked] = await tx.select({ applicationId: payments.applicationId }).from(payments).where(eq(payments.code, input.paymentCode))
  if (unlocked !== undefined) await tx.select({ id: applications.id }).from(applications).where(eq(applications.id, unlocked.applicationId)).for('update')
  const [payment] = await tx.select().from(payments).where(eq(payments.code, input.paymentCode)).for('update')

  const record = async (result: NotificationResult): Promise<NotificationResult> => {
    await tx.insert(paymentNotifications).values({
      receivedAt: now,
      notificationId: input.notificationId,
      paymentCode: input.paymentCode,
      amountFen: input.amountFen,
      paidAt: input.paidAt,
      platformTransactionId: input.platformTransactionId,
      rawBody: delivery.rawBody,
      signature: delivery.signature,
      outcome: result.outcome,
      anomalyReason: result.anomaly,
      paymentId: payment?.id ?? null,
      applicationId: result.applicationId
    })
    return result
  }
  const anomaly = (reason: AnomalyReason) => record({ outcome: 'ANOMALY', anomaly: reason, applicationId: payment?.applicationId ?? null })

  // A redelivery answers what the first delivery was told, and counts once in reconciliation.
  const [earlier] = await tx.select({ outcome: paymentNotifications.outcome, anomalyReason: paymentNotifications.anomalyReason, applicationId: paymentNotifications.applicationId })
    .from(paymentNotifications)
    .where(and(eq(paymentNotifications.notificationId, input.notificationId), inArray(paymentNotifications.outcome, ['RECORDED', 'ANOMALY'])))
    .limit(1)
  if (earlier !== undefined) {
    return record({ outcome: 'DUPLICATE', anomaly: earlier.anomalyReason as AnomalyReason | null, applicationId: earlier.applicationId })
  }
  if (payment === undefined) return anomaly('UNKNOWN_CODE')
  if (payment.status === 'PAID') {
    return payment.platformTransactionId === input.platformTransactionId
      ? record({ outcome: 'DUPLICATE', anomaly: null, applicationId: payment.applicationId })
      : anomaly('ALREADY_PAID')
  }
  if (input.amountFen !== payment.amountFen) return anomaly('AMOUNT_MISMATCH')
  if (input.paidAt.getTime() >= payment.expiresAt.getTime()) return anomaly('PAID_AFTER_DEADLINE')

  const current = (await loadApplication(tx, payment.applicationId, { forUpdate: true }))!
  const a = current.application
  const expired = a.stage === 'EXPIRED_UNPAID' || isPastDeadline(a, now)
  if (!expired && !(a.status === 'IN_PROGRESS' && a.stage === 'AWAITING_PAYMENT')) return anomaly('APPLICATION_CLOSED')
  if (expired) {
    // Paid in time, notified late. The expiry stays on the timeline and the application reopens as paid,
    // unless the holder has meanwhile started another one: then the payment is refunded.
    await expireDue(tx, now, { holderId: a.holderId })
    const other = await findInProgress(tx, a.holderId)
    if (!reopenAllowed || (other !== null && other.application.id !== a.id)) return anomaly('APPLICATION_CLOSED')
  }
  await tx.update(payments).set({ status: 'PAID', paidAt: input.paidAt, platformTransactionId: input.platformTransactionId, updatedAt: now })
    .where(eq(payments.id, payment.id))
  await bumpVersion(tx, a.id, { status: 'IN_PROGRESS', stage: 'PAID', outcome: null, closedAt: null }, now)
  await appendEvent(tx, a.id, 'PAYMENT_RECEIVED', now, { paidAt: input.paidAt.toISOString(), platformTransactionId: input.platformTransactionId })
  return record({ outcome: 'RECORDED', anomaly: null, applicationId: a.id })
}

/** A signed delivery whose body is not a notification: kept as received, then refused. */
export async function recordRejectedDelivery (tx: Executor, delivery: Delivery): Promise<void> {
  await tx.insert(paymentNotifications).values({ receivedAt: delivery.receivedAt, rawBody: delivery.rawBody, signature: delivery.signature, outcome: 'REJECTED' })
}
