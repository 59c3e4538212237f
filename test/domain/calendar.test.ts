// Asia/Shanghai calendar dates and the one-year warranty end.
import t from 'tap'
import { addOneYear, shanghaiDate, warrantyEndDate } from '../../src/domain/calendar.js'

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
