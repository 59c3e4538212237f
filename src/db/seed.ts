// Loads the sample stations and holders into an empty database, so a fresh service is usable at once.
import { sql } from 'drizzle-orm'
import { createHoldersRepository } from '../holders/repository.js'
import type { Clock } from '../shared/clock.js'
import type { PiiCipher } from '../shared/pii.js'
import type { Db } from './client.js'
import { CARD_PHOTO_HEIGHT, CARD_PHOTO_WIDTH } from '../domain/jpeg.js'
import { SAMPLE_HOLDERS, SAMPLE_STATIONS } from './sample-data.js'
import { SAMPLE_CARD_PHOTO_JPEG_BASE64 } from './sample-photo.js'
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
      const jpeg = Buffer.from(SAMPLE_CARD_PHOTO_JPEG_BASE64, 'base64')
      for (const holder of SAMPLE_HOLDERS) {
        // The photo is on file, so a sample holder can apply keeping the card photo.
        const photo = { jpeg, width: CARD_PHOTO_WIDTH, height: CARD_PHOTO_HEIGHT }
        await repository.insert(tx, { identity: holder.identity, phone: holder.phone, card: { ...holder.card, photo } }, now)
      }
      result.holders = SAMPLE_HOLDERS.length
    }
    return result
  })
}
