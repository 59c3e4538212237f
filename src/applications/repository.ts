// Data access for applications, their payments and timeline events. Every function takes the caller's executor.
import { and, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm'
import { rowsOf, type Db, type Executor } from '../db/client.js'
import {
  applications, cards, payments, stations, timelineEvents, type ApplicationType, type TimelineEventType
} from '../db/schema.js'

export type ApplicationRow = typeof applications.$inferSelect
export type PaymentRow = typeof payments.$inferSelect
export type StationRow = typeof stations.$inferSelect
export type TimelineEventRow = typeof timelineEvents.$inferSelect

export interface ApplicationRecord {
  application: ApplicationRow
  payment: PaymentRow | null
  station: StationRow
}

function selectRecords (tx: Executor) {
  return tx.select({ application: applications, payment: payments, station: stations })
    .from(applications)
    .innerJoin(stations, eq(stations.id, applications.pickupStationId))
    .leftJoin(payments, eq(payments.applicationId, applications.id))
}

export async function loadApplication (tx: Executor, id: string, options: { forUpdate?: boolean } = {}): Promise<ApplicationRecord | null> {
  const query = selectRecords(tx).where(eq(applications.id, id)).limit(1)
  const [row] = options.forUpdate === true ? await query.for('update', { of: applications }) : await query
  return row ?? null
}

const preparedLoaders = new WeakMap<Executor, (id: string) => Promise<ApplicationRecord | null>>()

/**
 * The by-id read for requests outside a transaction, as a named prepared statement: Drizzle builds the
 * SQL once per process instead of on every request (the largest CPU cost of a read, per BENCHMARKS.md).
 */
export function applicationLoader (db: Db): (id: string) => Promise<ApplicationRecord | null> {
  let load = preparedLoaders.get(db)
  if (load === undefined) {
    const query = selectRecords(db).where(eq(applications.id, sql.placeholder('id'))).limit(1).prepare('load_application_by_id')
    load = async (id) => (await query.execute({ id }))[0] ?? null
    preparedLoaders.set(db, load)
  }
  return load
}

export async function findInProgress (tx: Executor, holderId: string): Promise<ApplicationRecord | null> {
  const [row] = await selectRecords(tx)
    .where(and(eq(applications.holderId, holderId), eq(applications.status, 'IN_PROGRESS'))).limit(1)
  return row ?? null
}

export interface Page { limit: number; after?: { createdAt: string; id: string } }

/** Newest first, keyset-paginated on (created_at, id). */
export async function listApplications (tx: Executor, where: SQL, page: Page): Promise<ApplicationRecord[]> {
  const after = page.after === undefined
    ? undefined
    : or(lt(applications.createdAt, new Date(page.after.createdAt)),
      and(eq(applications.createdAt, new Date(page.after.createdAt)), lt(applications.id, page.after.id)))
  return selectRecords(tx).where(after === undefined ? where : and(where, after))
    .orderBy(desc(applications.createdAt), desc(applications.id)).limit(page.limit)
}

export async function nextReferenceNo (tx: Executor, businessDate: string): Promise<string> {
  const [row] = rowsOf<{ value: string }>(await tx.execute(sql`select nextval('application_reference_seq')::text as value`))
  return `YF${businessDate.replaceAll('-', '')}${row!.value.padStart(6, '0')}`
}

export interface NewApplication {
  referenceNo: string
  holderId: string
  type: ApplicationType
  channel: 'SELF' | 'STATION'
  stage: 'AWAITING_PAYMENT' | 'AWAITING_APPROVAL' | 'PAID'
  pickupStationId: string
  createdByStationId: string | null
  oldCardId: string | null
  photo: { source: 'CARD' | 'UPLOAD'; photoId: string | null }
  feeFen: number
  expiresAt: Date | null
  details: Record<string, unknown>
}

/** Raises a unique violation on applications_one_in_progress when the holder already has one in progress. */
export async function insertApplication (tx: Executor, input: NewApplication, now: Date): Promise<ApplicationRow> {
  const [row] = await tx.insert(applications).values({
    referenceNo: input.referenceNo,
    holderId: input.holderId,
    type: input.type,
    channel: input.channel,
    status: 'IN_PROGRESS',
    stage: input.stage,
    pickupStationId: input.pickupStationId,
    createdByStationId: input.createdByStationId,
    oldCardId: input.oldCardId,
    photoSource: input.photo.source,
    photoId: input.photo.photoId,
    feeFen: input.feeFen,
    expiresAt: input.expiresAt,
    details: input.details,
    createdAt: now,
    updatedAt: now
  }).returning()
  return row!
}

export async function insertPayment (tx: Executor, input: { applicationId: string; code: string; amountFen: number; expiresAt: Date }, now: Date): Promise<PaymentRow> {
  const [row] = await tx.insert(payments).values({ ...input, status: 'PENDING', createdAt: now, updatedAt: now }).returning()
  return row!
}

/** Appends an event unless the application already has one of that type; true when it was added. */
export async function appendEvent (tx: Executor, applicationId: string, type: TimelineEventType, occurredAt: Date, data: Record<string, unknown> = {}): Promise<boolean> {
  const inserted = await tx.insert(timelineEvents).values({ applicationId, type, occurredAt, data })
    .onConflictDoNothing({ target: [timelineEvents.applicationId, timelineEvents.type] }).returning({ id: timelineEvents.id })
  return inserted.length === 1
}

export async function timelineOf (tx: Executor, applicationId: string): Promise<TimelineEventRow[]> {
  return tx.select().from(timelineEvents).where(eq(timelineEvents.applicationId, applicationId))
    .orderBy(timelineEvents.occurredAt, timelineEvents.id)
}

export async function reportCardLost (tx: Executor, cardId: string): Promise<void> {
  await tx.update(cards).set({ status: 'REPORTED_LOST' }).where(and(eq(cards.id, cardId), eq(cards.status, 'ACTIVE')))
}

/**
 * Closes unpaid applications past their deadline: stage EXPIRED_UNPAID, payment EXPIRED and the
 * EXPIRED_UNPAID event, in one statement. Sweeps skip rows another sweeper holds, so concurrent
 * sweepers share the work and each closure happens once; the holder-scoped call made before a new
 * submission waits for them instead, since it must know the outcome. Returns the number closed.
 */
export async function expireDue (tx: Executor, now: Date, scope: { limit: number } | { holderId: string }): Promise<number> {
  const filter = 'holderId' in scope ? sql`and holder_id = ${scope.holderId}` : sql``
  const limit = 'limit' in scope ? scope.limit : 1
  const [row] = rowsOf<{ closed: number }>(await tx.execute(sql`
    with due as (
      select id from applications
      where status = 'IN_PROGRESS' and stage = 'AWAITING_PAYMENT' and expires_at <= ${now} ${filter}
      order by expires_at
      limit ${limit}
      ${'holderId' in scope ? sql`for update` : sql`for update skip locked`}
    ), closed as (
      update applications a
      set status = 'CLOSED', stage = 'EXPIRED_UNPAID', outcome = 'EXPIRED_UNPAID', closed_at = a.expires_at,
          updated_at = ${now}, version = a.version + 1
      from due where a.id = due.id
      returning a.id, a.expires_at
    ), expired_payments as (
      update payments p set status = 'EXPIRED', updated_at = ${now}
      from closed where p.application_id = closed.id and p.status = 'PENDING'
      returning p.id
    ), events as (
      insert into timeline_events (application_id, type, occurred_at, data)
      select id, 'EXPIRED_UNPAID', expires_at, '{}'::jsonb from closed
      on conflict (application_id, type) do nothing
      returning id
    )
    select (select count(*) from closed)::int as closed, (select count(*) from expired_payments)::int as payments,
           (select count(*) from events)::int as events`))
  return row!.closed
}

export async function bumpVersion (tx: Executor, id: string, changes: Partial<ApplicationRow>, now: Date): Promise<ApplicationRow> {
  const [row] = await tx.update(applications)
    .set({ ...changes, updatedAt: now, version: sql`${applications.version} + 1` })
    .where(eq(applications.id, id)).returning()
  return row!
}
