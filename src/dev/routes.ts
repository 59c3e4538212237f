// POST /v1/dev/tokens: mints tokens for front-end development; registered only when DEV_TOKENS=true.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { createTokenMinter } from '../auth/tokens.js'
import { shanghaiDate } from '../domain/calendar.js'
import { normalizeIdentity } from '../domain/identity.js'
import { assertValidIdentity } from '../holders/routes.js'
import { errorResponses, JSON_BODY } from '../shared/schemas.js'
import { claimsFor, DevTokenRequestSchema, DevTokenSchema } from './claims.js'

const devRoutes: FastifyPluginAsyncTypebox = async function devRoutes (app) {
  const mint = createTokenMinter(app.config.jwt, app.clock)

  app.post('/v1/dev/tokens', {
    schema: {
      tags: ['development'],
      summary: 'Mint a development token',
      description: 'Exists only when DEV_TOKENS=true (never in production). Signs a token for any role, valid for 12 hours. ' +
        'A citizen token carries the identity that the app\'s identity provider would have verified.',
      body: DevTokenRequestSchema,
      response: {
        200: { ...DevTokenSchema, description: 'The token' },
        ...errorResponses(...JSON_BODY)
      }
    }
  }, async (request) => {
    if (request.body.role === 'citizen') assertValidIdentity(normalizeIdentity(request.body.identity), shanghaiDate(app.clock.now()), '/identity')
    return mint(claimsFor(request.body, app.pii))
  })
}

export default devRoutes
