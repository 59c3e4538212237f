// Clocks: the manual clock tests move, and the shifted clock harnesses start processes with.
import t from 'tap'
import { ManualClock, shiftedClock, systemClock } from '../../src/shared/clock.js'

t.test('a manual clock stands still until moved', async (t) => {
  const clock = new ManualClock('2026-12-01T15:59:30Z')
  t.equal(clock.now().toISOString(), '2026-12-01T15:59:30.000Z')
  clock.advance(31_000)
  t.equal(clock.now().toISOString(), '2026-12-01T16:00:01.000Z')
  clock.set('2027-01-01T00:00:00Z')
  t.equal(clock.now().toISOString(), '2027-01-01T00:00:00.000Z')
})

t.test('a shifted clock starts at an instant and runs with its base', async (t) => {
  const base = new ManualClock('2026-06-01T00:00:00Z')
  const shifted = shiftedClock(new Date('2026-12-01T15:59:40Z'), base)
  t.equal(shifted.now().toISOString(), '2026-12-01T15:59:40.000Z')
  base.advance(25_000)
  t.equal(shifted.now().toISOString(), '2026-12-01T16:00:05.000Z')
  const real = shiftedClock(new Date('2030-01-01T00:00:00Z'))
  t.ok(Math.abs(real.now().getTime() - Date.parse('2030-01-01T00:00:00Z')) < 1000)
  t.ok(Math.abs(systemClock.now().getTime() - Date.now()) < 1000)
})
