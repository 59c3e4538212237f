// Payment identification codes (缴款识别码): composing, issuing and checking the 20-digit code.

import { mod11_2CheckValue } from './iso7064.js'

/** Region (6) + year (2) + sequence (11) + check digit (1). */
export const PAYMENT_CODE_LENGTH = 20

const REGION_CODE = /^[0-9]{6}$/
const YEAR2 = /^[0-9]{2}$/
const BUSINESS_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/
// ASCII only on purpose: full-width digits would pass a Unicode-aware check and then be refused by the platform.
const PAYMENT_CODE = /^[0-9]{20}$/

const SEQUENCE_DIGITS = 11
const MIN_SEQUENCE = 1n
const MAX_SEQUENCE = 99_999_999_999n

/**
 * Roughly 1 in 11 sequences has check value 10 and is skipped; twenty skips in a row means the
 * sequence source is broken (e.g. returns the same value), not bad luck, so we stop instead of looping.
 */
const MAX_ISSUE_ATTEMPTS = 20

function assertRegionCode (regionCode: string): void {
  if (!REGION_CODE.test(regionCode)) {
    throw new RangeError('regionCode must be 6 ASCII digits')
  }
}

function toSequence (sequence: bigint | number): bigint {
  // A non-integer number would be silently truncated or rejected by BigInt() with a vaguer message.
  if (typeof sequence === 'number' && !Number.isSafeInteger(sequence)) {
    throw new RangeError('sequence must be an integer')
  }
  const value = BigInt(sequence)
  if (value < MIN_SEQUENCE || value > MAX_SEQUENCE) {
    throw new RangeError(`sequence must be between ${MIN_SEQUENCE} and ${MAX_SEQUENCE}`)
  }
  return value
}

/**
 * The full code for one sequence number, or null when its check value would be 10: the code must
 * stay all digits (no 'X'), so the caller takes the next sequence instead.
 */
export function composePaymentCode (regionCode: string, year2: string, sequence: bigint | number): string | null {
  assertRegionCode(regionCode)
  if (!YEAR2.test(year2)) {
    throw new RangeError('year2 must be 2 ASCII digits')
  }
  const body = regionCode + year2 + toSequence(sequence).toString().padStart(SEQUENCE_DIGITS, '0')
  const check = mod11_2CheckValue(body)
  return check === 10 ? null : body + String(check)
}

/**
 * Issue a fresh code for an application submitted on `businessDate` (YYYY-MM-DD, Asia/Shanghai).
 * Skipped sequences are simply never used: codes must be unique forever, gaps are harmless.
 */
export async function issuePaymentCode (
  regionCode: string,
  businessDate: string,
  nextSequence: () => Promise<bigint>
): Promise<string> {
  // Validate before drawing from the sequence, so a bad argument does not burn numbers.
  assertRegionCode(regionCode)
  if (!BUSINESS_DATE.test(businessDate)) {
    throw new RangeError('businessDate must be a date in YYYY-MM-DD form')
  }
  const year2 = businessDate.slice(2, 4)
  for (let attempt = 0; attempt < MAX_ISSUE_ATTEMPTS; attempt++) {
    const code = composePaymentCode(regionCode, year2, await nextSequence())
    if (code !== null) return code
  }
  throw new Error(`no usable payment code sequence after ${MAX_ISSUE_ATTEMPTS} attempts`)
}

export type PaymentCodeProblem = 'FORMAT' | 'CHECK_DIGIT'

/** Parse and verify a code presented by anyone (applicant, platform, lookup); never throws. */
export function checkPaymentCode (code: string):
  { ok: true; regionCode: string; year2: string; sequence: bigint } |
  { ok: false; problem: PaymentCodeProblem } {
  if (!PAYMENT_CODE.test(code)) return { ok: false, problem: 'FORMAT' }
  // A body whose check value is 10 can never match a digit, which is exactly why such codes are never issued.
  if (mod11_2CheckValue(code.slice(0, -1)) !== Number(code.slice(-1))) {
    return { ok: false, problem: 'CHECK_DIGIT' }
  }
  return {
    ok: true,
    regionCode: code.slice(0, 6),
    year2: code.slice(6, 8),
    sequence: BigInt(code.slice(8, 19))
  }
}
