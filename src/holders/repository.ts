// Data access for holders: personal data is encrypted on the way in, decrypted on the way out, found by keyed hash.
import { and, eq, ne } from 'drizzle-orm'
import type { Executor } from '../db/client.js'
import { cards, holders, photos, type CardStatus } from '../db/schema.js'
import { identityLookupKey, type Identity, type IdType } from '../domain/identity.js'
import type { PiiCipher } from '../shared/pii.js'
import type { HolderRecord } from './schemas.js'

export interface NewHolder {
  identity: Identity
  phone: string
  card: { cardNumber: string; issuedAt: string; photo?: { jpeg: Buffer; width: number; height: number } }
}

interface CardRow { cardNumber: string; issuedAt: string; status: CardStatus; photoId: string | null }

export type HoldersRepository = ReturnType<typeof createHoldersRepository>

export function createHoldersRepository (pii: PiiCipher) {
  const selection = {
    holder: holders,
    card: { cardNumber: cards.cardNumber, issuedAt: cards.issuedAt, status: cards.status, photoId: cards.photoId }
  }

  function toRecord (row: { holder: typeof holders.$inferSelect; card: CardRow | null }): HolderRecord {
    const { holder, card } = row
    return {
      id: holder.id,
      identity: {
        countryRegion: holder.countryRegion,
        idType: holder.idType as IdType,
        idNumber: pii.decrypt(holder.idNumberEnc),
        name: holder.name
      },
      phone: pii.decrypt(holder.phoneEnc),
      card: card === null ? null : { cardNumber: card.cardNumber, issuedAt: card.issuedAt, status: card.status, hasPhoto: card.photoId !== null },
      createdAt: holder.createdAt,
      updatedAt: holder.updatedAt
    }
  }

  async function findWhere (tx: Executor, where: ReturnType<typeof eq>): Promise<HolderRecord | null> {
    const rows = await tx.select(selection).from(holders)
      .leftJoin(cards, and(eq(cards.holderId, holders.id), ne(cards.status, 'DEACTIVATED')))
      .where(where)
      .limit(1)
    return rows[0] === undefined ? null : toRecord(rows[0])
  }

  return {
    identityHash: (identity: Identity) => pii.hash(identityLookupKey(identity)),

    /** Inserts holder, card and photo. A registered identity raises the unique violation on holders_identity_hash_key. */
    async insert (tx: Executor, input: NewHolder, now: Date): Promise<HolderRecord> {
      let photoId: string | null = null
      if (input.card.photo !== undefined) {
        const [photo] = await tx.insert(photos).values({
          jpeg: input.card.photo.jpeg,
          width: input.card.photo.width,
          height: input.card.photo.height,
          bytes: input.card.photo.jpeg.length,
          createdAt: now
        }).returning({ id: photos.id })
        photoId = photo!.id
      }
      const [holder] = await tx.insert(holders).values({
        countryRegion: input.identity.countryRegion,
        idType: input.identity.idType,
        idNumberEnc: pii.encrypt(input.identity.idNumber),
        identityHash: pii.hash(identityLookupKey(input.identity)),
        name: input.identity.name,
        phoneEnc: pii.encrypt(input.phone),
        phoneHash: pii.hash(input.phone),
        createdAt: now,
        updatedAt: now
      }).returning()
      await tx.insert(cards).values({
        holderId: holder!.id,
        cardNumber: input.card.cardNumber,
        issuedAt: input.card.issuedAt,
        status: 'ACTIVE',
        photoId,
        createdAt: now
      })
      return {
        id: holder!.id,
        identity: input.identity,
        phone: input.phone,
        card: { cardNumber: input.card.cardNumber, issuedAt: input.card.issuedAt, status: 'ACTIVE', hasPhoto: photoId !== null },
        createdAt: now,
        updatedAt: now
      }
    },

    findById: (tx: Executor, id: string) => findWhere(tx, eq(holders.id, id)),

    /** Locks the holder row for the rest of the transaction. */
    async lock (tx: Executor, id: string): Promise<void> {
      await tx.select({ id: holders.id }).from(holders).where(eq(holders.id, id)).for('update')
    },

    /**
     * Rewrites identity and phone (an information change). A new identity that belongs to another
     * holder raises the unique violation on holders_identity_hash_key.
     */
    async update (tx: Executor, id: string, next: { identity: Identity; phone: string }, now: Date): Promise<void> {
      await tx.update(holders).set({
        countryRegion: next.identity.countryRegion,
        idType: next.identity.idType,
        idNumberEnc: pii.encrypt(next.identity.idNumber),
        identityHash: pii.hash(identityLookupKey(next.identity)),
        name: next.identity.name,
        phoneEnc: pii.encrypt(next.phone),
        phoneHash: pii.hash(next.phone),
        updatedAt: now
      }).where(eq(holders.id, id))
    },

    /** Just the id: what access checks need, without decrypting anything. */
    async idByIdentity (tx: Executor, identity: Identity): Promise<string | null> {
      const [row] = await tx.select({ id: holders.id }).from(holders).where(eq(holders.identityHash, pii.hash(identityLookupKey(identity)))).limit(1)
      return row?.id ?? null
    },

    findByIdentity: (tx: Executor, identity: Identity) => findWhere(tx, eq(holders.identityHash, pii.hash(identityLookupKey(identity))))
  }
}
