// The SQL each benchmarked endpoint issues, copied statement for statement from what Drizzle sends
// (captured from the service's pg client), for the raw `pg` baseline and the minimal-route server.
// Same texts, same parameters, same protocol (unnamed extended-protocol statements, array rows
// where Drizzle asks for them), same transactions; none of the service's HTTP, auth, validation,
// mapping or crypto work.
import type pg from 'pg'
import { paymentDeadline, shanghaiDate } from '../../src/domain/calendar.js'
import { composePaymentCode } from '../../src/domain/payment-code.js'

const cols = (table: string, names: string[]) => names.map((n) => `"${table}"."${n}"`).join(', ')
const APPLICATION = ['id', 'reference_no', 'holder_id', 'type', 'channel', 'status', 'stage', 'outcome', 'pickup_station_id',
  'created_by_station_id', 'old_card_id', 'photo_source', 'photo_id', 'fee_fen', 'details', 'expires_at', 'version', 'created_at',
  'updated_at', 'closed_at']
const PAYMENT = ['id', 'application_id', 'code', 'amount_fen', 'currency', 'status', 'expires_at', 'paid_at', 'platform_transaction_id',
  'created_at', 'updated_at']
const STATION = ['id', 'name', 'district_code', 'address', 'phone', 'latitude', 'longitude', 'active', 'created_at', 'updated_at']
const HOLDER = ['id', 'country_region', 'id_type', 'id_number_enc', 'identity_hash', 'name', 'phone_enc', 'phone_hash', 'created_at', 'updated_at']
const bare = (names: string[]) => names.map((n) => `"${n}"`).join(', ')

/** holders repository findWhere(identity_hash): the holder with the current card. */
export const HOLDER_BY_HASH = `select ${cols('holders', HOLDER)}, "cards"."card_number", "cards"."issued_at", "cards"."status", "cards"."photo_id" ` +
  'from "holders" left join "cards" on ("cards"."holder_id" = "holders"."id" and "cards"."status" <> $1) where "holders"."identity_hash" = $2 limit $3'

/** applications repository selectRecords(): application, station and payment. */
const RECORDS = `select ${cols('applications', APPLICATION)}, ${cols('payments', PAYMENT)}, ${cols('stations', STATION)} from "applications" ` +
  'inner join "stations" on "stations"."id" = "applications"."pickup_station_id" left join "payments" on "payments"."application_id" = "applications"."id"'
export const RECORD_BY_ID = `${RECORDS} where "applications"."id" = $1 limit $2`
export const RECORD_BY_ID_FOR_UPDATE = `${RECORD_BY_ID} for update of "applications"`
export const RECORD_IN_PROGRESS = `${RECORDS} where ("applications"."holder_id" = $1 and "applications"."status" = $2) limit $3`
export const RECORDS_OF_HOLDER = `${RECORDS} where "applications"."holder_id" = $1 order by "applications"."created_at" desc, "applications"."id" desc limit $2`

export const STATION_ACTIVE = 'select "active" from "stations" where "stations"."id" = $1'
export const CURRENT_CARD = 'select "id", "holder_id", "card_number", "issued_at", "status", "photo_id", "created_at", "deactivated_at" from "cards" ' +
  'where ("cards"."holder_id" = $1 and "cards"."status" <> $2)'
export const NEXT_REFERENCE = "select nextval('application_reference_seq')::text as value"
export const NEXT_PAYMENT_CODE = "select nextval('payment_code_seq')::text as value"
export const INSERT_APPLICATION = `insert into "applications" (${bare(APPLICATION)}) values (default, $1, $2, $3, $4, $5, $6, default, $7, $8, $9, $10, $11, $12, $13, $14, default, $15, $16, default) returning ${bare(APPLICATION)}`
export const INSERT_PAYMENT = `insert into "payments" (${bare(PAYMENT)}) values (default, $1, $2, $3, default, $4, $5, default, default, $6, $7) returning ${bare(PAYMENT)}`
export const INSERT_EVENT = 'insert into "timeline_events" ("id", "application_id", "type", "occurred_at", "data") values (default, $1, $2, $3, $4) ' +
  'on conflict ("application_id","type") do nothing returning "id"'
export const REPORT_CARD_LOST = 'update "cards" set "status" = $1 where ("cards"."id" = $2 and "cards"."status" = $3)'
export const PAYMENT_BY_CODE_FOR_UPDATE = `select ${bare(PAYMENT)} from "payments" where "payments"."code" = $1 for update`
export const MARK_PAYMENT_PAID = 'update "payments" set "status" = $1, "paid_at" = $2, "platform_transaction_id" = $3, "updated_at" = $4 where "payments"."id" = $5'
export const BUMP_APPLICATION = 'update "applications" set "status" = $1, "stage" = $2, "outcome" = $3, "version" = "applications"."version" + 1, ' +
  `"updated_at" = $4, "closed_at" = $5 where "applications"."id" = $6 returning ${bare(APPLICATION)}`
