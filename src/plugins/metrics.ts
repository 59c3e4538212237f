// Prometheus metrics: request duration by route and status, plus the process's own metrics.
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { Type } from 'typebox'
import { ProblemError } from '../shared/problem.js'
import { errorResponses } from '../shared/schemas.js'

function sameSecret (given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

export default fp(async function metrics (app: FastifyInstance, opts: { token: string | undefined }) {
  // One registry per app instance, so several apps in one test process do not collide.
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry]
  })

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    if (route === '/metrics') return
    duration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })

  app.get('/metrics', {
    logLevel: 'warn',
    schema: {
      tags: ['operations'],
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      security: [{ metricsToken: [] }, {}],
      description: 'Prometheus text exposition format. When METRICS_TOKEN is configured the scraper must send it as a Bearer token.',
      response: {
        200: Type.String({ description: 'Prometheus text format' }),
        ...errorResponses(401)
      }
    }
  }, async (request, reply) => {
    if (opts.token !== undefined) {
      const header = request.headers.authorization ?? ''
      const given = header.startsWith('Bearer ') ? header.slice(7) : ''
      if (!sameSecret(given, opts.token)) throw new ProblemError(401, 'METRICS_TOKEN_REQUIRED', 'Unauthorized', { detail: 'The metrics token is required' })
    }
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}, { name: 'metrics', dependencies: ['errors'] })
