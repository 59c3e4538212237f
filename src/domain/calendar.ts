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
