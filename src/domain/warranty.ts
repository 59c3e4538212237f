// Warranty replacement (质保期换卡): free within one year of issue, for damage not caused by a person.
import { warrantyEndDate } from './calendar.js'

export const HUMAN_DAMAGE_CAUSES = ['SCRATCH', 'DENT', 'FOLD', 'HOLE', 'BREAK', 'STAIN', 'FILM_LIFTED', 'CHIP_CORRODED', 'CHIP_DETACHED'] as const
export const NON_HUMAN_DAMAGE_CAUSES = ['CHIP_UNREADABLE', 'PRINT_DEFECT', 'OTHER_NON_HUMAN'] as const
export const DAMAGE_CAUSES = [...HUMAN_DAMAGE_CAUSES, ...NON_HUMAN_DAMAGE_CAUSES] as const
export type DamageCause = typeof DAMAGE_CAUSES[number]

export type WarrantyVerdict =
  | { eligible: true; warrantyEndsOn: string }
  | { eligible: false; reason: 'OUT_OF_WARRANTY' | 'HUMAN_DAMAGE'; detail: string; warrantyEndsOn: string; humanCauses: DamageCause[] }

/** `today` is the Asia/Shanghai date; eligible only before the first anniversary of the issue date. */
export function checkWarranty (issuedAt: string, today: string, causes: readonly DamageCause[]): WarrantyVerdict {
  const warrantyEndsOn = warrantyEndDate(issuedAt)
  const humanCauses = causes.filter((c) => (HUMAN_DAMAGE_CAUSES as readonly string[]).includes(c))
  if (today >= warrantyEndsOn) {
    return { eligible: false, reason: 'OUT_OF_WARRANTY', detail: `The card was issued on ${issuedAt}; its one-year warranty ended on ${warrantyEndsOn}`, warrantyEndsOn, humanCauses }
  }
  if (humanCauses.length > 0) {
    return { eligible: false, reason: 'HUMAN_DAMAGE', detail: `Damage caused by a person is not covered: ${humanCauses.join(', ')}`, warrantyEndsOn, humanCauses }
  }
  return { eligible: true, warrantyEndsOn }
}
