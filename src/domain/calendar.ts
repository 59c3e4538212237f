// Calendar arithmetic in Asia/Shanghai (UTC+8 all year: China has not used daylight saving since 1991).
const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000

/** The Asia/Shanghai calendar date (YYYY-MM-DD) of an instant. */
export function shanghaiDate (instant: Date): string {
  return new Date(instant.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10)
}

/** The same month and day one year later; 29 February becomes 1 March. */
export function addOneYear (date: string): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  const next = new Date(Date.UTC(year + 1, month - 1, day))
  return next.toISOString().slice(0, 10)
}

/** The day a card's one-year warranty (质保期) ends: a replacement is free only before it. */
export function warrantyEndDate (issuedAt: string): string {
  return addOneYear(issuedAt)
}

const DAY_MS = 24 * 60 * 60 * 1000
const CALENDAR_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/

/** The instant at which the Asia/Shanghai calendar day `date` (YYYY-MM-DD) begins. */
export function startOfShanghaiDay (date: string): Date {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  const utcMidnight = Date.UTC(year, month - 1, day)
  // Date.UTC rolls 2026-02-30 over to March; refuse it rather than quietly pick another day.
  if (!CALENDAR_DATE.test(date) || new Date(utcMidnight).toISOString().slice(0, 10) !== date) {
    throw new RangeError('date must be a calendar date in YYYY-MM-DD form')
  }
  return new Date(utcMidnight - SHANGHAI_OFFSET_MS)
}

/**
 * When an unpaid application submitted at `submittedAt` expires: the start of the next Shanghai
 * calendar day. A submission at exactly 00:00:00 belongs to the day it opens, so it gets a full 24h.
 * Adding a fixed 24h is only correct because Shanghai has no daylight saving.
 */
export function paymentDeadline (submittedAt: Date): Date {
  if (Number.isNaN(submittedAt.getTime())) {
    throw new RangeError('submittedAt must be a valid date')
  }
  return new Date(startOfShanghaiDay(shanghaiDate(submittedAt)).getTime() + DAY_MS)
}
