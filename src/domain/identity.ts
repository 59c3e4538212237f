// The identity quadruple (country/region, document type, document number, name): normalisation, validation and lookup key.

import { isValidMod11_2 } from './iso7064.js'

export const ID_TYPES = [
  'RESIDENT_ID_CARD',
  'HK_MACAO_PERMIT',
  'TAIWAN_PERMIT',
  'FOREIGN_PERMANENT_RESIDENT_ID',
  'PASSPORT'
] as const

export type IdType = typeof ID_TYPES[number]

export interface Identity {
  countryRegion: string
  idType: IdType
  idNumber: string
  name: string
}

export type IdentityField = 'countryRegion' | 'idType' | 'idNumber' | 'name'

export type IdentityIssueCode =
  | 'REQUIRED'
  | 'COUNTRY_REGION_FORMAT'
  | 'COUNTRY_REGION_MISMATCH'
  | 'ID_TYPE_UNKNOWN'
  | 'ID_NUMBER_FORMAT'
  | 'ID_BIRTH_DATE'
  | 'ID_CHECK_CHARACTER'
  | 'NAME_TOO_LONG'
  | 'NAME_CONTROL_CHARACTER'
  | 'NAME_DIGIT'

/**
 * One failed rule. `message` is a fixed English sentence and never quotes the input: issues are
 * returned to clients and may be logged, and ID numbers and names are sensitive (PIPL).
 */
export interface IdentityIssue {
  field: IdentityField
  code: IdentityIssueCode
  message: string
}

export interface ValidateIdentityOptions {
  /** Today's date (YYYY-MM-DD, Asia/Shanghai); birth dates after it are refused. Omitted: no upper bound. */
  today?: string
}

export const NAME_MAX_LENGTH = 50

const COUNTRY_REGION = /^[A-Z]{3}$/
const RESIDENT_ID = /^\d{17}[\dX]$/
const HK_MACAO_RESIDENT_PERMIT = /^8[12]0000\d{11}[\dX]$/
const HK_MACAO_TRAVEL_PERMIT = /^[HM]\d{8}(\d{2})?$/
const TAIWAN_RESIDENT_PERMIT = /^830000\d{11}[\dX]$/
const TAIWAN_TRAVEL_PERMIT = /^\d{8}$/
const FOREIGN_PR_OLD = /^[A-Z]{3}\d{12}$/
const FOREIGN_PR_NEW = /^9\d{16}[\dX]$/
const PASSPORT = /^[A-Z0-9]{5,17}$/
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/
// Cc/Cf/Cs: control, format (bidi overrides, zero-width) and lone surrogates can hide or reorder
// text on a card or a screen. Private-use (Co) stays allowed: rare name characters (生僻字) are
// commonly encoded there by Chinese government systems.
const NAME_CONTROL = /[\p{Cc}\p{Cf}\p{Cs}]/u
const NAME_DIGIT = /\p{Nd}/u

const ID_TYPE_SET: ReadonlySet<string> = new Set(ID_TYPES)

// Values may come from token claims or loosely typed callers; treating a non-string as empty
// turns it into a REQUIRED issue instead of a crash.
function text (value: unknown): string {
  return typeof value === 'string' ? value : ''
}

export function isIdType (value: unknown): value is IdType {
  return typeof value === 'string' && ID_TYPE_SET.has(value)
}

/**
 * Canonical form used for storage, hashing and comparison. Only case and whitespace are touched:
 * anything more (full-width digits, look-alike letters) would make two different documents equal.
 */
export function normalizeIdentity (i: Identity): Identity {
  return {
    countryRegion: text(i.countryRegion).trim().toUpperCase(),
    idType: text(i.idType).trim() as IdType,
    idNumber: text(i.idNumber).trim().toUpperCase(),
    // NFC so that a name typed with combining marks equals the precomposed one.
    name: text(i.name).replace(/\s+/g, ' ').trim().normalize('NFC')
  }
}

function daysInMonth (year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
    return leap ? 29 : 28
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

function isCalendarDate (year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)
}

function parseToday (today: string): string {
  const m = ISO_DATE.exec(today)
  if (m === null || !isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]))) {
    // A programming error, not a user error: fail loudly rather than accept every birth date.
    throw new RangeError('options.today must be a calendar date in YYYY-MM-DD form')
  }
  return `${m[1]}${m[2]}${m[3]}`
}

// `todayCompact` is YYYYMMDD, so plain string comparison orders dates correctly.
function isPlausibleBirthDate (yyyymmdd: string, todayCompact: string | undefined): boolean {
  const year = Number(yyyymmdd.slice(0, 4))
  const month = Number(yyyymmdd.slice(4, 6))
  const day = Number(yyyymmdd.slice(6, 8))
  if (year < 1900 || !isCalendarDate(year, month, day)) return false
  return todayCompact === undefined || yyyymmdd <= todayCompact
}

function numberIssue (code: IdentityIssueCode, message: string): IdentityIssue {
  return { field: 'idNumber', code, message }
}

function checkCharacterIssue (): IdentityIssue {
  return numberIssue('ID_CHECK_CHARACTER', 'ID number check character is wrong')
}

