// The authorization matrix: every documented route × no token, a bad token and every role, plus other people's data.
// OWASP API Security Top 10 (2023): API1 object-level and API5 function-level authorization, API3 property-level
// exposure, API8 misconfiguration (headers, error bodies). A route added without an entry here fails this test.
import t from 'tap'
import type { Role } from '../../src/auth/principal.js'
import { buildTestApp, PROBLEM_JSON } from '../helper.js'
import { applyBody, createStation, registerHolder, submit } from '../fixtures.js'

type Access = { public: true } | { roles: readonly Role[] }
const STAFF = ['station_staff', 'bureau_staff', 'admin'] as const
const ALL = ['citizen', ...STAFF] as const
const MANAGERS = ['bureau_staff', 'admin'] as const

/** Who may call what (API.md). `ownerScoped`: another holder or another station gets 404 for an existing id. */
const MATRIX: Record<string, Access & { ownerScoped?: boolean }> = {
  'GET /metrics': { public: true },
  'GET /health/live': { public: true },
  'GET /health/ready': { public: true },
  'POST /v1/dev/tokens': { public: true },
  'GET /v1/payments/{code}': { public: true },
  'POST /v1/payment-notifications': { public: true }, // authenticated by its signature, tested in test/payments
  'GET /v1/stations': { roles: ALL },
  'POST /v1/stations': { roles: MANAGERS },
  'PATCH /v1/stations/{stationId}': { roles: MANAGERS },
  'POST /v1/holders': { roles: MANAGERS },
  'GET /v1/holders/{holderId}': { roles: STAFF },
  'GET /v1/me': { roles: ['citizen'] },
  'POST /v1/photos': { roles: ['citizen', 'station_staff'] },
  'POST /v1/applications': { roles: ['citizen'] },
  'GET /v1/me/applications': { roles: ['citizen'] },
  'GET /v1/me/applications/current': { roles: ['citizen'] },
  'GET /v1/applications/{applicationId}': { roles: ALL, ownerScoped: true },
  'GET /v1/applications/{applicationId}/timeline': { roles: ALL, ownerScoped: true },
  'GET /v1/applications/{applicationId}/events': { roles: ALL, ownerScoped: true },
  'POST /v1/applications/{applicationId}/cancel': { roles: ['citizen'], ownerScoped: true },
  'POST /v1/progress-queries': { roles: ALL },
  'POST /v1/station/applications': { roles: ['station_staff'] },
  'GET /v1/station/applications': { roles: ['station_staff'] },
  'POST /v1/applications/{applicationId}/stage': { roles: STAFF, ownerScoped: true },
  'POST /v1/applications/{applicationId}/warranty-decision': { roles: MANAGERS },
  'GET /v1/audit-events': { roles: MANAGERS },
  'GET /v1/reconciliation': { roles: MANAGERS },
  'POST /v1/admin/jobs/expire-unpaid': { roles: ['admin'] }
}

const MISSING = '00000000-0000-4000-8000-00000000dead'

