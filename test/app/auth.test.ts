// Authentication and role checks: 401 for no, bad, expired or foreign tokens; 403 for a wrong role.
import { createSigner } from 'fast-jwt'
import t, { type Test } from 'tap'
import { DEV_SECRETS } from '../../src/config.js'
import { buildTestApp, PROBLEM_JSON } from '../helper.js'

t.test('authentication', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, config, clock } = ctx
  const now = () => Math.floor(clock.now().getTime() / 1000)
  const sign = (options: Record<string, unknown>, payload: Record<string, unknown> = { role: 'bureau_staff', sub: 'b1' }) =>
    createSigner({ key: DEV_SECRETS.JWT_SECRET, iss: config.jwt.issuer, aud: config.jwt.audience, expiresIn: 60_000, ...options })({ iat: now(), ...payload })
  const stations = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/v1/stations', headers })

  const expect401 = async (t: Test, headers: Record<string, string>, code: string) => {
    const res = await stations(headers)
    t.equal(res.statusCode, 401)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.match(res.headers['www-authenticate'], /^Bearer/)
    t.equal(res.json().code, code)
  }

  t.test('a valid token is admitted', async (t) => {
    t.equal((await stations(ctx.auth({ role: 'bureau_staff' }))).statusCode, 200)
    t.equal((await stations({ authorization: `Bearer ${sign({})}` })).statusCode, 200)
  })

  t.test('no token', (t) => expect401(t, {}, 'TOKEN_MISSING'))
  t.test('not a bearer token', (t) => expect401(t, { authorization: 'Basic dXNlcjpwYXNz' }, 'TOKEN_MISSING'))
  t.test('garbage token', (t) => expect401(t, { authorization: 'Bearer not.a.jwt' }, 'TOKEN_INVALID'))
  t.test('signed with another secret', async (t) => {
    const forged = createSigner({ key: 'another-secret-that-is-long-enough-123456', iss: config.jwt.issuer, aud: config.jwt.audience, expiresIn: 60_000 })({ role: 'admin', sub: 'x', iat: now() })
    await expect401(t, { authorization: `Bearer ${forged}` }, 'TOKEN_INVALID')
  })
  t.test('wrong issuer', (t) => expect401(t, { authorization: `Bearer ${sign({ iss: 'https://evil.example' })}` }, 'TOKEN_INVALID'))
  t.test('wrong audience', (t) => expect401(t, { authorization: `Bearer ${sign({ aud: 'another-service' })}` }, 'TOKEN_INVALID'))
  t.test('no expiry', (t) => expect401(t, { authorization: `Bearer ${sign({ expiresIn: undefined })}` }, 'TOKEN_INVALID'))
  t.test('algorithm none is refused', async (t) => {
    const unsigned = createSigner({ algorithm: 'none', iss: config.jwt.issuer, aud: config.jwt.audience, expiresIn: 60_000 })({ role: 'admin', sub: 'x', iat: now() })
    await expect401(t, { authorization: `Bearer ${unsigned}` }, 'TOKEN_INVALID')
  })
  t.test('claims that do not fit a role are refused', async (t) => {
    await expect401(t, { authorization: `Bearer ${sign({}, { role: 'station_staff', sub: 's' })}` }, 'TOKEN_INVALID')
    await expect401(t, { authorization: `Bearer ${sign({}, { role: 'superuser', sub: 's' })}` }, 'TOKEN_INVALID')
  })

  t.test('an expired token is refused once the clock passes its expiry', async (t) => {
    const headers = ctx.auth({ role: 'admin' })
    t.equal((await stations(headers)).statusCode, 200)
    clock.advance(13 * 60 * 60 * 1000)
    await expect401(t, headers, 'TOKEN_EXPIRED')
  })

  t.test('a wrong role is 403 FORBIDDEN_ROLE', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/stations', headers: ctx.auth({ role: 'citizen', identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: '11010519491231002X', name: '张三' } }), payload: {} })
    t.equal(res.statusCode, 403)
    t.equal(res.json().code, 'FORBIDDEN_ROLE')
    t.notOk(res.body.includes('11010519491231002X'))
  })
})
