// Operational jobs an admin can run on demand.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { sweepExpired } from '../applications/expiry.js'
import { auditActorOf, recordAudit } from '../audit/record.js'
import { AUTHENTICATED, bearerSecurity, errorResponses } from '../shared/schemas.js'

const adminRoutes: FastifyPluginAsyncTypebox = async function adminRoutes (app) {
  app.post('/v1/admin/jobs/expire-unpaid', {
    onRequest: app.authorize(['admin']),
    schema: {
      tags: ['admin'],
      operationId: 'runExpirySweep',
      summary: 'Run the expiry sweep now',
      description: 'Closes every unpaid application past its deadline (stage EXPIRED_UNPAID, payment EXPIRED, timeline event), as the ' +
        'background sweeper in each replica does every EXPIRY_SWEEP_INTERVAL_MS. Safe to run alongside them. Audited.',
      security: bearerSecurity,
      response: {
        200: Type.Object({ expired: Type.Integer({ description: 'How many applications this run closed' }) }, { additionalProperties: false, description: 'The result' }),
        ...errorResponses(...AUTHENTICATED)
      }
    }
  }, async (request) => {
    const expired = await sweepExpired(app)
    const now = app.clock.now()
    await recordAudit(app.db, auditActorOf(request), now, { action: 'EXPIRY_SWEEP_RUN', targetType: 'job', targetId: 'expire-unpaid', after: { expired } })
    return { expired }
  })
}

export default adminRoutes
