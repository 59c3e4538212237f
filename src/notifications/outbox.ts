// The SMS outbox: messages are queued in the transaction that causes them, and sent by a dispatcher in every replica.
import type { FastifyBaseLogger } from 'fastify'
import { sql } from 'drizzle-orm'
import { rowsOf, type Db, type Executor } from '../db/client.js'
import { notificationOutbox } from '../db/schema.js'
import type { PiiCipher } from '../shared/pii.js'

/** Where SMS messages go. The default writes them to the log, without the phone number. */
export interface SmsSender {
  send(phone: string, message: string): Promise<void>
}

export function createLogSmsSender (log: Pick<FastifyBaseLogger, 'info'>): SmsSender {
  return {
    async send (_phone, message) {
      log.info({ sms: { message } }, 'SMS (development sender: logged, not sent)')
    }
  }
}

export async function queueSms (tx: Executor, pii: PiiCipher, input: { applicationId: string; kind: 'READY_FOR_PICKUP'; phone: string; message: string }, now: Date): Promise<void> {
  await tx.insert(notificationOutbox).values({
    applicationId: input.applicationId, kind: input.kind, recipientEnc: pii.encrypt(input.phone), message: input.message,
    nextAttemptAt: now, createdAt: now
  }).onConflictDoNothing({ target: [notificationOutbox.applicationId, notificationOutbox.kind] })
}

export interface DispatchOptions { batchSize?: number; maxAttempts?: number; baseDelayMs?: number }
export const DEFAULT_MAX_ATTEMPTS = 5

/** Exponential back-off: base, 2×base, 4×base … capped at an hour. */
export function retryDelayMs (attempts: number, baseDelayMs: number): number {
  return Math.min(baseDelayMs * 2 ** Math.max(0, attempts - 1), 60 * 60 * 1000)
}

/**
 * Sends what is due. Each message is claimed with FOR UPDATE SKIP LOCKED inside the transaction that
 * records the result, so two dispatchers never send the same message. Returns how many were handled.
 */
export async function dispatchOutbox (db: Db, deps: { sender: SmsSender; pii: PiiCipher; now: () => Date; log: Pick<FastifyBaseLogger, 'warn'> }, options: DispatchOptions = {}): Promise<number> {
  const batchSize = options.batchSize ?? 20
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  const baseDelayMs = options.baseDelayMs ?? 30_000
  let handled = 0
  for (let i = 0; i < batchSize; i++) {
    const done = await db.transaction(async (tx) => {
      const now = deps.now()
      const [due] = rowsOf<{ id: number; recipient_enc: string; message: string; attempts: number }>(await tx.execute(sql`
        select id, recipient_enc, message, attempts from notification_outbox
        where status = 'PENDING' and next_attempt_at <= ${now}
        order by next_attempt_at, id limit 1 for update skip locked`))
      if (due === undefined) return false
      try {
        await deps.sender.send(deps.pii.decrypt(due.recipient_enc), due.message)
        await tx.execute(sql`update notification_outbox set status = 'SENT', attempts = attempts + 1, sent_at = ${now}, last_error = null where id = ${due.id}`)
      } catch (error) {
        const attempts = Number(due.attempts) + 1
        const reason = error instanceof Error ? error.message.slice(0, 500) : 'send failed'
        if (attempts >= maxAttempts) {
          deps.log.warn({ outboxId: due.id, attempts }, 'SMS given up after the retry limit')
          await tx.execute(sql`update notification_outbox set status = 'FAILED', attempts = ${attempts}, last_error = ${reason}, gave_up_at = ${now} where id = ${due.id}`)
        } else {
          const next = new Date(now.getTime() + retryDelayMs(attempts, baseDelayMs))
          await tx.execute(sql`update notification_outbox set attempts = ${attempts}, last_error = ${reason}, next_attempt_at = ${next} where id = ${due.id}`)
        }
      }
      return true
    })
    if (!done) break
    handled++
  }
  return handled
}
