// Logger options shared by the server and tests: request ids, no query strings, personal data redacted.
import type { FastifyRequest } from 'fastify'
import { stdSerializers, type LoggerOptions } from 'pino'
import { driverError } from './db-errors.js'

/** Paths pino censors wherever an object with personal data or credentials reaches a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-payment-signature"]',
  'headers.authorization',
  'authorization',
  'identity', '*.identity',
  'idNumber', '*.idNumber', '*.*.idNumber',
  'name', '*.holderName',
  'phone', '*.phone', '*.*.phone',
  'changes', '*.changes',
  'body', '*.body'
]

/**
 * Database errors carry the failed query's parameters (names, phones) and the driver's message can quote
 * a value; log only what identifies the failure: the SQL text, the SQLSTATE and the constraint.
 */
export function serializeError (error: unknown): Record<string, unknown> {
  const query = (error as { query?: unknown }).query
  const driver = driverError(error)
  if (typeof query === 'string' || driver !== undefined) {
    return {
      type: 'DatabaseError',
      ...(typeof query === 'string' ? { query } : {}),
      code: driver?.code,
      constraint: driver?.constraint
    }
  }
  return stdSerializers.err(error as Error)
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The path without its query string, and without any segment that could be a document or phone
 * number: a client may put anything in a URL, and paths reach logs and error bodies.
 */
export function safePath (url: string): string {
  const path = url.split('?')[0] ?? '/'
  return path.split('/').map((segment) => UUID.test(segment) || !/\d{4}/.test(segment) ? segment : '[redacted]').join('/')
}

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      err: serializeError,
      // Query strings can carry anything a client typed; log the path only.
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: safePath(request.url),
        route: request.routeOptions?.url,
        remoteAddress: request.ip
      })
    }
  }
}
