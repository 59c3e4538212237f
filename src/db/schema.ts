// Drizzle schema: the tables of the service. Columns are snake_case; API objects are mapped per resource.
import { sql } from 'drizzle-orm'
import {
  bigserial, boolean, check, customType, date, doublePrecision, index, integer, jsonb, pgSequence, pgTable, primaryKey,
  text, timestamp, uniqueIndex, uuid
} from 'drizzle-orm/pg-core'

// pg hands back Buffer and PGlite Uint8Array; normalise to Buffer so callers see one type.
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.isBuffer(value) ? value : Buffer.from(value)
})

const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

export const stations = pgTable('stations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  districtCode: text('district_code').notNull(),
  address: text('address').notNull(),
  phone: text('phone').notNull(),
  latitude: doublePrecision('latitude').notNull(),
  longitude: doublePrecision('longitude').notNull(),
  active: boolean('active').notNull().default(true),
  createdAt: instant('created_at').notNull(),
  updatedAt: instant('updated_at').notNull()
}, (t) => [
  index('stations_district_idx').on(t.districtCode, t.name),
  check('stations_latitude_range', sql`${t.latitude} between -90 and 90`),
  check('stations_longitude_range', sql`${t.longitude} between -180 and 180`)
])

export const photos = pgTable('photos', {
  id: uuid('id').primaryKey().defaultRandom(),
  jpeg: bytea('jpeg').notNull(),
  width: integer('width').notNull(),
  height: integer('height').notNull(),
  bytes: integer('bytes').notNull(),
  /** Who uploaded it (token subject); an upload can only be used by its uploader. Null for registry photos. */
  uploadedBy: text('uploaded_by'),
  createdAt: instant('created_at').notNull()
})

export const holders = pgTable('holders', {
  id: uuid('id').primaryKey().defaultRandom(),
  countryRegion: text('country_region').notNull(),
  idType: text('id_type').notNull(),
  /** AES-256-GCM ciphertext; never the plain number. */
  idNumberEnc: text('id_number_enc').notNull(),
  /** HMAC-SHA256 of country, type and number: how an identity is found without decrypting. */
  identityHash: text('identity_hash').notNull(),
  name: text('name').notNull(),
  phoneEnc: text('phone_enc').notNull(),
  phoneHash: text('phone_hash').notNull(),
  createdAt: instant('created_at').notNull(),
  updatedAt: instant('updated_at').notNull()
}, (t) => [
  uniqueIndex('holders_identity_hash_key').on(t.identityHash),
  index('holders_phone_hash_idx').on(t.phoneHash)
])

export const CARD_STATUSES = ['ACTIVE', 'REPORTED_LOST', 'DEACTIVATED'] as const
export type CardStatus = typeof CARD_STATUSES[number]

export const cards = pgTable('cards', {
  id: uuid('id').primaryKey().defaultRandom(),
  holderId: uuid('holder_id').notNull().references(() => holders.id),
  cardNumber: text('card_number').notNull(),
  issuedAt: date('issued_at', { mode: 'string' }).notNull(),
  status: text('status', { enum: CARD_STATUSES }).notNull().default('ACTIVE'),
  photoId: uuid('photo_id').references(() => photos.id),
  createdAt: instant('created_at').notNull(),
  deactivatedAt: instant('deactivated_at')
}, (t) => [
  // A holder has one current card; deactivated ones are history.
  uniqueIndex('cards_one_current_per_holder').on(t.holderId).where(sql`${t.status} <> 'DEACTIVATED'`),
  check('cards_status_valid', sql`${t.status} in ('ACTIVE', 'REPORTED_LOST', 'DEACTIVATED')`)
])

export const auditEvents = pgTable('audit_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  occurredAt: instant('occurred_at').notNull(),
  actorId: text('actor_id').notNull(),
  actorRole: text('actor_role').notNull(),
  actorStationId: uuid('actor_station_id'),
  action: text('action').notNull(),
  targetType: text('target_type').notNull(),
  targetId: text('target_id').notNull(),
  before: jsonb('before'),
  after: jsonb('after'),
  requestId: text('request_id')
}, (t) => [
  index('audit_events_actor_idx').on(t.actorId, t.id),
  index('audit_events_target_idx').on(t.targetType, t.targetId, t.id),
  index('audit_events_time_idx').on(t.occurredAt)
])

