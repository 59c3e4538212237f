// Asia/Shanghai calendar dates and the one-year warranty end.
import t from 'tap'
import fc from 'fast-check'
import { addOneYear, paymentDeadline, shanghaiDate, startOfShanghaiDay, warrantyEndDate } from '../../src/domain/calendar.js'

t.test('the Shanghai date of an instant', async (t) => {
  t.equal(shanghaiDate(new Date('2026-12-01T15:59:59Z')), '2026-12-01')
  t.equal(shanghaiDate(new Date('2026-12-01T16:00:00Z')), '2026-12-02', 'midnight in Shanghai is 16:00 UTC')
  t.equal(shanghaiDate(new Date('2026-12-31T16:00:00Z')), '2027-01-01', 'the turn of the year')
})

t.test('one year later, and the warranty end', async (t) => {
  t.equal(addOneYear('2025-06-30'), '2026-06-30')
  t.equal(addOneYear('2024-02-29'), '2025-03-01', 'a leap day rolls over to 1 March')
  t.equal(warrantyEndDate('2026-12-31'), '2027-12-31')
})

t.test('the start of a Shanghai day', async (t) => {
  t.equal(startOfShanghaiDay('2026-12-02').toISOString(), '2026-12-01T16:00:00.000Z')
  t.equal(startOfShanghaiDay('2027-01-01').toISOString(), '2026-12-31T16:00:00.000Z')
  t.equal(startOfShanghaiDay('2024-02-29').toISOString(), '2024-02-28T16:00:00.000Z')
  t.throws(() => startOfShanghaiDay('2026-02-30'), RangeError, 'a day that does not exist')
  t.throws(() => startOfShanghaiDay('2025-02-29'), RangeError, 'not a leap year')
  t.throws(() => startOfShanghaiDay('2026-13-01'), RangeError)
  t.throws(() => startOfShanghaiDay('2026-1-01'), RangeError)
  t.throws(() => startOfShanghaiDay('20261201'), RangeError)
  t.throws(() => startOfShanghaiDay(''), RangeError)
})

t.test('the payment deadline is the next Shanghai midnight', async (t) => {
  t.equal(paymentDeadline(new Date('2026-12-01T15:59:30Z')).toISOString(), '2026-12-01T16:00:00.000Z',
    'submitted 23:59:30 Shanghai')
  t.equal(paymentDeadline(new Date('2026-12-01T15:59:59Z')).toISOString(), '2026-12-01T16:00:00.000Z',
    'submitted 23:59:59 Shanghai: one second to pay')
  t.equal(paymentDeadline(new Date('2026-12-01T15:59:59.999Z')).toISOString(), '2026-12-01T16:00:00.000Z',
    'one millisecond before midnight')
  t.equal(paymentDeadline(new Date('2026-12-01T16:00:00Z')).toISOString(), '2026-12-02T16:00:00.000Z',
    'submitted at exactly 00:00:00 Shanghai: a full 24 hours')
  t.equal(paymentDeadline(new Date('2026-12-31T15:59:00Z')).toISOString(), '2026-12-31T16:00:00.000Z',
    'the turn of the year')
  t.equal(shanghaiDate(paymentDeadline(new Date('2026-12-31T15:59:00Z'))), '2027-01-01')
  t.equal(paymentDeadline(new Date('2026-12-01T20:00:00Z')).toISOString(), '2026-12-02T16:00:00.000Z',
    'the UTC date is still 1 December but Shanghai is already at 04:00 on the 2nd')
  t.equal(paymentDeadline(new Date('2024-02-28T17:00:00Z')).toISOString(), '2024-02-29T16:00:00.000Z',
    'into a leap day')
  t.throws(() => paymentDeadline(new Date(Number.NaN)), RangeError)
})

t.test('property: the deadline is the following Shanghai midnight', async (t) => {
  const DAY_MS = 24 * 60 * 60 * 1000
  const nextDate = (date: string): string => {
    const [y, m, d] = date.split('-').map(Number) as [number, number, number]
    return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10)
  }
  t.doesNotThrow(() => fc.assert(fc.property(
    fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-12-31T23:59:59.999Z'), noInvalidDate: true }),
    (instant) => {
      const deadline = paymentDeadline(instant)
      const gap = deadline.getTime() - instant.getTime()
      return gap > 0 && gap <= DAY_MS &&
        shanghaiDate(deadline) === nextDate(shanghaiDate(instant)) &&
        deadline.getUTCHours() === 16 && deadline.getUTCMinutes() === 0 &&
        deadline.getUTCSeconds() === 0 && deadline.getUTCMilliseconds() === 0
    }
  ), { numRuns: 500 }))
})
