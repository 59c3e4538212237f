// Operations surface: health, metrics, docs, the OpenAPI document, security headers, CORS, request ids and logs.
import { Writable } from 'node:stream'
import { readFile } from 'node:fs/promises'
import { pino } from 'pino'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loggerOptions } from '../../src/shared/logging.js'
import { buildTestApp, residentIdentity, testConfig, testDatabase } from '../helper.js'

t.test('health', async (t) => {
  const { app } = await buildTestApp(t)
  const live = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.equal(ready.json().status, 'ready')
})

t.test('readiness is 503 on a database without migrations', async (t) => {
  const { database } = await testDatabase(t)
  const { sql } = await import('drizzle-orm')
  await database.db.execute(sql`drop schema drizzle cascade`)
  const app = await buildApp(testConfig(), { database, logger: false })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'DATABASE_NOT_MIGRATED')
})

t.test('metrics: request durations by route and status, process metrics, optional token', async (t) => {
  const { app } = await buildTestApp(t)
  await app.inject({ method: 'GET', url: '/v1/stations' })
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/plain/)
  t.match(res.body, /http_request_duration_seconds_bucket\{[^}]*route="\/v1\/stations"[^}]*status_code="401"/)
  t.match(res.body, /process_cpu_user_seconds_total/)

  const guarded = await buildTestApp(t, { config: { METRICS_TOKEN: 'metrics-token-0123456789' } })
  t.equal((await guarded.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401)
  t.equal((await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode, 401)
  t.equal((await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } })).statusCode, 200)
})

t.test('the served OpenAPI document is 3.1 and identical to openapi/openapi.json', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  const served = res.json()
  t.equal(served.openapi, '3.1.0')
  const committed = JSON.parse(await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'))
  t.same(served, committed, 'run `npm run openapi` after changing routes')
  for (const [path, methods] of Object.entries(served.paths as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const [method, op] of Object.entries(methods)) {
      const where = `${method.toUpperCase()} ${path}`
      t.ok(op.operationId, `${where} has an operationId`)
      t.ok(op.summary, `${where} has a summary`)
      t.ok(op.description, `${where} has a description`)
      t.ok(Array.isArray(op.tags) && op.tags.length > 0, `${where} has tags`)
      const responses = op.responses as Record<string, { description?: string }>
      t.ok(Object.keys(responses).some((s) => s.startsWith('2')), `${where} documents its success`)
      t.ok(Object.values(responses).every((r) => r.description), `${where} describes every response`)
      for (const parameter of (op.parameters ?? []) as Array<{ name: string; description?: string }>) {
        t.ok(parameter.description, `${where} describes parameter ${parameter.name}`)
      }
      const body = op.requestBody as { content: Record<string, { schema: unknown }> } | undefined
      t.same(undescribedFields(Object.values(body?.content ?? {}).map((c) => c.schema)), [], `${where} describes every body field`)
      const payloads = Object.values(responses as Record<string, { content?: Record<string, { schema: unknown }> }>)
        .flatMap((r) => Object.values(r.content ?? {}).map((c) => c.schema))
      t.same(undescribedFields(payloads), [], `${where} describes every response field`)
    }
  }
})

/** Property paths without a description, through nested objects, arrays and unions. */
function undescribedFields (schemas: unknown[], path = ''): string[] {
  const missing: string[] = []
  for (const schema of schemas) {
    if (schema === null || typeof schema !== 'object') continue
    const s = schema as Record<string, unknown>
    for (const [name, property] of Object.entries((s.properties ?? {}) as Record<string, Record<string, unknown>>)) {
      if (typeof property.description !== 'string') missing.push(`${path}/${name}`)
      missing.push(...undescribedFields([property], `${path}/${name}`))
    }
    for (const key of ['items', 'anyOf', 'oneOf', 'allOf']) {
      const nested = s[key]
      missing.push(...undescribedFields(Array.isArray(nested) ? nested : [nested], path))
    }
  }
  return [...new Set(missing)]
}

t.test('interactive docs', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
})

t.test('security headers, and CORS only for configured origins', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/health/live', headers: { origin: 'https://evil.example' } })
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.ok(res.headers['strict-transport-security'])
  t.ok(res.headers['content-security-policy'])
  t.notOk(res.headers['access-control-allow-origin'])

  const withCors = await buildTestApp(t, { config: { CORS_ORIGINS: 'https://app.example' } })
  const preflight = await withCors.app.inject({
    method: 'OPTIONS', url: '/v1/stations',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' }
  })
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example')
  const other = await withCors.app.inject({ method: 'GET', url: '/health/live', headers: { origin: 'https://evil.example' } })
  t.notOk(other.headers['access-control-allow-origin'])
})

t.test('request ids: a safe client id is kept, anything else is replaced', async (t) => {
  const { app } = await buildTestApp(t)
  const kept = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'gateway-abc-12345' } })
  t.equal(kept.headers['x-request-id'], 'gateway-abc-12345')
  const replaced = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'bad id\nwith newline' } })
  t.match(replaced.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})

t.test('logs carry the request id and never credentials, query strings or personal data', async (t) => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _encoding, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done() } })
  const logger = pino(loggerOptions('info'), sink)
  const { database } = await testDatabase(t)
  const config = testConfig({ LOG_LEVEL: 'info' })
  const app = await buildApp(config, { database, logger })
  t.teardown(() => app.close())

  const identity = residentIdentity(7)
  const minted = await app.inject({ method: 'POST', url: '/v1/dev/tokens', payload: { role: 'citizen', identity } })
  const token = minted.json().token as string
  await app.inject({ method: 'GET', url: `/v1/stations?near=23.1,113.3&q=${identity.idNumber}`, headers: { authorization: `Bearer ${token}`, 'x-request-id': 'trace-0001-abcdef' } })
  const bureau = (await app.inject({ method: 'POST', url: '/v1/dev/tokens', payload: { role: 'bureau_staff' } })).json().token as string
  await app.inject({
    method: 'POST', url: '/v1/holders', headers: { authorization: `Bearer ${bureau}` },
    payload: { identity, phone: '13800138000', card: { cardNumber: 'A12345678', issuedAt: '2026-01-01' } }
  })
  logger.info({ identity, phone: '13800138000', holder: { idNumber: identity.idNumber } }, 'an object with personal data')

  const text = lines.join('\n')
  t.ok(lines.length > 4, 'something was logged')
  t.ok(lines.some((l) => JSON.parse(l).requestId === 'trace-0001-abcdef'), 'request id on the request lines')
  t.notOk(text.includes(identity.idNumber), 'no ID number')
  t.notOk(text.includes(identity.name), 'no name')
  t.notOk(text.includes('13800138000'), 'no phone')
  t.notOk(text.includes(token), 'no token')
  t.match(text, /\[REDACTED\]/)
})
