// A database that goes away: readiness and requests answer 503 problem+json, and the service recovers by itself.
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/client.js'
import { PROBLEM_JSON, testConfig, testDatabase } from '../helper.js'

const adminToken = async (app: Awaited<ReturnType<typeof buildApp>>) =>
  (await app.inject({ method: 'POST', url: '/v1/dev/tokens', payload: { role: 'admin' } })).json().token as string

t.test('no database server at all: 503 problem+json, and liveness still 200', async (t) => {
  const database = await openDatabase({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:9/none', poolMax: 2 })
  const app = await buildApp(testConfig(), { database, logger: false })
  t.teardown(async () => { await app.close(); await database.close() })

  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  t.match(ready.headers['content-type'], PROBLEM_JSON)
  t.equal(ready.json().code, 'DATABASE_UNAVAILABLE')

  const res = await app.inject({ method: 'GET', url: '/v1/stations', headers: { authorization: `Bearer ${await adminToken(app)}` } })
  t.equal(res.statusCode, 503)
  t.match(res.headers['content-type'], PROBLEM_JSON)
  t.equal(res.json().code, 'DATABASE_UNAVAILABLE')
  t.ok(res.headers['retry-after'])
  t.notOk(/ECONNREFUSED|127\.0\.0\.1|postgres:/.test(res.body), 'no connection details in the body')
})

/** A TCP proxy in front of PostgreSQL that the test can cut and restore, like a network or server outage. */
function outageProxy (target: URL) {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const start = () => new Promise<void>((resolve) => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname)
      for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => s.destroy()) }
      client.pipe(upstream).pipe(client)
    })
    server.listen(port, '127.0.0.1', () => { port = (server!.address() as AddressInfo).port; resolve() })
  })
  const stop = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy()
    server!.close(() => resolve())
  })
  return { start, stop, url: () => { const u = new URL(target); u.hostname = '127.0.0.1'; u.port = String(port); return u.toString() } }
}

t.test('the database goes down and comes back: 503 in the gap, recovery without restart', async (t) => {
  const own = await testDatabase(t)
  if (own.url === undefined) {
    t.plan(0, 'needs PostgreSQL (TEST_DATABASE_URL or a container engine); the embedded database cannot go away')
    return
  }
  const proxy = outageProxy(new URL(own.url))
  await proxy.start()
  const database = await openDatabase({ kind: 'postgres', url: proxy.url(), poolMax: 4 })
  const app = await buildApp(testConfig(), { database, logger: false })
  t.teardown(async () => { await app.close(); await database.close(); await proxy.stop().catch(() => undefined) })
  const headers = { authorization: `Bearer ${await adminToken(app)}` }

  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/v1/stations', headers })).statusCode, 200)

  await proxy.stop()
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  const res = await app.inject({ method: 'GET', url: '/v1/stations', headers })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'DATABASE_UNAVAILABLE')

  await proxy.start()
  let recovered = false
  for (let attempt = 0; attempt < 50 && !recovered; attempt++) {
    recovered = (await app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200
    if (!recovered) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(recovered, 'ready again without a restart')
  t.equal((await app.inject({ method: 'GET', url: '/v1/stations', headers })).statusCode, 200)
})
