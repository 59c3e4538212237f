// Problem+json for every kind of error: unknown routes, malformed JSON, strict bodies, sizes, content types.
import { sql } from 'drizzle-orm'
import t from 'tap'
import { buildTestApp, PROBLEM_JSON } from '../helper.js'

t.test('problem+json across the board', async (t) => {
  const ctx = await buildTestApp(t)
  const { app } = ctx
  const bureau = ctx.auth({ role: 'bureau_staff' })
  const validStation = {
    name: '测试站', districtCode: '440106', address: '天河路1号', phone: '020-83000000', latitude: 23.12, longitude: 113.33
  }

  t.test('unknown route is a problem+json 404', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/nope?idNumber=440104199001011234' })
    t.equal(res.statusCode, 404)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    const body = res.json()
    t.match(body, { status: 404, code: 'ROUTE_NOT_FOUND', title: String, type: String, requestId: String })
    t.notOk(res.body.includes('440104199001011234'), 'the query string is not echoed')
    t.equal(res.headers['x-request-id'], body.requestId)
  })

  t.test('malformed JSON is 400 MALFORMED_JSON', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/stations', headers: { ...bureau, 'content-type': 'application/json' }, payload: '{"name": ' })
    t.equal(res.statusCode, 400)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().code, 'MALFORMED_JSON')
  })

  t.test('wrong content type is 415', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/stations', headers: { ...bureau, 'content-type': 'text/plain' }, payload: 'hello' })
    t.equal(res.statusCode, 415)
    t.equal(res.json().code, 'UNSUPPORTED_MEDIA_TYPE')
  })

  t.test('a body over 1 MiB is 413', async (t) => {
    const res = await app.inject({
      method: 'POST', url: '/v1/stations', headers: { ...bureau, 'content-type': 'application/json' },
      payload: JSON.stringify({ ...validStation, address: 'x'.repeat(1024 * 1024 + 10) })
    })
    t.equal(res.statusCode, 413)
    t.equal(res.json().code, 'PAYLOAD_TOO_LARGE')
  })

  t.test('validation lists every failing field, refuses unknown fields and does not coerce', async (t) => {
    const res = await app.inject({
      method: 'POST', url: '/v1/stations', headers: bureau,
      payload: { ...validStation, name: '', latitude: '23.12', districtCode: '999999', extra: 1, phone: undefined }
    })
    t.equal(res.statusCode, 400)
    const body = res.json()
    t.equal(body.code, 'VALIDATION_FAILED')
    const pointers = body.errors.map((e: { pointer: string }) => e.pointer)
    for (const p of ['/name', '/latitude', '/districtCode', '/extra', '/phone']) t.ok(pointers.includes(p), `${p} is listed`)
    t.ok(body.errors.every((e: { in: string }) => e.in === 'body'))
    t.match(body.errors.find((e: { pointer: string }) => e.pointer === '/extra'), { message: 'is not an allowed field' })
    t.match(body.errors.find((e: { pointer: string }) => e.pointer === '/phone'), { message: 'is required' })
  })

  t.test('query strings are coerced from text; bad ones are 400 with in=query', async (t) => {
    const ok = await app.inject({ method: 'GET', url: '/v1/stations?limit=5', headers: bureau })
    t.equal(ok.statusCode, 200)
    const bad = await app.inject({ method: 'GET', url: '/v1/stations?limit=500', headers: bureau })
    t.equal(bad.statusCode, 400)
    t.same(bad.json().errors.map((e: { pointer: string; in: string }) => [e.in, e.pointer]), [['query', '/limit']])
  })

  t.test('path parameters are validated: a non-uuid id is 400, not 500', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/holders/not-a-uuid', headers: bureau })
    t.equal(res.statusCode, 400)
    t.equal(res.json().errors[0].in, 'path')
  })

  t.test('an unexpected database error is a 500 without internals', async (t) => {
    const broken = await buildTestApp(t)
    await broken.database.db.execute(sql`alter table stations rename to stations_gone`)
    const res = await broken.app.inject({ method: 'GET', url: '/v1/stations', headers: broken.auth({ role: 'admin' }) })
    t.equal(res.statusCode, 500)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().code, 'INTERNAL_ERROR')
    t.notOk(/select|relation|does not exist|stack/i.test(res.body), 'no SQL, driver message or stack in the body')
  })
})
