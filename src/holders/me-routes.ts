// GET /v1/me: the signed-in holder's own profile, masked, as the application form shows it (自动带出账号信息).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { citizenHolder } from '../applications/access.js'
import { principalOf } from '../plugins/auth.js'
import { AUTHENTICATED, bearerSecurity, errorResponses } from '../shared/schemas.js'
import { createHoldersRepository } from './repository.js'
import { HolderSchema, toHolderView } from './schemas.js'

const meRoutes: FastifyPluginAsyncTypebox = async function meRoutes (app) {
  const holders = createHoldersRepository(app.pii)

  app.get('/v1/me', {
    onRequest: app.authorize(['citizen']),
    schema: {
      tags: ['applications'],
      operationId: 'getMe',
      summary: 'My profile',
      description: 'The signed-in holder\'s identity (masked), phone (masked) and current card: masked number, issue date, status ' +
        '(REPORTED_LOST after a LOST application), warranty end, and whether a card photo is on file. 404 HOLDER_NOT_REGISTERED for ' +
        'a person who is not in the holder registry.',
      security: bearerSecurity,
      response: {
        200: { ...HolderSchema, description: 'The holder, masked' },
        ...errorResponses(...AUTHENTICATED, 404)
      }
    }
  }, async (request) => toHolderView(await citizenHolder(app.db, holders, principalOf(request))))
}

export default meRoutes