export const APPLICATION_TYPES = ['LOST', 'DAMAGED', 'INFO_CHANGE', 'WARRANTY'] as const
export const CHANNELS = ['SELF', 'STATION'] as const
export const STATUSES = ['IN_PROGRESS', 'CLOSED'] as const
export const STAGES = ['AWAITING_PAYMENT', 'AWAITING_APPROVAL', 'PAID', 'IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED',
  'EXPIRED_UNPAID', 'CANCELLED', 'REJECTED'] as const
export const OUTCOMES = ['COMPLETED', 'EXPIRED_UNPAID', 'CANCELLED', 'REJECTED'] as const
export const PAYMENT_STATUSES = ['PENDING', 'PAID', 'EXPIRED'] as const
export const TIMELINE_EVENT_TYPES = ['SUBMITTED', 'PAYMENT_RECEIVED', 'EXPIRED_UNPAID', 'CANCELLED', 'WARRANTY_APPROVED',
  'WARRANTY_REJECTED', 'INFO_CHANGED', 'IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED'] as const
export type ApplicationType = typeof APPLICATION_TYPES[number]
export type Stage = typeof STAGES[number]
export type Outcome = typeof OUTCOMES[number]
export type PaymentStatus = typeof PAYMENT_STATUSES[number]
export type TimelineEventType = typeof TIMELINE_EVENT_TYPES[number]

const inList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '))

/** Payment codes' 11-digit sequences: unique forever, safe under concurrency, never reused. */
export const paymentCodeSequence = pgSequence('payment_code_seq', { startWith: 1, minValue: 1, maxValue: 99_999_999_999, cycle: false })
export const applicationReferenceSequence = pgSequence('application_reference_seq', { startWith: 1 })

export const applications = pgTable('applications', {
  id: uuid('id').primaryKey().defaultRandom(),
  referenceNo: text('reference_no').notNull(),
  holderId: uuid('holder_id').notNull().references(() => holders.id),
  type: text('type', { enum: APPLICATION_TYPES }).notNull(),
  channel: text('channel', { enum: CHANNELS }).notNull(),
  status: text('status', { enum: STATUSES }).notNull(),
  stage: text('stage', { enum: STAGES }).notNull(),
  outcome: text('outcome', { enum: OUTCOMES }),
  pickupStationId: uuid('pickup_station_id').notNull().references(() => stations.id),
  createdByStationId: uuid('created_by_station_id').references(() => stations.id),
  oldCardId: uuid('old_card_id').references(() => cards.id),
  photoSource: text('photo_source', { enum: ['CARD', 'UPLOAD'] }).notNull(),
  photoId: uuid('photo_id').references(() => photos.id),
  feeFen: integer('fee_fen').notNull(),
  /** Counter details: the damage assessment of a warranty case, the evidence and changed fields of an information change. */
  details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  /** Deadline of an unpaid application (the next Asia/Shanghai midnight); null for free types. */
  expiresAt: instant('expires_at'),
  /** Bumped by every change; the ETag is derived from it. */
  version: integer('version').notNull().default(1),
  createdAt: instant('created_at').notNull(),
  updatedAt: instant('updated_at').notNull(),
  closedAt: instant('closed_at')
}, (t) => [
  uniqueIndex('applications_reference_no_key').on(t.referenceNo),
  // At most one application in progress per holder, whatever the channel or replica.
  uniqueIndex('applications_one_in_progress').on(t.holderId).where(sql`${t.status} = 'IN_PROGRESS'`),
  index('applications_holder_idx').on(t.holderId, t.createdAt),
  index('applications_station_idx').on(t.pickupStationId, t.createdAt),
  // The sweeper's work list: unpaid applications by deadline.
  index('applications_unpaid_due_idx').on(t.expiresAt).where(sql`${t.status} = 'IN_PROGRESS' and ${t.stage} = 'AWAITING_PAYMENT'`),
  check('applications_type_valid', sql`${t.type} in (${inList(APPLICATION_TYPES)})`),
  check('applications_stage_valid', sql`${t.stage} in (${inList(STAGES)})`),
  check('applications_closed_has_outcome', sql`(${t.status} = 'CLOSED') = (${t.outcome} is not null)`),
  check('applications_fee_nonnegative', sql`${t.feeFen} >= 0`)
])

