// Live progress: a stream on one app instance sees events committed through another, resumes, closes cleanly.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { buildApp, type App } from '../../src/app.js'
import { openDatabase, type Database } from '../../src/db/client.js'
import { ManualClock } from '../../src/shared/clock.js'
import { testConfig, testDatabase, type TestContext } from '../helper.js'
import { applyBody, createStation, notify, paymentFor, registerHolder, submit } from '../fixtures.js'
import { createTokenMinter } from '../../src/auth/tokens.js'
import { claimsFor, type DevTokenRequest } from '../../src/dev/claims.js'
import { createPiiCipher } from '../../src/shared/pii.js'

interface SseMessage { event?: string; id?: string; data?: string; comment?: string; at: number }

/** A minimal SSE client over node:http that records every message with its arrival time. */
function connect (app: App, path: string, headers: Record<string, string>) {
  const { port } = app.server.address() as AddressInfo
  const messages: SseMessage[] = []
  const waiters: Array<() => void> = []
  let status = 0
  let ended = false
  let buffer = ''
  const req = httpRequest({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } })
  const ready = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', (res) => {
      status = res.statusCode ?? 0
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffer += chunk
        let cut: number
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          const message: SseMessage = { at: performance.now() }
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) message.comment = line.slice(1).trim()
            else {
              const [field, ...rest] = line.split(': ')
              const value = rest.join(': ')
              if (field === 'event') message.event = value
              if (field === 'id') message.id = value
              if (field === 'data') message.data = value
            }
          }
          messages.push(message)
          waiters.splice(0).forEach((w) => w())
        }
      })
      res.on('end', () => { ended = true; waiters.splice(0).forEach((w) => w()) })
      resolve(res)
    })
    req.on('error', reject)
  })
  req.end()
  const waitFor = async (predicate: (m: SseMessage) => boolean, timeoutMs = 5000): Promise<SseMessage> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = messages.find(predicate)
      if (found !== undefined) return found
      if (ended || Date.now() > deadline) throw new Error(`no such message; got ${JSON.stringify(messages.map((m) => m.event ?? m.comment))}`)
      await new Promise<void>((resolve) => { waiters.push(resolve); setTimeout(resolve, 50) })
    }
  }
  return { ready, messages, waitFor, status: () => status, ended: () => ended, close: () => req.destroy() }
}

async function twoInstances (t: Test) {
  const own = await testDatabase(t)
  const clock = new ManualClock('2026-12-01T02:00:00Z')
  const config = testConfig({ SSE_HEARTBEAT_MS: 200 })
  let second: Database = own.database
  if (own.url !== undefined) {
    // Another replica: its own pool and its own listening connection, on the same database.
    second = await openDatabase({ kind: 'postgres', url: own.url, poolMax: 4 })
    t.teardown(() => second.close())
  }
  const a = await buildApp(config, { database: own.database, clock, logger: false })
  const b = await buildApp(config, { database: second, clock, logger: false })
  t.teardown(async () => { await a.close(); await b.close() })
  await a.listen({ host: '127.0.0.1', port: 0 })
  const mint = createTokenMinter(config.jwt, clock)
  const pii = createPiiCipher(config.pii)
  const auth = (request: DevTokenRequest) => ({ authorization: `Bearer ${mint(claimsFor(request, pii)).token}` })
  // The fixtures drive instance B, as a client behind a load balancer would.
  const ctxB = { app: b, database: second, kind: own.kind, clock, config, token: (r: DevTokenRequest) => mint(claimsFor(r, pii)).token, auth } as TestContext
  return { a, b, ctxB, auth, kind: own.kind }
}

