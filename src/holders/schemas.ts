// API schemas of the holder registry, and the one mapping from a holder record to its masked API shape.
import { Type, type Static } from 'typebox'
import { warrantyEndDate } from '../domain/calendar.js'
import type { Identity } from '../domain/identity.js'
import { maskCardNumber, maskIdNumber, maskName, maskPhone } from '../domain/masking.js'
import { CARD_STATUSES } from '../db/schema.js'
import { DateSchema, IdentitySchema, InstantSchema, MaskedIdentitySchema, UuidSchema } from '../shared/schemas.js'

export const PhoneSchema = Type.String({ pattern: '^1[3-9][0-9]{9}$', description: 'Mainland mobile number, 11 digits; SMS notices go here' })

export const RegisterHolderSchema = Type.Object({
  identity: IdentitySchema,
  phone: PhoneSchema,
  card: Type.Object({
    cardNumber: Type.String({ pattern: '^[A-Z0-9]{6,20}$', description: 'Card number of the current card' }),
    issuedAt: { ...DateSchema, description: 'Issue date of the current card (starts its one-year warranty)' },
    photoJpegBase64: Type.Optional(Type.String({ maxLength: 1_000_000, description: 'The card photo, base64 JPEG, 358×441 pixels' }))
  }, { additionalProperties: false, description: 'The holder\'s current card' })
}, { additionalProperties: false })
export type RegisterHolder = Static<typeof RegisterHolderSchema>

export const CardSchema = Type.Object({
  cardNumberMasked: Type.String({ description: 'Card number, masked' }),
  issuedAt: { ...DateSchema, description: 'Issue date' },
  status: Type.Enum(CARD_STATUSES, { description: 'ACTIVE, REPORTED_LOST (挂失) or DEACTIVATED' }),
  warrantyEndsOn: { ...DateSchema, description: 'First day the card is out of its one-year warranty' },
  hasPhoto: Type.Boolean({ description: 'Whether the card photo is on file (it can be reused for the new card)' })
}, { additionalProperties: false })

export const HolderSchema = Type.Object({
  id: UuidSchema,
  identity: MaskedIdentitySchema,
  phoneMasked: Type.String({ description: 'Phone, masked, e.g. 138****8000' }),
  card: Type.Union([CardSchema, Type.Null()], { description: 'The current card, or null when none is on file' }),
  createdAt: InstantSchema,
  updatedAt: InstantSchema
}, { additionalProperties: false })
export type HolderView = Static<typeof HolderSchema>

export const HolderParamsSchema = Type.Object({ holderId: UuidSchema })

/** A holder with personal data decrypted; lives only in memory, never logged or returned as is. */
export interface HolderRecord {
  id: string
  identity: Identity
  phone: string
  card: { cardNumber: string; issuedAt: string; status: typeof CARD_STATUSES[number]; hasPhoto: boolean } | null
  createdAt: Date
  updatedAt: Date
}

export function toHolderView (holder: HolderRecord): HolderView {
  return {
    id: holder.id,
    identity: {
      countryRegion: holder.identity.countryRegion,
      idType: holder.identity.idType,
      idNumberMasked: maskIdNumber(holder.identity.idNumber),
      nameMasked: maskName(holder.identity.name)
    },
    phoneMasked: maskPhone(holder.phone),
    card: holder.card === null
      ? null
      : {
          cardNumberMasked: maskCardNumber(holder.card.cardNumber),
          issuedAt: holder.card.issuedAt,
          status: holder.card.status,
          warrantyEndsOn: warrantyEndDate(holder.card.issuedAt),
          hasPhoto: holder.card.hasPhoto
        },
    createdAt: holder.createdAt.toISOString(),
    updatedAt: holder.updatedAt.toISOString()
  }
}
