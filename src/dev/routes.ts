// POST /v1/dev/tokens: mints tokens for front-end development; registered only when DEV_TOKENS=true.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { createTokenMinter } from '../auth/tokens.js'
import { shanghaiDate } from '../domain/calendar.js'
import { normalizeIdentity } from '../domain/identity.js'
import { assertValidIdentity } from '../holders/routes.js'
import { routeNotFound } from '../plugins/errors.js'
import { errorResponses, JSON_BODY } from '../shared/schemas.js'
import { claimsFor, DevTokenRequestSchema, DevTokenSchema } from './claims.js'

export const DEV_TOKENS_PER_MINUTE = 120

// Always registered, so the OpenAPI document is the same in every configuration; switched off, it answers
// exactly like a route that does not exist.
const devRoutes: FastifyPluginAsyncTypebox<{ enabled: boolean }> = async function devRoutes (app, opts) {
  const mint = opts.enabled ? createTokenMinter(app.config.jwt, app.clock) : undefined

  app.post('/v1/dev/tokens', {
    // Before parsing and validation, so nothing distinguishes it from an unknown route.
    onRequest: async () => { if (mint === undefined) throw routeNotFound() },
    // Tokens are cheap to mint; a script looping on this endpoint is a bug worth surfacing.
    config: { rateLimit: { max: DEV_TOKENS_PER_MINUTE, timeWindow: 60_000 } },
    schema: {
      tags: ['development'],
      operationId: 'mintDevToken',
      summary: 'Mint a development token',
      security: [],
      description: 'Exists only when DEV_TOKENS=true (never in production); otherwise 404 like any unknown route. ' +
        'Signs a token for any role, valid for 12 hours. ' +
        'A citizen token carries the identity that the app\'s identity provider would have verified.',
      body: DevTokenRequestSchema,
      response: {
        200: { ...DevTokenSchema, description: 'The token' },
        ...errorResponses(...JSON_BODY, 404, 429)
      }
    }
  }, async (request) => {
    if (request.body.role === 'citizen') assertValidIdentity(normalizeIdentity(request.body.identity), shanghaiDate(app.clock.now()), '/identity')
    return mint!(claimsFor(request.body, app.pii))
  })
}

export default devRoutes