t.test('authorization matrix', async (t) => {
  const ctx = await buildTestApp(t)
  const { app } = ctx
  const stationA = await createStation(ctx)
  const stationB = await createStation(ctx, { name: '越秀站', districtCode: '440104' })
  const owner = await registerHolder(ctx, 1)
  const stranger = await registerHolder(ctx, 2)
  const application = (await submit(ctx, owner, applyBody(stationA))).json()

  const tokens: Record<Role, { authorization: string }> = {
    citizen: owner.headers,
    station_staff: ctx.auth({ role: 'station_staff', stationId: stationA }),
    bureau_staff: ctx.auth({ role: 'bureau_staff' }),
    admin: ctx.auth({ role: 'admin' })
  }
  const secrets = [owner.identity.idNumber, stranger.identity.idNumber, '13800000001', '13800000002']

  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  const routes = Object.entries(document.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))

  t.same(routes.filter((r) => MATRIX[r] === undefined), [], 'every documented route has an entry in the matrix')
  t.same(Object.keys(MATRIX).filter((r) => !routes.includes(r)), [], 'every entry is a route that exists')

  /** A URL for the route, pointing at an id that does not exist (or a real one for scoped checks). */
  const urlFor = (route: string, id = MISSING) => route.split(' ')[1]!
    .replace('{applicationId}', id).replace('{holderId}', id).replace('{stationId}', id)
    .replace('{code}', '44010024000012155182') + (route.endsWith('/reconciliation') ? '?date=2026-12-01' : '')

  // A valid body where the route validates before it can look the application up.
  const BODIES: Record<string, string> = { 'POST /v1/applications/{applicationId}/stage': '{"to":"IN_PRODUCTION"}' }
  const call = (route: string, headers: Record<string, string>, id?: string) => {
    const [method] = route.split(' ') as ['GET' | 'POST' | 'PATCH']
    return app.inject({
      method, url: urlFor(route, id), headers: { ...headers, ...(method === 'GET' ? {} : { 'content-type': 'application/json', 'if-match': '*' }) },
      ...(method === 'GET' ? {} : { payload: BODIES[route] ?? '{}' })
    })
  }

  const checkResponse = (t: Tap, res: Awaited<ReturnType<typeof call>>, label: string) => {
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${label}: security headers`)
    if (res.statusCode >= 400) {
      t.match(res.headers['content-type'], PROBLEM_JSON, `${label}: problem+json`)
      t.notMatch(res.body, /at .*\.(ts|js):\d+/, `${label}: no stack trace`)
    }
    t.notOk(secrets.some((s) => res.body.includes(s)), `${label}: no plain personal data`)
  }
  type Tap = typeof t

  for (const route of routes.filter((r) => MATRIX[r] !== undefined)) {
    const access = MATRIX[route]!
    t.test(route, async (t) => {
      if ('public' in access) {
        const res = await call(route, {})
        t.not(res.statusCode, 403, 'public: no role needed')
        checkResponse(t, res, 'anonymous')
        return
      }
      const anonymous = await call(route, {})
      t.equal(anonymous.statusCode, 401, 'no token')
      t.equal(anonymous.json().code, 'TOKEN_MISSING')
      checkResponse(t, anonymous, 'no token')
      const forged = await call(route, { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYWRtaW4ifQ.forged' })
      t.equal(forged.statusCode, 401, 'bad token')
      for (const role of ['citizen', ...STAFF] as const) {
        const res = await call(route, tokens[role])
        checkResponse(t, res, role)
        if (access.roles.includes(role)) {
          t.notOk([401, 403].includes(res.statusCode), `${role} is admitted (${res.statusCode})`)
          t.ok(res.statusCode < 500, `${role}: no server error`)
        } else {
          t.equal(res.statusCode, 403, `${role} is refused`)
          t.equal(res.json().code, 'FORBIDDEN_ROLE')
        }
      }
      if (access.ownerScoped === true) {
        // The same existing application, asked for by someone it does not belong to: it does not exist for them.
        const asStranger = await call(route, stranger.headers, application.id)
        if (access.roles.includes('citizen')) {
          t.equal(asStranger.statusCode, 404, 'another holder gets 404')
          t.equal(asStranger.json().code, 'APPLICATION_NOT_FOUND')
        }
        const asOtherStation = await call(route, ctx.auth({ role: 'station_staff', stationId: stationB }), application.id)
        if (access.roles.includes('station_staff')) {
          t.equal(asOtherStation.statusCode, 404, 'another station gets 404')
        }
        checkResponse(t, asStranger, 'stranger')
      }
    })
  }
})

t.test('unrestricted consumption: page sizes and bodies are bounded', async (t) => {
  const ctx = await buildTestApp(t)
  const admin = ctx.auth({ role: 'admin' })
  for (const url of ['/v1/stations?limit=101', '/v1/audit-events?limit=1000', '/v1/stations?limit=0']) {
    const res = await ctx.app.inject({ method: 'GET', url, headers: admin })
    t.equal(res.statusCode, 400, url)
  }
  const huge = await ctx.app.inject({ method: 'POST', url: '/v1/progress-queries', headers: { ...admin, 'content-type': 'application/json' }, payload: `{"name":"${'x'.repeat(1_100_000)}"}` })
  t.equal(huge.statusCode, 413)
})
