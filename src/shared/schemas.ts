// Schemas shared by several capabilities: ids, pagination, identity, and the standard error responses.
import { Type, type TSchema } from 'typebox'
import { ID_TYPES } from '../domain/identity.js'
import { ProblemSchema } from './problem.js'

export const UuidSchema = Type.String({ format: 'uuid', description: 'Identifier (UUID)' })
export const InstantSchema = Type.String({ format: 'date-time', description: 'RFC 3339 instant' })
export const DateSchema = Type.String({ format: 'date', description: 'Calendar date, YYYY-MM-DD' })

export const IdTypeSchema = Type.Enum(ID_TYPES, {
  description: '证件类型: RESIDENT_ID_CARD covers 身份证 and 户口簿'
})

export const IdentitySchema = Type.Object({
  countryRegion: Type.String({ pattern: '^[A-Za-z]{3}$', description: '国家/地区, ISO 3166-1 alpha-3 (CHN for mainland China)', examples: ['CHN'] }),
  idType: IdTypeSchema,
  idNumber: Type.String({ minLength: 5, maxLength: 32, description: '证件号码; an 18-character resident ID number is checked with ISO 7064 MOD 11-2' }),
  name: Type.String({ minLength: 1, maxLength: 50, description: '姓名 as on the document' })
}, { additionalProperties: false, description: 'The identity quadruple of a holder' })

export const MaskedIdentitySchema = Type.Object({
  countryRegion: Type.String({ description: '国家/地区, ISO 3166-1 alpha-3' }),
  idType: IdTypeSchema,
  idNumberMasked: Type.String({ description: 'ID number masked as the app shows it, e.g. 44*****34' }),
  nameMasked: Type.String({ description: 'Name masked as the app shows it, e.g. 张*三' })
}, { additionalProperties: false, description: 'The holder\'s identity, masked' })

export const DEFAULT_PAGE_SIZE = 20

// Optional with a default: the validator fills it in, and the document does not mark it required.
export const PaginationQuerySchema = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULT_PAGE_SIZE, description: 'Page size, 1 to 100' })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'Opaque cursor from the previous page\'s nextCursor' }))
}

export function pageOf<T extends TSchema> (item: T, description: string) {
  return Type.Object({
    items: Type.Array(item, { description }),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as ?cursor= for the next page; null on the last page' })
  }, { additionalProperties: false })
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed input: invalid JSON, wrong types, unknown or missing fields (problem lists every failing field)',
  401: 'No token, or a token that is invalid or expired',
  403: 'The token\'s role may not use this operation',
  404: 'Not found (also for another person\'s or another station\'s record)',
  409: 'Conflict with the current state',
  412: 'If-Match does not match the current ETag',
  413: 'Body too large',
  415: 'Unsupported content type',
  422: 'Well-formed, but a business rule refuses it',
  428: 'If-Match is required',
  429: 'Rate limited; see Retry-After',
  500: 'Unexpected server error (no internals are disclosed)',
  503: 'The database is unavailable; retry later'
}

export function problemResponse (status: number, description = ERROR_DESCRIPTIONS[status] ?? 'Error') {
  return { description, content: { 'application/problem+json': { schema: ProblemSchema } } }
}

/** The problem responses a route documents: every status it can answer with besides success. */
export function errorResponses (...statuses: number[]): Record<number, ReturnType<typeof problemResponse>> {
  const all = new Set([...statuses, 500])
  return Object.fromEntries([...all].sort().map((s) => [s, problemResponse(s)]))
}

/** Statuses every authenticated route can answer with. */
export const AUTHENTICATED = [401, 403, 503] as const
/** Statuses every route with a JSON body can answer with. */
export const JSON_BODY = [400, 413, 415] as const

export const bearerSecurity = [{ bearerAuth: [] }]
