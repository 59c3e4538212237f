// Loads the sample stations and holders into an empty database, so a fresh service is usable at once.
import { sql } from 'drizzle-orm'
import { createHoldersRepository } from '../holders/repository.js'
import type { Clock } from '../shared/clock.js'
import type { PiiCipher } from '../shared/pii.js'
import type { Db } from './client.js'
import { SAMPLE_HOLDERS, SAMPLE_STATIONS } from './sample-data.js'
import { holders, stations } from './schema.js'

/** Sample stations get fixed ids, so `npm run token` can name one without asking the database. */
export function sampleStationId (index: number): string {
  return `5a3e0000-0000-4000-8000-${String(index + 1).padStart(12, '0')}`
}

export interface SeedResult { stations: number; holders: number }

/** Seeds each table only when it is empty; running it again changes nothing. */
export async function seedSampleData (db: Db, pii: PiiCipher, clock: Clock): Promise<SeedResult> {
  const now = clock.now()
  const repository = createHoldersRepository(pii)
  return db.transaction(async (tx) => {
    const result = { stations: 0, holders: 0 }
    const [stationCount] = await tx.select({ n: sql<number>`count(*)::int` }).from(stations)
    if (stationCount?.n === 0) {
      await tx.insert(stations).values(SAMPLE_STATIONS.map((s, i) => ({ ...s, id: sampleStationId(i), active: true, createdAt: now, updatedAt: now })))
      result.stations = SAMPLE_STATIONS.length
    }
    const [holderCount] = await tx.select({ n: sql<number>`count(*)::int` }).from(holders)
    if (holderCount?.n === 0) {
      for (const holder of SAMPLE_HOLDERS) {
        await repository.insert(tx, { identity: holder.identity, phone: holder.phone, card: holder.card }, now)
      }
      result.holders = SAMPLE_HOLDERS.length
    }
    return result
  })
}
