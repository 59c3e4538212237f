// Signing and verifying payment-platform notifications (X-Payment-Signature: t=<unix seconds>,v1=<hex HMAC>).

import { createHmac, timingSafeEqual } from 'node:crypto'

/** How far a notification's timestamp may be from our clock, either way, before it is refused as a replay. */
export const SIGNATURE_TOLERANCE_SECONDS = 300

const TIMESTAMP = /^[0-9]+$/
const V1_SIGNATURE = /^[0-9a-f]{64}$/

export type SignatureProblem = 'MISSING' | 'MALFORMED' | 'STALE' | 'MISMATCH'

function assertSecret (secret: string): void {
  // An empty key would let anyone compute a "valid" signature; that is a configuration error, not a bad request.
  if (secret.length === 0) throw new TypeError('the signature secret must not be empty')
}

/** HMAC over `<t>.` then the body's exact bytes: re-serialising parsed JSON would not reproduce them. */
function digest (secret: string, timestamp: string, rawBody: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest()
}

/** The full header value for a body, as the platform would send it (used by tests and the dev simulator). */
export function signPayload (secret: string, timestamp: number, rawBody: string): string {
  assertSecret(secret)
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError('timestamp must be a non-negative integer number of seconds')
  }
  const t = String(timestamp)
  return `t=${t},v1=${digest(secret, t, rawBody).toString('hex')}`
}

/**
 * Check a notification's signature header against its raw body.
 * Order matters: shape first, then freshness, and only then the HMAC, so a replayed or garbled
 * header is reported as such without any work on the secret.
 */
export function verifySignature (
  header: string | undefined,
  rawBody: string | Buffer,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS
): { ok: true; timestamp: number } | { ok: false; problem: SignatureProblem } {
  assertSecret(secret)
  if (header === undefined || header.trim() === '') return { ok: false, problem: 'MISSING' }

  const timestamps: string[] = []
  const signatures: string[] = []
  for (const part of header.split(',')) {
    const eq = part.indexOf('=')
    if (eq <= 0) return { ok: false, problem: 'MALFORMED' }
    const key = part.slice(0, eq).trim()
    const value = part.slice(eq + 1).trim()
    if (key === 't') timestamps.push(value)
    else if (key === 'v1') signatures.push(value)
    // Other keys (a future v2 scheme) are ignored, so the platform can add one before we support it.
  }

  const [t] = timestamps
  if (timestamps.length !== 1 || t === undefined || !TIMESTAMP.test(t)) return { ok: false, problem: 'MALFORMED' }
  const timestamp = Number(t)
  if (!Number.isSafeInteger(timestamp)) return { ok: false, problem: 'MALFORMED' }
  if (signatures.length === 0 || !signatures.every((s) => V1_SIGNATURE.test(s))) {
    return { ok: false, problem: 'MALFORMED' }
  }

  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, problem: 'STALE' }

  // The HMAC uses t exactly as sent, so a sender's formatting (e.g. leading zeros) cannot make a valid header fail.
  const expected = digest(secret, t, rawBody)
  // Compare against every candidate without stopping early, so timing does not reveal which one matched.
  let matched = false
  for (const signature of signatures) {
    // Both buffers are 32 bytes: the regex above guarantees 64 hex characters.
    if (timingSafeEqual(Buffer.from(signature, 'hex'), expected)) matched = true
  }
  return matched ? { ok: true, timestamp } : { ok: false, problem: 'MISMATCH' }
}
