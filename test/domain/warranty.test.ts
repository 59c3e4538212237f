// Warranty replacement (质保期换卡): free before the first anniversary of issue, and only for damage not caused by a person.
import t from 'tap'
import { checkWarranty, DAMAGE_CAUSES, HUMAN_DAMAGE_CAUSES, NON_HUMAN_DAMAGE_CAUSES, type DamageCause } from '../../src/domain/warranty.js'

const NON_HUMAN: DamageCause[] = ['CHIP_UNREADABLE']

t.test('the cause lists are the API enumerations', async (t) => {
  t.same([...HUMAN_DAMAGE_CAUSES].sort(), ['BREAK', 'CHIP_CORRODED', 'CHIP_DETACHED', 'DENT', 'FILM_LIFTED', 'FOLD', 'HOLE', 'SCRATCH', 'STAIN'])
  t.same([...NON_HUMAN_DAMAGE_CAUSES].sort(), ['CHIP_UNREADABLE', 'OTHER_NON_HUMAN', 'PRINT_DEFECT'])
  t.equal(DAMAGE_CAUSES.length, 12)
  t.same(new Set(DAMAGE_CAUSES), new Set([...HUMAN_DAMAGE_CAUSES, ...NON_HUMAN_DAMAGE_CAUSES]))
})

t.test('the first anniversary is already out of warranty; the day before is in', async (t) => {
  t.same(checkWarranty('2025-12-01', '2026-11-30', NON_HUMAN), { eligible: true, warrantyEndsOn: '2026-12-01' }, 'the day before the anniversary')
  const anniversary = checkWarranty('2025-12-01', '2026-12-01', NON_HUMAN)
  t.match(anniversary, { eligible: false, reason: 'OUT_OF_WARRANTY', warrantyEndsOn: '2026-12-01', humanCauses: [] }, 'exactly one year')
  t.match(anniversary, { detail: /2025-12-01/ })
  t.match(checkWarranty('2025-11-30', '2026-12-01', NON_HUMAN), { eligible: false, reason: 'OUT_OF_WARRANTY', warrantyEndsOn: '2026-11-30' }, '366 days')
  t.match(checkWarranty('2025-12-02', '2026-12-01', NON_HUMAN), { eligible: true, warrantyEndsOn: '2026-12-02' }, '364 days')
  t.match(checkWarranty('2026-12-01', '2026-12-01', NON_HUMAN), { eligible: true }, 'issued today')
  t.match(checkWarranty('2026-06-30', '2026-12-01', NON_HUMAN), { eligible: true, warrantyEndsOn: '2027-06-30' })
  t.match(checkWarranty('2020-01-01', '2026-12-01', NON_HUMAN), { eligible: false, reason: 'OUT_OF_WARRANTY' }, 'years ago')
})

t.test('a card issued on a leap day: the warranty ends on 1 March', async (t) => {
  t.same(checkWarranty('2024-02-29', '2025-02-28', NON_HUMAN), { eligible: true, warrantyEndsOn: '2025-03-01' })
  t.match(checkWarranty('2024-02-29', '2025-03-01', NON_HUMAN), { eligible: false, reason: 'OUT_OF_WARRANTY', warrantyEndsOn: '2025-03-01' })
})

t.test('dates compare as dates across month and year ends', async (t) => {
  t.match(checkWarranty('2025-12-31', '2026-12-30', NON_HUMAN), { eligible: true, warrantyEndsOn: '2026-12-31' })
  t.match(checkWarranty('2025-12-31', '2026-12-31', NON_HUMAN), { eligible: false, reason: 'OUT_OF_WARRANTY' })
  t.match(checkWarranty('2025-01-31', '2026-01-30', NON_HUMAN), { eligible: true, warrantyEndsOn: '2026-01-31' })
})

t.test('every human cause is refused, alone or mixed with a non-human one', async (t) => {
  for (const cause of HUMAN_DAMAGE_CAUSES) {
    const alone = checkWarranty('2026-06-30', '2026-12-01', [cause])
    t.match(alone, { eligible: false, reason: 'HUMAN_DAMAGE', warrantyEndsOn: '2027-06-30' }, cause)
    t.same(alone.eligible === false && alone.humanCauses, [cause], `${cause} named`)
    t.match(alone, { detail: new RegExp(cause) })
    const mixed = checkWarranty('2026-06-30', '2026-12-01', ['CHIP_UNREADABLE', cause, 'PRINT_DEFECT'])
    t.match(mixed, { eligible: false, reason: 'HUMAN_DAMAGE' }, `${cause} with non-human causes`)
    t.same(mixed.eligible === false && mixed.humanCauses, [cause], 'only the human cause is named')
  }
  const several = checkWarranty('2026-06-30', '2026-12-01', ['SCRATCH', 'CHIP_UNREADABLE', 'FOLD'])
  t.same(several.eligible === false && several.humanCauses, ['SCRATCH', 'FOLD'])
})

t.test('every non-human cause is accepted, alone and together', async (t) => {
  for (const cause of NON_HUMAN_DAMAGE_CAUSES) {
    t.same(checkWarranty('2026-06-30', '2026-12-01', [cause]), { eligible: true, warrantyEndsOn: '2027-06-30' }, cause)
  }
  t.same(checkWarranty('2026-06-30', '2026-12-01', [...NON_HUMAN_DAMAGE_CAUSES]), { eligible: true, warrantyEndsOn: '2027-06-30' })
})

t.test('out of warranty is reported first, still naming the human causes', async (t) => {
  const verdict = checkWarranty('2025-11-30', '2026-12-01', ['SCRATCH'])
  t.match(verdict, { eligible: false, reason: 'OUT_OF_WARRANTY' })
  t.same(verdict.eligible === false && verdict.humanCauses, ['SCRATCH'])
})