t.test('a stream on instance A receives the payment committed through instance B', async (t) => {
  const { a, ctxB, auth } = await twoInstances(t)
  const stationId = await createStation(ctxB)
  const holder = await registerHolder(ctxB, 1)
  const application = (await submit(ctxB, holder, applyBody(stationId))).json()

  const stream = connect(a, `/v1/applications/${application.id}/events`, holder.headers)
  t.teardown(() => stream.close())
  const res = await stream.ready
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], 'text/event-stream')
  const snapshot = await stream.waitFor((m) => m.event === 'snapshot')
  const first = JSON.parse(snapshot.data!)
  t.equal(first.application.stage, 'AWAITING_PAYMENT')
  t.same(first.timeline.map((e: { type: string }) => e.type), ['SUBMITTED'])

  const sent = performance.now()
  const paid = await notify(ctxB, paymentFor(application.payment.code, ctxB.clock.now()))
  t.equal(paid.json().outcome, 'RECORDED')
  const live = await stream.waitFor((m) => m.event === 'timeline')
  const delayMs = live.at - sent
  t.comment(`commit-to-delivery delay across instances: ${delayMs.toFixed(1)} ms`)
  t.ok(delayMs < 2000, 'delivered promptly')
  const data = JSON.parse(live.data!)
  t.match(data, { event: { type: 'PAYMENT_RECEIVED', title: '已缴费' }, status: 'IN_PROGRESS', stage: 'PAID' })
  t.equal(live.id, data.event.id)
  await stream.waitFor((m) => m.comment === 'heartbeat')
  t.equal(stream.messages.filter((m) => m.event === 'timeline').length, 1, 'each event once')

  t.test('Last-Event-ID replays only what was missed, without a snapshot', async (t) => {
    const submittedId = first.timeline[0].id as string
    const resumed = connect(a, `/v1/applications/${application.id}/events`, { ...holder.headers, 'last-event-id': submittedId, 'accept-language': 'en' })
    t.teardown(() => resumed.close())
    const replayed = await resumed.waitFor((m) => m.event === 'timeline')
    t.equal(JSON.parse(replayed.data!).event.type, 'PAYMENT_RECEIVED')
    t.equal(JSON.parse(replayed.data!).event.title, 'Fee paid')
    await resumed.waitFor((m) => m.comment === 'heartbeat')
    t.notOk(resumed.messages.some((m) => m.event === 'snapshot'))
    t.equal(resumed.messages.filter((m) => m.event === 'timeline').length, 1)

    const upToDate = connect(a, `/v1/applications/${application.id}/events`, { ...holder.headers, 'last-event-id': replayed.id! })
    t.teardown(() => upToDate.close())
    await upToDate.waitFor((m) => m.comment === 'heartbeat')
    t.equal(upToDate.messages.filter((m) => m.event !== undefined).length, 0, 'nothing to replay')
  })

  t.test('who may not see the application gets 404; no token 401', async (t) => {
    const other = await registerHolder(ctxB, 2)
    for (const headers of [other.headers, auth({ role: 'station_staff', stationId: '00000000-0000-4000-8000-000000000009' })]) {
      const denied = connect(a, `/v1/applications/${application.id}/events`, headers)
      const r = await denied.ready
      t.equal(r.statusCode, 404)
      denied.close()
    }
    const anonymous = connect(a, `/v1/applications/${application.id}/events`, {})
    t.equal((await anonymous.ready).statusCode, 401)
    anonymous.close()
    const staff = connect(a, `/v1/applications/${application.id}/events`, auth({ role: 'station_staff', stationId }))
    t.equal((await staff.ready).statusCode, 200, 'the pickup station\'s staff may watch')
    staff.close()
  })
})

t.test('shutting down closes streams cleanly', async (t) => {
  const own = await testDatabase(t)
  const clock = new ManualClock('2026-12-01T02:00:00Z')
  const app = await buildApp(testConfig(), { database: own.database, clock, logger: false })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const pii = createPiiCipher(app.config.pii)
  const mint = createTokenMinter(app.config.jwt, clock)
  const auth = (request: DevTokenRequest) => ({ authorization: `Bearer ${mint(claimsFor(request, pii)).token}` })
  const ctx = { app, database: own.database, kind: own.kind, clock, config: app.config, token: (r: DevTokenRequest) => mint(claimsFor(r, pii)).token, auth } as TestContext
  const stationId = await createStation(ctx)
  const holder = await registerHolder(ctx, 3)
  const application = (await submit(ctx, holder, applyBody(stationId))).json()
  const stream = connect(app, `/v1/applications/${application.id}/events`, holder.headers)
  await stream.waitFor((m) => m.event === 'snapshot')
  const started = performance.now()
  await app.close()
  await stream.waitFor((m) => m.event === 'close')
  t.ok(stream.ended() || await stream.waitFor(() => false, 1000).catch(() => true), 'the stream ended')
  t.ok(performance.now() - started < 3000, 'close did not wait for the stream')
})
