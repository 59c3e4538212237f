// Submitting an application: the one path for the app (本人办理) and the station counter (网点代办).
import { and, eq, ne } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import type { Executor } from '../db/client.js'
import { cards, photos, stations, type ApplicationType } from '../db/schema.js'
import { paymentDeadline, shanghaiDate } from '../domain/calendar.js'
import { feeFor } from '../domain/lifecycle.js'
import type { PaymentPlatform } from '../payments/platform.js'
import { isUniqueViolation } from '../shared/db-errors.js'
import { ProblemError } from '../shared/problem.js'
import {
  appendEvent, expireDue, findInProgress, insertApplication, insertPayment, loadApplication, nextReferenceNo, reportCardLost,
  type ApplicationRecord
} from './repository.js'

export interface Submission {
  holderId: string
  type: ApplicationType
  channel: 'SELF' | 'STATION'
  pickupStationId: string
  createdByStationId: string | null
  photo: { source: 'CARD' } | { source: 'UPLOAD'; photoId: string }
  /** Who uploaded photos this submission may use (`role:subject`). */
  uploader: string
  /** Counter details kept with the application (damage assessment, evidence). */
  details?: Record<string, unknown>
}

const unprocessable = (code: string, title: string, detail: string, extensions?: Record<string, unknown>) =>
  new ProblemError(422, code, title, { detail, ...(extensions === undefined ? {} : { extensions }) })

export function inProgressConflict (applicationId: string | undefined): ProblemError {
  return new ProblemError(409, 'APPLICATION_IN_PROGRESS', 'Application already in progress', {
    detail: 'The holder already has an application in progress (办理中); pay or cancel it first',
    extensions: applicationId === undefined ? {} : { applicationId }
  })
}

/** Runs inside the caller's transaction, so station work (information changes, audit) commits with it. */
export async function submitApplication (tx: Executor, input: Submission, deps: { platform: PaymentPlatform; feesFen: Record<ApplicationType, number>; now: Date }): Promise<ApplicationRecord> {
  const { now } = deps
  // An unpaid application past its deadline no longer counts: close it first, so the holder may apply again.
  await expireDue(tx, now, { holderId: input.holderId })
  const existing = await findInProgress(tx, input.holderId)
  if (existing !== null) throw inProgressConflict(existing.application.id)

  const [station] = await tx.select({ active: stations.active }).from(stations).where(eq(stations.id, input.pickupStationId))
  if (station?.active !== true) {
    throw unprocessable('PICKUP_STATION_UNAVAILABLE', 'Pickup station unavailable', 'The pickup station does not exist or no longer hands out cards')
  }
  const [card] = await tx.select().from(cards).where(and(eq(cards.holderId, input.holderId), ne(cards.status, 'DEACTIVATED')))
  if (card === undefined) throw unprocessable('NO_CURRENT_CARD', 'No current card', 'The holder has no card on file to replace; contact a veterans service station')

  let photoId: string | null
  if (input.photo.source === 'CARD') {
    if (card.photoId === null) {
      throw unprocessable('NO_CARD_PHOTO', 'No card photo on file', 'The current card\'s photo is not on file; upload a photo instead', { requirement: 'PHOTO' })
    }
    photoId = card.photoId
  } else {
    const [photo] = await tx.select({ id: photos.id }).from(photos)
      .where(and(eq(photos.id, input.photo.photoId), eq(photos.uploadedBy, input.uploader)))
    if (photo === undefined) throw unprocessable('PHOTO_NOT_FOUND', 'Photo not found', 'No photo with this id was uploaded by you; upload it with POST /v1/photos')
    photoId = photo.id
  }

  const businessDate = shanghaiDate(now)
  const feeFen = feeFor(input.type, deps.feesFen)
  const expiresAt = feeFen > 0 ? paymentDeadline(now) : null
  const application = await insertApplication(tx, {
    referenceNo: await nextReferenceNo(tx, businessDate),
    holderId: input.holderId,
    type: input.type,
    channel: input.channel,
    stage: feeFen > 0 ? 'AWAITING_PAYMENT' : input.type === 'WARRANTY' ? 'AWAITING_APPROVAL' : 'PAID',
    pickupStationId: input.pickupStationId,
    createdByStationId: input.createdByStationId,
    oldCardId: card.id,
    photo: { source: input.photo.source, photoId },
    feeFen,
    expiresAt,
    details: input.details ?? {}
  }, now)
  let paymentCode: string | undefined
  if (feeFen > 0) {
    paymentCode = await deps.platform.issueCode(tx, businessDate)
    await insertPayment(tx, { applicationId: application.id, code: paymentCode, amountFen: feeFen, expiresAt: expiresAt! }, now)
  }
  await appendEvent(tx, application.id, 'SUBMITTED', now, paymentCode === undefined ? {} : { paymentCode })
  // 遗失补卡: the old card is reported lost (挂失) when the application is submitted.
  if (input.type === 'LOST') await reportCardLost(tx, card.id)
  return (await loadApplication(tx, application.id))!
}

/** Runs a submission in its own transaction and turns a lost race for the one-in-progress slot into 409. */
export async function submitInTransaction<T> (app: FastifyInstance, holderId: string, work: (tx: Executor) => Promise<T>): Promise<T> {
  try {
    return await app.db.transaction(work)
  } catch (error) {
    if (isUniqueViolation(error, 'applications_one_in_progress')) {
      const existing = await findInProgress(app.db, holderId)
      throw inProgressConflict(existing?.application.id)
    }
    if (isUniqueViolation(error, 'holders_identity_hash_key')) {
      throw new ProblemError(409, 'IDENTITY_ALREADY_REGISTERED', 'Identity already registered', {
        detail: 'The new identity belongs to another registered holder; nothing was changed'
      })
    }
    throw error
  }
}