export const payments = pgTable('payments', {
  id: uuid('id').primaryKey().defaultRandom(),
  applicationId: uuid('application_id').notNull().references(() => applications.id),
  code: text('code').notNull(),
  amountFen: integer('amount_fen').notNull(),
  currency: text('currency').notNull().default('CNY'),
  status: text('status', { enum: PAYMENT_STATUSES }).notNull(),
  expiresAt: instant('expires_at').notNull(),
  paidAt: instant('paid_at'),
  platformTransactionId: text('platform_transaction_id'),
  createdAt: instant('created_at').notNull(),
  updatedAt: instant('updated_at').notNull()
}, (t) => [
  uniqueIndex('payments_code_key').on(t.code),
  uniqueIndex('payments_application_key').on(t.applicationId),
  index('payments_created_idx').on(t.createdAt),
  check('payments_status_valid', sql`${t.status} in (${inList(PAYMENT_STATUSES)})`),
  check('payments_amount_positive', sql`${t.amountFen} > 0`)
])

export const NOTIFICATION_OUTCOMES = ['RECORDED', 'DUPLICATE', 'ANOMALY', 'REJECTED'] as const

/** Every payment notification as received, with what was made of it. */
export const paymentNotifications = pgTable('payment_notifications', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  receivedAt: instant('received_at').notNull(),
  notificationId: text('notification_id'),
  paymentCode: text('payment_code'),
  amountFen: integer('amount_fen'),
  paidAt: instant('paid_at'),
  platformTransactionId: text('platform_transaction_id'),
  /** The exact bytes received (they may not even be text). */
  rawBody: bytea('raw_body').notNull(),
  signature: text('signature').notNull(),
  outcome: text('outcome', { enum: NOTIFICATION_OUTCOMES }).notNull(),
  /** Why the payment was not applied; a refund is due for anomalies. */
  anomalyReason: text('anomaly_reason'),
  paymentId: uuid('payment_id').references(() => payments.id),
  applicationId: uuid('application_id').references(() => applications.id)
}, (t) => [
  index('payment_notifications_code_idx').on(t.paymentCode),
  index('payment_notifications_notification_idx').on(t.notificationId),
  index('payment_notifications_received_idx').on(t.receivedAt)
])

export const timelineEvents = pgTable('timeline_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  applicationId: uuid('application_id').notNull().references(() => applications.id),
  type: text('type', { enum: TIMELINE_EVENT_TYPES }).notNull(),
  occurredAt: instant('occurred_at').notNull(),
  /** What the message needs: payment code, reason, station, changed fields (masked). */
  data: jsonb('data').$type<Record<string, unknown>>().notNull().default({})
}, (t) => [
  // Every event happens at most once per application: the database makes duplicates impossible.
  uniqueIndex('timeline_events_once_per_application').on(t.applicationId, t.type),
  check('timeline_events_type_valid', sql`${t.type} in (${inList(TIMELINE_EVENT_TYPES)})`)
])

export const idempotencyKeys = pgTable('idempotency_keys', {
  scope: text('scope').notNull(),
  key: text('key').notNull(),
  fingerprint: text('fingerprint').notNull(),
  state: text('state', { enum: ['IN_FLIGHT', 'COMPLETED'] }).notNull(),
  responseStatus: integer('response_status'),
  responseHeaders: jsonb('response_headers').$type<Record<string, string>>(),
  responseBody: text('response_body'),
  /** An in-flight key whose request died is released after this. */
  lockedUntil: instant('locked_until').notNull(),
  createdAt: instant('created_at').notNull(),
  expiresAt: instant('expires_at').notNull()
}, (t) => [
  primaryKey({ columns: [t.scope, t.key] }),
  index('idempotency_keys_expires_idx').on(t.expiresAt)
])

/** New cards' numbers, assigned when a replacement is collected. */
export const cardNumberSequence = pgSequence('card_number_seq', { startWith: 1, minValue: 1, maxValue: 99_999_999 })

export const OUTBOX_STATUSES = ['PENDING', 'SENT', 'FAILED'] as const

/** Messages to holders, written in the transaction that causes them and sent by a dispatcher in every replica. */
export const notificationOutbox = pgTable('notification_outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  applicationId: uuid('application_id').notNull().references(() => applications.id),
  kind: text('kind', { enum: ['READY_FOR_PICKUP'] }).notNull(),
  /** The phone, encrypted like the registry's. */
  recipientEnc: text('recipient_enc').notNull(),
  message: text('message').notNull(),
  status: text('status', { enum: OUTBOX_STATUSES }).notNull().default('PENDING'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: instant('next_attempt_at').notNull(),
  lastError: text('last_error'),
  createdAt: instant('created_at').notNull(),
  sentAt: instant('sent_at'),
  gaveUpAt: instant('gave_up_at')
}, (t) => [
  uniqueIndex('notification_outbox_once').on(t.applicationId, t.kind),
  index('notification_outbox_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'PENDING'`)
])
