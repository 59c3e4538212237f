// ISO 7064 MOD 11-2 check character, shared by resident ID numbers (GB 11643) and payment codes.

const DIGITS = /^\d+$/

/**
 * Check value (0..10) that makes `digits` followed by it a valid MOD 11-2 string.
 * Throws on anything but a non-empty ASCII digit string: a silent wrong answer here would
 * either reject real people or issue payment codes the platform refuses.
 */
export function mod11_2CheckValue (digits: string): number {
  if (!DIGITS.test(digits)) {
    throw new TypeError('MOD 11-2 input must be a non-empty string of ASCII digits')
  }
  // Horner form of sum(d_i * 2^i mod 11); avoids a weight table tied to one length.
  let p = 0
  for (let i = 0; i < digits.length; i++) {
    p = ((p + digits.charCodeAt(i) - 48) * 2) % 11
  }
  return (12 - p) % 11
}

/** Check character: '0'..'9', or 'X' for the value 10. */
export function mod11_2CheckChar (digits: string): string {
  const value = mod11_2CheckValue(digits)
  return value === 10 ? 'X' : String(value)
}

/**
 * Whether the last character of `full` is the check character of the rest.
 * Lower-case 'x' is refused on purpose: normalisation belongs to the caller, so stored and
 * hashed forms are always the canonical upper-case one.
 */
export function isValidMod11_2 (full: string): boolean {
  if (full.length < 2) return false
  const body = full.slice(0, -1)
  if (!DIGITS.test(body)) return false
  return mod11_2CheckChar(body) === full.slice(-1)
}
