// Masking of personal data in responses, matching how the 穗好办 app shows it.

// Code points, not UTF-16 units, so a character outside the BMP (rare CJK names, emoji) is never
// split into a broken half that would both leak bits and render as garbage.
function chars (value: string): string[] {
  return Array.from(value)
}

/**
 * First two and last two characters around exactly five stars ('44*****34'). The fixed star count
 * hides the length, which would otherwise tell the document type. Shorter numbers (passports,
 * permits) show one character at each end, so at most a fifth of them shows; four characters or
 * fewer are fully hidden.
 */
export function maskIdNumber (idNumber: string): string {
  const c = chars(idNumber)
  if (c.length <= 4) return '****'
  const shown = c.length < 10 ? 1 : 2
  return `${c.slice(0, shown).join('')}*****${c.slice(-shown).join('')}`
}

/** Card numbers are masked like document numbers ('A1*****78'). */
export function maskCardNumber (cardNumber: string): string {
  return maskIdNumber(cardNumber)
}

/**
 * '张*丰', '杨*', '欧**娜': the first character always shows, the last shows only when at least
 * one character stays hidden between them; a one-character name is fully hidden.
 */
export function maskName (name: string): string {
  const c = chars(name)
  if (c.length <= 1) return '*'.repeat(c.length)
  if (c.length === 2) return `${c[0]}*`
  return `${c[0]}${'*'.repeat(c.length - 2)}${c[c.length - 1]}`
}

/** First three and last four around four stars ('138****8000'); under eight characters fully hidden. */
export function maskPhone (phone: string): string {
  const c = chars(phone)
  if (c.length < 8) return '****'
  return `${c.slice(0, 3).join('')}****${c.slice(-4).join('')}`
}
