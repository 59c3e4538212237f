// Keyset pagination of application lists (newest first), shared by the holder's and the station's lists.
import { and, eq, lte, sql, type SQL } from 'drizzle-orm'
import { applications, type Stage } from '../db/schema.js'
import { decodeCursor, encodeCursor } from '../shared/cursor.js'
import type { ApplicationRecord, Page } from './repository.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const isListCursor = (value: unknown): value is { createdAt: string; id: string } => {
  const { createdAt, id } = (value ?? {}) as { createdAt?: unknown; id?: unknown }
  if (typeof createdAt !== 'string' || typeof id !== 'string' || !UUID.test(id)) return false
  // Only what this list issued: an instant that round-trips, in a year PostgreSQL stores.
  const instant = new Date(createdAt)
  return !Number.isNaN(instant.getTime()) && instant.toISOString() === createdAt && instant.getUTCFullYear() >= 1900 && instant.getUTCFullYear() <= 2999
}

/** The page request: one row more than asked, to know whether another page follows. */
export function pageRequest (limit: number, cursor: string | undefined): Page {
  const after = decodeCursor(cursor, isListCursor)
  return { limit: limit + 1, ...(after === undefined ? {} : { after }) }
}

export function pageOfRecords<T> (rows: ApplicationRecord[], limit: number, toItem: (record: ApplicationRecord) => T) {
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return {
    items: page.map(toItem),
    nextCursor: rows.length > limit && last !== undefined
      ? encodeCursor({ createdAt: last.application.createdAt.toISOString(), id: last.application.id })
      : null
  }
}

/** A stage filter as readers see stages: an unpaid application past its deadline is EXPIRED_UNPAID already. */
export function effectiveStageIs (stage: Stage, now: Date): SQL {
  const pastDeadline = and(eq(applications.status, 'IN_PROGRESS'), eq(applications.stage, 'AWAITING_PAYMENT'), lte(applications.expiresAt, now))!
  if (stage === 'AWAITING_PAYMENT') return sql`${eq(applications.stage, 'AWAITING_PAYMENT')} and not (${pastDeadline})`
  if (stage === 'EXPIRED_UNPAID') return sql`(${eq(applications.stage, 'EXPIRED_UNPAID')} or (${pastDeadline}))`
  return eq(applications.stage, stage)
}