export const INSERT_NOTIFICATION = 'insert into "payment_notifications" ("id", "received_at", "notification_id", "payment_code", "amount_fen", "paid_at", ' +
  '"platform_transaction_id", "raw_body", "signature", "outcome", "anomaly_reason", "payment_id", "application_id") ' +
  'values (default, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)'
export const eventsOf = (n: number) => 'select "id", "application_id", "type", "occurred_at", "data" from "timeline_events" where "timeline_events"."application_id" in (' +
  Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ') + ') order by "timeline_events"."occurred_at", "timeline_events"."id"'

/**
 * repository.expireDue: the holder-scoped form (before a submission) or the sweeper's batch form.
 * Parameters: holder form [now, holderId, 1, now, now]; batch form [now, limit, now, now].
 */
export function expireDueSql (holderScoped: boolean): string {
  const n = holderScoped ? 1 : 0
  return `
    with due as (
      select id from applications
      where status = 'IN_PROGRESS' and stage = 'AWAITING_PAYMENT' and expires_at <= $1 ${holderScoped ? 'and holder_id = $2' : ''}
      order by expires_at
      limit $${2 + n}
      ${holderScoped ? 'for update' : 'for update skip locked'}
    ), closed as (
      update applications a
      set status = 'CLOSED', stage = 'EXPIRED_UNPAID', outcome = 'EXPIRED_UNPAID', closed_at = a.expires_at,
          updated_at = $${3 + n}, version = a.version + 1
      from due where a.id = due.id
      returning a.id, a.expires_at
    ), expired_payments as (
      update payments p set status = 'EXPIRED', updated_at = $${4 + n}
      from closed where p.application_id = closed.id and p.status = 'PENDING'
      returning p.id
    ), events as (
      insert into timeline_events (application_id, type, occurred_at, data)
      select id, 'EXPIRED_UNPAID', expires_at, '{}'::jsonb from closed
      on conflict (application_id, type) do nothing
      returning id
    )
    select (select count(*) from closed)::int as closed, (select count(*) from expired_payments)::int as payments,
           (select count(*) from events)::int as events`
}
const EXPIRE_FOR_HOLDER = expireDueSql(true)

type Row = unknown[]
const arrays = async (c: pg.PoolClient | pg.Pool, text: string, values: unknown[]): Promise<Row[]> =>
  (await c.query({ text, values, rowMode: 'array' })).rows as Row[]
const objects = async (c: pg.PoolClient | pg.Pool, text: string, values: unknown[] = []) => (await c.query({ text, values })).rows as Array<Record<string, unknown>>

/** db.transaction(): begin, the work, commit; rollback on error. */
async function transaction<T> (pool: pg.Pool, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('begin')
    const result = await work(client)
    await client.query('commit')
    return result
  } catch (error) {
    await client.query('rollback').catch(() => undefined)
    throw error
  } finally {
    client.release()
  }
}

export class Conflict extends Error {}

export interface SubmitInput { identityHash: string; stationId: string; regionCode: string; feeFen: number; now: Date }