// Permits that follow the GB 11643 layout: the shape decides the format, then the check character.
function checkGbStyleNumber (
  idNumber: string,
  shapes: RegExp[],
  gbShape: RegExp,
  formatMessage: string
): IdentityIssue[] {
  if (gbShape.test(idNumber)) {
    return isValidMod11_2(idNumber) ? [] : [checkCharacterIssue()]
  }
  if (shapes.some((shape) => shape.test(idNumber))) return []
  return [numberIssue('ID_NUMBER_FORMAT', formatMessage)]
}

function checkResidentId (idNumber: string, todayCompact: string | undefined): IdentityIssue[] {
  if (!RESIDENT_ID.test(idNumber)) {
    return [numberIssue('ID_NUMBER_FORMAT', 'Resident ID number must be 17 digits followed by a digit or X')]
  }
  const issues: IdentityIssue[] = []
  if (!isPlausibleBirthDate(idNumber.slice(6, 14), todayCompact)) {
    issues.push(numberIssue('ID_BIRTH_DATE', 'ID number does not contain a valid birth date'))
  }
  if (!isValidMod11_2(idNumber)) issues.push(checkCharacterIssue())
  return issues
}

function checkIdNumber (idType: IdType, idNumber: string, todayCompact: string | undefined): IdentityIssue[] {
  switch (idType) {
    case 'RESIDENT_ID_CARD':
      return checkResidentId(idNumber, todayCompact)
    case 'HK_MACAO_PERMIT':
      return checkGbStyleNumber(idNumber, [HK_MACAO_TRAVEL_PERMIT], HK_MACAO_RESIDENT_PERMIT,
        'Hong Kong/Macao permit number format is not recognised')
    case 'TAIWAN_PERMIT':
      return checkGbStyleNumber(idNumber, [TAIWAN_TRAVEL_PERMIT], TAIWAN_RESIDENT_PERMIT,
        'Taiwan permit number format is not recognised')
    case 'FOREIGN_PERMANENT_RESIDENT_ID':
      return checkGbStyleNumber(idNumber, [FOREIGN_PR_OLD], FOREIGN_PR_NEW,
        'Foreign permanent resident ID number format is not recognised')
    case 'PASSPORT':
      return PASSPORT.test(idNumber)
        ? []
        : [numberIssue('ID_NUMBER_FORMAT', 'Passport number must be 5 to 17 letters or digits')]
  }
}

function checkName (name: string): IdentityIssue[] {
  if (name === '') return [{ field: 'name', code: 'REQUIRED', message: 'Name is required' }]
  const issues: IdentityIssue[] = []
  if (Array.from(name).length > NAME_MAX_LENGTH) {
    issues.push({ field: 'name', code: 'NAME_TOO_LONG', message: 'Name must be at most 50 characters' })
  }
  if (NAME_CONTROL.test(name)) {
    issues.push({ field: 'name', code: 'NAME_CONTROL_CHARACTER', message: 'Name must not contain control or invisible characters' })
  }
  if (NAME_DIGIT.test(name)) {
    issues.push({ field: 'name', code: 'NAME_DIGIT', message: 'Name must not contain digits' })
  }
  return issues
}

/**
 * All rule violations of the identity, empty when valid. Validates the normalised form, so raw
 * input may be passed; store and hash `normalizeIdentity(i)`, not the raw value.
 */
export function validateIdentity (i: Identity, options: ValidateIdentityOptions = {}): IdentityIssue[] {
  const todayCompact = options.today === undefined ? undefined : parseToday(options.today)
  const n = normalizeIdentity(i)
  const issues: IdentityIssue[] = []

  if (n.countryRegion === '') {
    issues.push({ field: 'countryRegion', code: 'REQUIRED', message: 'Country or region is required' })
  } else if (!COUNTRY_REGION.test(n.countryRegion)) {
    issues.push({ field: 'countryRegion', code: 'COUNTRY_REGION_FORMAT', message: 'Country or region must be an ISO 3166-1 alpha-3 code' })
  } else if (n.idType === 'RESIDENT_ID_CARD' && n.countryRegion !== 'CHN') {
    issues.push({ field: 'countryRegion', code: 'COUNTRY_REGION_MISMATCH', message: 'Resident identity cards require country or region CHN' })
  }

  const typeOk = isIdType(n.idType)
  if ((n.idType as string) === '') {
    issues.push({ field: 'idType', code: 'REQUIRED', message: 'ID type is required' })
  } else if (!typeOk) {
    issues.push({ field: 'idType', code: 'ID_TYPE_UNKNOWN', message: 'ID type is not supported' })
  }

  if (n.idNumber === '') {
    issues.push(numberIssue('REQUIRED', 'ID number is required'))
  } else if (typeOk) {
    // Without a known type there is no format to check the number against.
    issues.push(...checkIdNumber(n.idType, n.idNumber, todayCompact))
  }

  issues.push(...checkName(n.name))
  return issues
}

/**
 * Canonical input for the keyed lookup hash. The name is left out on purpose: the same document
 * is the same person, and a name change must not orphan the holder's records.
 */
export function identityLookupKey (i: Identity): string {
  const n = normalizeIdentity(i)
  return `${n.countryRegion}|${n.idType}|${n.idNumber}`
}
