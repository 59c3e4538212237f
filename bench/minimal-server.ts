// The limit of any HTTP service on this stack: bare Fastify routes issuing the endpoints' SQL through a pg pool
// of the service's size, with no auth, validation, audit, idempotency, metrics or response mapping.
// Environment: DATABASE_URL, DATABASE_POOL_MAX, PORT, PAYMENT_REGION_CODE.
/* eslint-disable no-restricted-properties, no-restricted-syntax -- a benchmark helper process: reads its environment and the wall clock directly */
import Fastify from 'fastify'
import pg from 'pg'
import { getOnce, notifyOnce, progressOnce, submitOnce } from './lib/sql.js'

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_MAX ?? 10),
  connectionTimeoutMillis: 3000,
  idleTimeoutMillis: 30_000,
  application_name: 'bench-minimal'
})
const regionCode = process.env.PAYMENT_REGION_CODE ?? '440100'

const app = Fastify({ logger: false })
app.get('/health', async () => ({ ok: true }))

app.post<{ Body: { h: string; s: string } }>('/submit', async (request, reply) => {
  const record = await submitOnce(pool, { identityHash: request.body.h, stationId: request.body.s, regionCode, feeFen: 2000, now: new Date() })
  return reply.code(201).send(record)
})

app.post<{ Body: { h: string; n: string } }>('/progress', async (request) =>
  progressOnce(pool, { identityHash: request.body.h, name: request.body.n }))

app.get<{ Params: { id: string }; Querystring: { h: string } }>('/applications/:id', async (request) =>
  getOnce(pool, { applicationId: request.params.id, identityHash: request.query.h }))

// The service parses the notification itself (it checks the signature over the raw bytes); so does this route,
// sent as text/plain so that Fastify hands over the string.
app.post<{ Body: string }>('/notify', async (request) => {
  const n = JSON.parse(request.body) as { notificationId: string; paymentCode: string; amountFen: number; paidAt: string; platformTransactionId: string }
  const outcome = await notifyOnce(pool, {
    ...n, rawBody: request.body, signature: String(request.headers['x-payment-signature'] ?? ''), now: new Date()
  })
  return { notificationId: n.notificationId, outcome }
})

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
process.once('SIGTERM', () => { void app.close().then(() => pool.end()).then(() => process.exit(0)) })