/** POST /v1/applications: holder look-up, then the submission transaction (submit.ts). */
export async function submitOnce (pool: pg.Pool, input: SubmitInput): Promise<Row> {
  const { now } = input
  const iso = now.toISOString()
  const [holder] = await arrays(pool, HOLDER_BY_HASH, ['DEACTIVATED', input.identityHash, 1])
  if (holder === undefined) throw new Error('holder not registered')
  const holderId = holder[0] as string
  return transaction(pool, async (tx) => {
    await objects(tx, EXPIRE_FOR_HOLDER, [now, holderId, 1, now, now])
    const [existing] = await arrays(tx, RECORD_IN_PROGRESS, [holderId, 'IN_PROGRESS', 1])
    if (existing !== undefined) throw new Conflict('application in progress')
    const [station] = await arrays(tx, STATION_ACTIVE, [input.stationId])
    if (station?.[0] !== true) throw new Error('station unavailable')
    const [card] = await arrays(tx, CURRENT_CARD, [holderId, 'DEACTIVATED'])
    if (card === undefined) throw new Error('no card')
    const businessDate = shanghaiDate(now)
    const expiresAt = paymentDeadline(now).toISOString()
    const [ref] = await objects(tx, NEXT_REFERENCE)
    const referenceNo = `YF${businessDate.replaceAll('-', '')}${String(ref!.value).padStart(6, '0')}`
    const [application] = await arrays(tx, INSERT_APPLICATION, [referenceNo, holderId, 'LOST', 'SELF', 'IN_PROGRESS', 'AWAITING_PAYMENT',
      input.stationId, null, card[0], 'CARD', card[5], input.feeFen, JSON.stringify({}), expiresAt, iso, iso])
    const applicationId = application![0] as string
    let code: string | null = null
    while (code === null) {
      const [seq] = await objects(tx, NEXT_PAYMENT_CODE)
      code = composePaymentCode(input.regionCode, businessDate.slice(2, 4), BigInt(String(seq!.value)))
    }
    await arrays(tx, INSERT_PAYMENT, [applicationId, code, input.feeFen, 'PENDING', expiresAt, iso, iso])
    await arrays(tx, INSERT_EVENT, [applicationId, 'SUBMITTED', iso, JSON.stringify({ paymentCode: code })])
    await objects(tx, REPORT_CARD_LOST, ['REPORTED_LOST', card[0], 'ACTIVE'])
    const [record] = await arrays(tx, RECORD_BY_ID, [applicationId, 1])
    return record!
  })
}

const NO_HOLDER = '00000000-0000-0000-0000-000000000000'

/** POST /v1/progress-queries (citizen): holder, applications and their events in one transaction. */
export async function progressOnce (pool: pg.Pool, input: { identityHash: string; name: string }): Promise<{ records: Row[]; events: Row[] }> {
  return transaction(pool, async (tx) => {
    const [holder] = await arrays(tx, HOLDER_BY_HASH, ['DEACTIVATED', input.identityHash, 1])
    const matches = holder !== undefined && holder[5] === input.name
    const records = await arrays(tx, RECORDS_OF_HOLDER, [matches ? holder[0] : NO_HOLDER, 50])
    const ids = records.map((r) => r[0])
    const events = await arrays(tx, eventsOf(Math.max(1, ids.length)), ids.length > 0 ? ids : [NO_HOLDER])
    return { records, events }
  })
}

/** GET /v1/applications/{id} (citizen): the record, then the citizen's holder to check ownership. */
export async function getOnce (pool: pg.Pool, input: { applicationId: string; identityHash: string }): Promise<Row> {
  const [record] = await arrays(pool, RECORD_BY_ID, [input.applicationId, 1])
  if (record === undefined) throw new Error('not found')
  const [holder] = await arrays(pool, HOLDER_BY_HASH, ['DEACTIVATED', input.identityHash, 1])
  if (holder === undefined || holder[0] !== record[2]) throw new Error('not visible')
  return record
}

export interface NotificationInput {
  notificationId: string
  paymentCode: string
  amountFen: number
  paidAt: string
  platformTransactionId: string
  rawBody: string
  signature: string
  now: Date
}

/** POST /v1/payment-notifications: the locked payment, the locked application, the updates and the delivery record. */
export async function notifyOnce (pool: pg.Pool, n: NotificationInput): Promise<string> {
  const iso = n.now.toISOString()
  return transaction(pool, async (tx) => {
    const [payment] = await arrays(tx, PAYMENT_BY_CODE_FOR_UPDATE, [n.paymentCode])
    const record = (outcome: string, anomaly: string | null, applicationId: unknown) => objects(tx, INSERT_NOTIFICATION, [iso, n.notificationId,
      n.paymentCode, n.amountFen, n.paidAt, n.platformTransactionId, n.rawBody, n.signature, outcome, anomaly, payment?.[0] ?? null, applicationId])
    if (payment === undefined) { await record('ANOMALY', 'UNKNOWN_CODE', null); return 'ANOMALY' }
    if (payment[5] === 'PAID') { await record('DUPLICATE', null, payment[1]); return 'DUPLICATE' }
    const [current] = await arrays(tx, RECORD_BY_ID_FOR_UPDATE, [payment[1], 1])
    const applicationId = current![0]
    await objects(tx, MARK_PAYMENT_PAID, ['PAID', n.paidAt, n.platformTransactionId, iso, payment[0]])
    await arrays(tx, BUMP_APPLICATION, ['IN_PROGRESS', 'PAID', null, iso, null, applicationId])
    await arrays(tx, INSERT_EVENT, [applicationId, 'PAYMENT_RECEIVED', iso, JSON.stringify({ paidAt: n.paidAt, platformTransactionId: n.platformTransactionId })])
    await record('RECORDED', null, applicationId)
    return 'RECORDED'
  })
}
