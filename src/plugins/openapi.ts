// The generated OpenAPI 3.1 document (served at /openapi.json) and the interactive docs at /docs.
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export const API_TAGS = [
  { name: 'operations', description: 'Health, readiness and metrics for operators' },
  { name: 'development', description: 'Helpers that exist only when DEV_TOKENS=true' },
  { name: 'stations', description: '退役军人服务站: pickup stations' },
  { name: 'holders', description: '优抚卡持卡人: the holder registry' },
  { name: 'applications', description: '优抚卡补换: applications, photos and timelines (attachment 1 of the notice)' },
  { name: 'payments', description: '缴款识别码 and the payment platform\'s notifications' },
  { name: 'progress', description: '制卡进度查询: progress by identity (attachment 2 of the notice)' },
  { name: 'station', description: '网点代办: the station counter, production stages, warranty decisions' },
  { name: 'audit', description: 'The audit trail' },
  { name: 'admin', description: 'Operational jobs' }
]

export default fp(async function openapi (app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: '优抚卡补换 — preferential-treatment card replacement API',
        version: '1.0.0',
        description: 'Backend of the Guangzhou veterans\' preferential-treatment social security card replacement ' +
          '(穗退役军人字〔2024〕282号): applications in the 穗好办 app and at veterans service stations, payment codes, ' +
          'progress queries. Errors are RFC 9457 application/problem+json with a stable `code`.',
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' }
      },
      servers: [{ url: '/', description: 'This server' }],
      tags: API_TAGS,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'JWT from the identity provider (or POST /v1/dev/tokens in development)' },
          paymentSignature: { type: 'apiKey', in: 'header', name: 'X-Payment-Signature', description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> with PAYMENT_WEBHOOK_SECRET' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, required by /metrics only when configured' }
        }
      }
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { validatorUrl: null } as object })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'openapi' })
