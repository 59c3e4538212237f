// The requests the load scripts make, with the bookkeeping their checks need (notifications sent and answered).
import { randomUUID } from 'node:crypto'
import type { Answer, HttpClient } from './http.js'
import type { Credentials } from './identity.js'
import type { Service } from './services.js'

/** A small seeded PRNG (mulberry32), so a run's choices can be replayed with the same seed. */
export function random (seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    /** `n` distinct items. */
    sample: <T>(items: readonly T[], n: number): T[] => {
      const copy = [...items]
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [copy[i], copy[j]] = [copy[j]!, copy[i]!]
      }
      return copy.slice(0, n)
    }
  }
}
export type Random = ReturnType<typeof random>

export interface Tally {
  notificationsSent: number
  /** Deliveries that got any HTTP answer. */
  notificationsAnswered: number
  /** Deliveries answered 200: each of them is certainly stored. */
  notificationsAccepted: number
}

export const newTally = (): Tally => ({ notificationsSent: 0, notificationsAnswered: 0, notificationsAccepted: 0 })

export function applicationBody (pickupStationId: string, type: 'LOST' | 'DAMAGED' = 'LOST') {
  return { type, pickupStationId, oldCardConfirmed: true, photo: { source: 'CARD' } }
}

export function submit (http: HttpClient, service: Service, citizen: string, body: unknown, idempotencyKey?: string): Promise<Answer> {
  return http.call(service, 'POST', '/v1/applications', { token: citizen, body, headers: idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey } })
}

export interface Notification {
  raw: string
  signature: string
  body: { notificationId: string; paymentCode: string; amountFen: number; paidAt: string; platformTransactionId: string }
}

/** One platform notification, serialised and signed once: every redelivery sends exactly these bytes. */
export function signedNotification (creds: Credentials, paymentCode: string, paidAt: Date, amountFen = 2000): Notification {
  const body = { notificationId: `n-${randomUUID()}`, paymentCode, amountFen, paidAt: paidAt.toISOString(), platformTransactionId: `txn-${paymentCode}` }
  const raw = JSON.stringify(body)
  return { raw, signature: creds.sign(raw), body }
}

/** Delivers the same notification to every target at once; counts what was sent and what got an HTTP answer. */
export async function deliver (http: HttpClient, tally: Tally, targets: readonly Service[], notification: Notification, timeoutMs?: number): Promise<Answer[]> {
  tally.notificationsSent += targets.length
  const answers = await Promise.all(targets.map((service) => http.call(service, 'POST', '/v1/payment-notifications', {
    rawBody: notification.raw, headers: { 'x-payment-signature': notification.signature }, ...(timeoutMs === undefined ? {} : { timeoutMs })
  })))
  tally.notificationsAnswered += answers.filter((a) => a.status !== 0).length
  tally.notificationsAccepted += answers.filter((a) => a.status === 200).length
  return answers
}

export function moveStage (http: HttpClient, service: Service, token: string, applicationId: string, to: string, etag: string | undefined): Promise<Answer> {
  return http.call(service, 'POST', `/v1/applications/${applicationId}/stage`, {
    token, body: { to, note: `script: ${to}` }, headers: etag === undefined ? {} : { 'if-match': etag }
  })
}
