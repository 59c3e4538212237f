// Drizzle schema: the tables of the service. Columns are snake_case; API objects are mapped per resource.
import { sql } from 'drizzle-orm'
import {
  bigserial, boolean, check, customType, date, doublePrecision, index, integer, jsonb, pgTable, text,
  timestamp, uniqueIndex, uuid
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
