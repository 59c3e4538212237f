// Logger options shared by the server and tests: request ids, no query strings, personal data redacted.
import type { FastifyRequest } from 'fastify'
import type { LoggerOptions } from 'pino'

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

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      // Query strings can carry anything a client typed; log the path only.
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: request.url.split('?')[0],
        route: request.routeOptions?.url,
        remoteAddress: request.ip
      })
    }
  }
}
