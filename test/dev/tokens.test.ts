// POST /v1/dev/tokens: exists only when enabled, mints working tokens, validates identities.
import t from 'tap'
import { buildTestApp, residentIdentity } from '../helper.js'

t.test('development tokens', async (t) => {
  const { app } = await buildTestApp(t)
  const stations = (token: string) => app.inject({ method: 'GET', url: '/v1/stations', headers: { authorization: `Bearer ${token}` } })

  t.test('every role gets a token that the service accepts', async (t) => {
    const requests = [
      { role: 'citizen', identity: residentIdentity(1) },
      { role: 'station_staff', stationId: '5a3e0000-0000-4000-8000-000000000001' },
      { role: 'bureau_staff' },
      { role: 'admin', subject: 'ops.alice' }
    ]
    for (const payload of requests) {
      const res = await app.inject({ method: 'POST', url: '/v1/dev/tokens', payload })
      t.equal(res.statusCode, 200, payload.role)
      t.match(res.json(), { token: String, expiresAt: String })
      t.equal((await stations(res.json().token)).statusCode, 200)
    }
  })

  t.test('a citizen token does not carry the ID number in its subject', async (t) => {
    const identity = residentIdentity(2)
    const { token } = (await app.inject({ method: 'POST', url: '/v1/dev/tokens', payload: { role: 'citizen', identity } })).json()
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
    t.match(claims.sub, /^citizen:[0-9a-f]{24}$/)
    t.notOk(claims.sub.includes(identity.idNumber))
  })

  t.test('bad requests are 400', async (t) => {
    const bad = [
      { role: 'citizen', identity: { ...residentIdentity(3), idNumber: residentIdentity(3).idNumber.slice(0, 17) + '0' } },
      { role: 'station_staff' },
      { role: 'station_staff', stationId: 'nope' },
      { role: 'root' },
      { role: 'admin', extra: true }
    ]
    for (const payload of bad) {
      const res = await app.inject({ method: 'POST', url: '/v1/dev/tokens', payload })
      t.equal(res.statusCode, 400, JSON.stringify(payload.role))
      t.equal(res.json().code, 'VALIDATION_FAILED')
    }
  })
})

t.test('without DEV_TOKENS the endpoint does not exist', async (t) => {
  const { app } = await buildTestApp(t, { config: { DEV_TOKENS: false } })
  const res = await app.inject({ method: 'POST', url: '/v1/dev/tokens', payload: { role: 'admin' } })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'ROUTE_NOT_FOUND')
  const invalid = await app.inject({ method: 'POST', url: '/v1/dev/tokens', payload: { nonsense: 1 } })
  t.equal(invalid.statusCode, 404, 'not even validation reveals it')
})

t.test('minting is rate limited per client, with 429 problem+json and Retry-After', async (t) => {
  const { app } = await buildTestApp(t)
  const { DEV_TOKENS_PER_MINUTE } = await import('../../src/dev/routes.js')
  const mint = (ip: string) => app.inject({ method: 'POST', url: '/v1/dev/tokens', payload: { role: 'admin' }, remoteAddress: ip })
  for (let i = 0; i < DEV_TOKENS_PER_MINUTE; i++) {
    const res = await mint('10.0.0.1')
    if (res.statusCode !== 200) { t.fail(`request ${i} was ${res.statusCode}`); return }
  }
  const limited = await mint('10.0.0.1')
  t.equal(limited.statusCode, 429)
  t.match(limited.headers['content-type'], 'application/problem+json')
  t.equal(limited.json().code, 'RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal((await mint('10.0.0.2')).statusCode, 200, 'another client is not affected')
})
