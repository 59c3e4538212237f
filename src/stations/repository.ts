// Data access for stations: listing (optionally nearest first), creating and updating.
import { and, asc, eq, sql, type SQL } from 'drizzle-orm'
import type { Executor } from '../db/client.js'
import { stations } from '../db/schema.js'
import type { CreateStation, UpdateStation } from './schemas.js'

export type StationRow = typeof stations.$inferSelect

export interface StationFilter {
  district?: string
  includeInactive: boolean
  near?: { latitude: number; longitude: number }
  offset: number
  limit: number
}

const EARTH_RADIUS_METERS = 6_371_008.8

/** Haversine distance in SQL, so sorting and paging happen in the database. */
function distanceSql (near: { latitude: number; longitude: number }): SQL<number> {
  return sql<number>`round(2 * ${EARTH_RADIUS_METERS}::double precision * asin(sqrt(
    power(sin(radians(${stations.latitude} - ${near.latitude}) / 2), 2) +
    cos(radians(${near.latitude})) * cos(radians(${stations.latitude})) *
    power(sin(radians(${stations.longitude} - ${near.longitude}) / 2), 2))))::integer`
}

export async function listStations (tx: Executor, filter: StationFilter): Promise<Array<{ row: StationRow; distanceMeters?: number }>> {
  const conditions: SQL[] = []
  if (filter.district !== undefined) conditions.push(eq(stations.districtCode, filter.district))
  if (!filter.includeInactive) conditions.push(eq(stations.active, true))
  const where = conditions.length > 0 ? and(...conditions) : undefined
  if (filter.near !== undefined) {
    const distance = distanceSql(filter.near)
    const rows = await tx.select({ row: stations, distanceMeters: distance }).from(stations).where(where)
      .orderBy(distance, asc(stations.id)).limit(filter.limit).offset(filter.offset)
    return rows.map((r) => ({ row: r.row, distanceMeters: Number(r.distanceMeters) }))
  }
  const rows = await tx.select().from(stations).where(where)
    .orderBy(asc(stations.districtCode), asc(stations.name), asc(stations.id)).limit(filter.limit).offset(filter.offset)
  return rows.map((row) => ({ row }))
}

export async function insertStation (tx: Executor, input: CreateStation, now: Date): Promise<StationRow> {
  const [row] = await tx.insert(stations).values({ ...input, active: input.active ?? true, createdAt: now, updatedAt: now }).returning()
  return row!
}

/** Locks the row so concurrent updates apply one after the other and the audit's "before" is true. */
export async function updateStation (tx: Executor, id: string, changes: UpdateStation, now: Date): Promise<{ before: StationRow; after: StationRow } | null> {
  const [before] = await tx.select().from(stations).where(eq(stations.id, id)).for('update')
  if (before === undefined) return null
  const [after] = await tx.update(stations).set({ ...changes, updatedAt: now }).where(eq(stations.id, id)).returning()
  return { before, after: after! }
}
