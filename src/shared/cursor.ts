// Opaque pagination cursors: base64url JSON that clients pass back unchanged.
import { ProblemError } from './problem.js'

export function encodeCursor (value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

export function decodeCursor<T extends Record<string, string | number>> (cursor: string | undefined, isValid: (value: unknown) => value is T): T | undefined {
  if (cursor === undefined) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (isValid(value)) return value
  } catch {
    // fall through to the problem below
  }
  throw new ProblemError(400, 'INVALID_CURSOR', 'Invalid cursor', { detail: 'The cursor is not one this list issued' })
}
