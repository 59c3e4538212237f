// Classifies database errors so the error handler can answer 409 or 503 instead of 500.
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'])

interface PgLikeError { code?: unknown; constraint?: unknown; message?: unknown; cause?: unknown }

/** Drizzle wraps driver errors; walk the cause chain to the driver's error. */
export function driverError (error: unknown): PgLikeError | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const candidate = current as PgLikeError
    if (typeof candidate.code === 'string' && (/^[0-9A-Z]{5}$/.test(candidate.code) || CONNECTION_CODES.has(candidate.code))) return candidate
    current = candidate.cause
  }
  return undefined
}

export function isUniqueViolation (error: unknown, constraint?: string): boolean {
  const pgError = driverError(error)
  return pgError?.code === '23505' && (constraint === undefined || pgError.constraint === constraint)
}

/** Values PostgreSQL refuses as data (bad text representation, out-of-range dates, NUL bytes). */
export function isDataException (error: unknown): boolean {
  const code = driverError(error)?.code
  return typeof code === 'string' && ['22P02', '22007', '22008', '22009', '22021', '22P05', '22003'].includes(code)
}

export function isSerializationFailure (error: unknown): boolean {
  const code = driverError(error)?.code
  return code === '40001' || code === '40P01'
}

const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
  'PGlite is closed'
]

export function isDatabaseUnavailable (error: unknown): boolean {
  const pgError = driverError(error)
  if (pgError !== undefined) {
    const code = String(pgError.code)
    // Class 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
    if (CONNECTION_CODES.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true
  }
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (UNAVAILABLE_MESSAGES.some((m) => (current as Error).message.includes(m))) return true
    current = current.cause
  }
  return false
}
