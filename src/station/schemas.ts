// API schemas of the station counter (网点代办).
import { Type, type Static } from 'typebox'
import { ApplicationTypeSchema, PhotoChoiceSchema, StageSchema } from '../applications/schemas.js'
import { DAMAGE_CAUSES } from '../domain/warranty.js'
import { PhoneSchema } from '../holders/schemas.js'
import { IdTypeSchema, PaginationQuerySchema, UuidSchema } from '../shared/schemas.js'

export const EVIDENCE_DOCUMENT_TYPES = ['RESIDENT_ID_CARD', 'HOUSEHOLD_REGISTER', 'HK_MACAO_PERMIT', 'TAIWAN_PERMIT',
  'FOREIGN_PERMANENT_RESIDENT_ID', 'PASSPORT', 'NAME_CHANGE_CERTIFICATE', 'OTHER'] as const

export const ChangesSchema = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 50, description: 'New name (姓名)' })),
  phone: Type.Optional({ ...PhoneSchema, description: 'New mobile number' }),
  identity: Type.Optional(Type.Object({
    countryRegion: Type.String({ pattern: '^[A-Za-z]{3}$', description: 'New 国家/地区 (ISO 3166-1 alpha-3)' }),
    idType: IdTypeSchema,
    idNumber: Type.String({ minLength: 5, maxLength: 32, description: 'New 证件号码' })
  }, { additionalProperties: false, description: 'New identity document' }))
}, { additionalProperties: false, minProperties: 1, description: 'The key personal information to change (INFO_CHANGE only); at least one field must really change' })

export const EvidenceSchema = Type.Object({
  documentType: Type.Enum(EVIDENCE_DOCUMENT_TYPES, { description: 'The document the staff member checked' }),
  documentNumber: Type.String({ minLength: 1, maxLength: 50, description: 'Its number (stored encrypted)' }),
  note: Type.Optional(Type.String({ maxLength: 500, description: 'What was checked' }))
}, { additionalProperties: false, description: 'Evidence checked at the counter (INFO_CHANGE only)' })

export const DamageSchema = Type.Object({
  causes: Type.Array(Type.Enum(DAMAGE_CAUSES), {
    minItems: 1, maxItems: 12, uniqueItems: true,
    description: 'What is wrong with the card. Human damage (SCRATCH, DENT, FOLD, HOLE, BREAK, STAIN, FILM_LIFTED, CHIP_CORRODED, CHIP_DETACHED) is not covered by the warranty'
  }),
  description: Type.Optional(Type.String({ maxLength: 500, description: 'The staff member\'s assessment' }))
}, { additionalProperties: false, description: 'Damage assessment (WARRANTY only)' })

export const CounterApplicationSchema = Type.Object({
  holderId: { ...UuidSchema, description: 'The holder, identified at the counter' },
  type: ApplicationTypeSchema,
  pickupStationId: Type.Optional({ ...UuidSchema, description: 'Pickup station; default: the staff member\'s own station' }),
  oldCardConfirmed: Type.Boolean({ description: 'The old card was checked; must be true' }),
  photo: PhotoChoiceSchema,
  changes: Type.Optional(ChangesSchema),
  evidence: Type.Optional(EvidenceSchema),
  damage: Type.Optional(DamageSchema)
}, { additionalProperties: false })
export type CounterApplication = Static<typeof CounterApplicationSchema>

export const StationListQuerySchema = Type.Object({
  stage: Type.Optional(StageSchema),
  ...PaginationQuerySchema
})
