// Payment notifications from the platform: signatures, strict bodies, exactly-once recording, anomalies and late arrivals.
import { and, count, eq } from 'drizzle-orm'
import t from 'tap'
import { applications, paymentNotifications, payments, timelineEvents } from '../../src/db/schema.js'
import { composePaymentCode } from '../../src/domain/payment-code.js'
import { signPayload } from '../../src/payments/signature.js'
import { buildTestApp, PROBLEM_JSON, residentIdentity, type TestContext } from '../helper.js'
import { createStation, jpegBytes } from '../fixtures.js'

interface FieldErr { pointer: string; in: string; message: string }
interface Applied { id: string; code: string; expiresAt: string; citizen: { authorization: string } }

const START = '2026-12-01T02:00:00Z'

/** Registers a holder with a card and a card photo; answers the citizen's authorization header. */
async function registerHolder (ctx: TestContext, seq: number, name = '欧阳明'): Promise<{ authorization: string }> {
  const identity = residentIdentity(seq, name)
  const res = await ctx.app.inject({
    method: 'POST', url: '/v1/holders', headers: ctx.auth({ role: 'bureau_staff' }),
    payload: {
      identity, phone: '13800138000',
      card: { cardNumber: 'A12345678', issuedAt: '2025-06-30', photoJpegBase64: jpegBytes(358, 441).toString('base64') }
    }
  })
  if (res.statusCode !== 201) throw new Error(`holder not registered: ${res.statusCode} ${res.body}`)
  return ctx.auth({ role: 'citizen', identity })
}

async function applyLost (ctx: TestContext, citizen: { authorization: string }, pickupStationId: string) {
  return ctx.app.inject({
    method: 'POST', url: '/v1/applications', headers: citizen,
    payload: { type: 'LOST', pickupStationId, oldCardConfirmed: true, photo: { source: 'CARD' } }
  })
}

t.test('payment notifications', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, clock, config } = ctx
  const db = ctx.database.db
  const stationId = await createStation(ctx)

  let nextSeq = 1
  let nextNotification = 1
  /** A new holder applies for a lost-card replacement; answers the application, its code and deadline. */
  const newApplication = async (): Promise<Applied> => {
    const citizen = await registerHolder(ctx, nextSeq++)
    const res = await applyLost(ctx, citizen, stationId)
    if (res.statusCode !== 201) throw new Error(`application not created: ${res.statusCode} ${res.body}`)
    const body = res.json()
    return { id: body.id, code: body.payment.code, expiresAt: body.payment.expiresAt, citizen }
  }

  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000)
  const notification = (code: string, overrides: Record<string, unknown> = {}) => {
    const n = nextNotification++
    return { notificationId: `ntf-${n}`, paymentCode: code, amountFen: 2000, paidAt: clock.now().toISOString(), platformTransactionId: `tx-${n}`, ...overrides }
  }
  const sign = (rawBody: string, options: { secret?: string; at?: number } = {}) =>
    signPayload(options.secret ?? config.paymentWebhookSecret, options.at ?? nowSeconds(), rawBody)
  /** Sends the exact string; signs it unless a header is given (null: no header at all). */
  const send = (rawBody: string, options: { signature?: string | null; contentType?: string } = {}) => {
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' }
    const signature = options.signature === undefined ? sign(rawBody) : options.signature
    if (signature !== null) headers['x-payment-signature'] = signature
    return app.inject({ method: 'POST', url: '/v1/payment-notifications', headers, payload: rawBody })
  }
  const notify = (body: Record<string, unknown>) => send(JSON.stringify(body))

  const paymentOf = async (applicationId: string) => (await db.select().from(payments).where(eq(payments.applicationId, applicationId)))[0]!
  const applicationRow = async (applicationId: string) => (await db.select().from(applications).where(eq(applications.id, applicationId)))[0]!
  const eventsOf = async (applicationId: string) =>
    db.select().from(timelineEvents).where(eq(timelineEvents.applicationId, applicationId)).orderBy(timelineEvents.id)
  const paymentReceivedCount = async (applicationId: string) => Number((await db.select({ n: count() }).from(timelineEvents)
    .where(and(eq(timelineEvents.applicationId, applicationId), eq(timelineEvents.type, 'PAYMENT_RECEIVED'))))[0]!.n)
  const notificationRows = async (notificationId: string) =>
    db.select().from(paymentNotifications).where(eq(paymentNotifications.notificationId, notificationId)).orderBy(paymentNotifications.id)
  const allNotificationCount = async () => Number((await db.select({ n: count() }).from(paymentNotifications))[0]!.n)
  const readApplication = async (a: Applied) => {
    const res = await app.inject({ method: 'GET', url: `/v1/applications/${a.id}`, headers: a.citizen })
    if (res.statusCode !== 200) throw new Error(`application not readable: ${res.statusCode} ${res.body}`)
    return res.json()
  }
  /** Everything a refused delivery must leave alone. */
  const stateOf = async (applicationId: string) => ({
    payment: await paymentOf(applicationId),
    application: await applicationRow(applicationId),
    events: (await eventsOf(applicationId)).map((e) => e.type),
    notifications: await allNotificationCount()
  })

  t.test('a valid notification is recorded once, with the exact bytes received', async (t) => {
    const a = await newApplication()
    t.equal((await paymentOf(a.id)).status, 'PENDING', 'pending before the notification')
    const paidAt = '2026-12-01T02:30:00.000Z'
    clock.set('2026-12-01T02:31:00Z')
    t.teardown(() => clock.set(START))
    // Odd spacing and key order: re-serialising the parsed body would not reproduce these bytes.
    const rawBody = `{ "platformTransactionId" : "tx-first",\n  "notificationId": "ntf-first", "paymentCode": "${a.code}",  "amountFen": 2000, "paidAt": "${paidAt}" }`
    const signature = sign(rawBody)
    const res = await send(rawBody, { signature })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { notificationId: 'ntf-first', outcome: 'RECORDED', anomaly: null, refundRequired: false })

    const payment = await paymentOf(a.id)
    t.equal(payment.status, 'PAID')
    t.equal(payment.paidAt?.toISOString(), paidAt, 'paid_at is the platform\'s paidAt, not the arrival time')
    t.equal(payment.platformTransactionId, 'tx-first')
    const application = await applicationRow(a.id)
    t.equal(application.stage, 'PAID')
    t.equal(application.status, 'IN_PROGRESS')
    t.equal(application.outcome, null)
    t.equal(await paymentReceivedCount(a.id), 1, 'one PAYMENT_RECEIVED event')
    t.same((await eventsOf(a.id)).map((e) => e.type), ['SUBMITTED', 'PAYMENT_RECEIVED'])

    const rows = await notificationRows('ntf-first')
    t.equal(rows.length, 1, 'one notification row')
    t.match(rows[0], {
      outcome: 'RECORDED', anomalyReason: null, paymentCode: a.code, amountFen: 2000, platformTransactionId: 'tx-first',
      paymentId: payment.id, applicationId: a.id, signature
    })
    t.same(rows[0]!.rawBody, Buffer.from(rawBody), 'raw_body is byte for byte what was sent')
    t.equal(rows[0]!.receivedAt.toISOString(), '2026-12-01T02:31:00.000Z', 'received_at is the arrival time')
    t.equal(rows[0]!.paidAt?.toISOString(), paidAt)

    const view = await readApplication(a)
    t.match(view, { status: 'IN_PROGRESS', stage: 'PAID', payment: { status: 'PAID', paidAt } })

    t.test('the same notification again is DUPLICATE and changes nothing but the delivery log', async (t) => {
      const res = await send(rawBody, { signature })
      t.equal(res.statusCode, 200)
      t.same(res.json(), { notificationId: 'ntf-first', outcome: 'DUPLICATE', anomaly: null, refundRequired: false })
      const again = await paymentOf(a.id)
      t.same(again, payment, 'the payment row is unchanged')
      t.equal((await db.select().from(payments).where(eq(payments.status, 'PAID'))).filter((p) => p.applicationId === a.id).length, 1)
      t.equal(await paymentReceivedCount(a.id), 1, 'still one PAYMENT_RECEIVED event')
      t.equal((await applicationRow(a.id)).version, application.version, 'the application is not touched')
      const rows = await notificationRows('ntf-first')
      t.same(rows.map((r) => r.outcome), ['RECORDED', 'DUPLICATE'], 'every delivery kept')
      t.same(rows[1]!.rawBody, Buffer.from(rawBody))
    })

    t.test('another transaction for an already paid code is ALREADY_PAID, refund required', async (t) => {
      const body = notification(a.code, { platformTransactionId: 'tx-second-payer' })
      const res = await notify(body)
      t.equal(res.statusCode, 200)
      t.same(res.json(), { notificationId: body.notificationId, outcome: 'ANOMALY', anomaly: 'ALREADY_PAID', refundRequired: true })
      const after = await paymentOf(a.id)
      t.equal(after.platformTransactionId, 'tx-first', 'the first transaction stays the payment')
      t.equal(after.paidAt?.toISOString(), paidAt)
      t.equal(await paymentReceivedCount(a.id), 1)
      const rows = await notificationRows(body.notificationId)
      t.equal(rows.length, 1)
      t.match(rows[0], { outcome: 'ANOMALY', anomalyReason: 'ALREADY_PAID', paymentId: payment.id, applicationId: a.id, platformTransactionId: 'tx-second-payer' })
    })
  })

  t.test('20 concurrent copies of one notification record one payment', async (t) => {
    const a = await newApplication()
    const rawBody = JSON.stringify(notification(a.code, { notificationId: 'ntf-concurrent', platformTransactionId: 'tx-concurrent' }))
    const signature = sign(rawBody)
    const results = await Promise.all(Array.from({ length: 20 }, () => send(rawBody, { signature })))
    t.same(results.map((r) => r.statusCode), Array(20).fill(200), 'all 200')
    const outcomes = results.map((r) => r.json().outcome)
    t.equal(outcomes.filter((o) => o === 'RECORDED').length, 1, 'exactly one RECORDED')
    t.equal(outcomes.filter((o) => o === 'DUPLICATE').length, 19, 'the rest DUPLICATE')
    t.ok(results.every((r) => r.json().refundRequired === false && r.json().anomaly === null))
    t.equal(await paymentReceivedCount(a.id), 1, 'one PAYMENT_RECEIVED event')
    t.match(await paymentOf(a.id), { status: 'PAID', platformTransactionId: 'tx-concurrent' })
    t.match(await applicationRow(a.id), { stage: 'PAID', status: 'IN_PROGRESS' })
    const rows = await notificationRows('ntf-concurrent')
    t.equal(rows.length, 20, 'every delivery kept')
    t.equal(rows.filter((r) => r.outcome === 'RECORDED').length, 1)
    t.equal(rows.filter((r) => r.outcome === 'DUPLICATE').length, 19)
    t.ok(rows.every((r) => r.rawBody.equals(Buffer.from(rawBody))))
  })

  t.test('a wrong amount is AMOUNT_MISMATCH and does not advance the application', async (t) => {
    const a = await newApplication()
    for (const amountFen of [1999, 2001, 0]) {
      const body = notification(a.code, { amountFen })
      const res = await notify(body)
      t.equal(res.statusCode, 200)
      t.same(res.json(), { notificationId: body.notificationId, outcome: 'ANOMALY', anomaly: 'AMOUNT_MISMATCH', refundRequired: true }, `${amountFen} fen`)
      const rows = await notificationRows(body.notificationId)
      t.match(rows, [{ outcome: 'ANOMALY', anomalyReason: 'AMOUNT_MISMATCH', amountFen, applicationId: a.id }])
    }
    t.match(await applicationRow(a.id), { stage: 'AWAITING_PAYMENT', status: 'IN_PROGRESS' })
    t.match(await paymentOf(a.id), { status: 'PENDING', paidAt: null, platformTransactionId: null })
    t.equal(await paymentReceivedCount(a.id), 0)
    t.match(await readApplication(a), { stage: 'AWAITING_PAYMENT', payment: { status: 'PENDING' } })

    // The code still takes the right amount afterwards.
    const right = await notify(notification(a.code))
    t.equal(right.json().outcome, 'RECORDED')
    t.equal((await applicationRow(a.id)).stage, 'PAID')
  })

  t.test('an unknown but well-formed code is UNKNOWN_CODE, stored without a payment', async (t) => {
    let sequence = 99_999_999_000n
    let code = composePaymentCode('440100', '26', sequence)
    while (code === null) code = composePaymentCode('440100', '26', ++sequence)
    t.equal((await db.select().from(payments).where(eq(payments.code, code))).length, 0, 'no such payment')
    const body = notification(code)
    const res = await notify(body)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { notificationId: body.notificationId, outcome: 'ANOMALY', anomaly: 'UNKNOWN_CODE', refundRequired: true })
    const rows = await notificationRows(body.notificationId)
    t.equal(rows.length, 1)
    t.match(rows[0], { outcome: 'ANOMALY', anomalyReason: 'UNKNOWN_CODE', paymentCode: code, paymentId: null, applicationId: null })
    t.equal(rows[0]!.paymentId, null)
  })

  t.test('paid at or after the deadline is PAID_AFTER_DEADLINE and does not advance', async (t) => {
    const a = await newApplication()
    const payment = await paymentOf(a.id)
    t.equal(payment.expiresAt.toISOString(), a.expiresAt, 'the deadline the application showed')
    t.equal(a.expiresAt, '2026-12-01T16:00:00.000Z', 'midnight in Shanghai')
    const deadline = new Date(a.expiresAt).getTime()
    for (const paidAt of [new Date(deadline), new Date(deadline + 1000)]) {
      const body = notification(a.code, { paidAt: paidAt.toISOString() })
      const res = await notify(body)
      t.equal(res.statusCode, 200)
      t.same(res.json(), { notificationId: body.notificationId, outcome: 'ANOMALY', anomaly: 'PAID_AFTER_DEADLINE', refundRequired: true }, `paid at ${paidAt.toISOString()}`)
      t.match(await notificationRows(body.notificationId), [{ outcome: 'ANOMALY', anomalyReason: 'PAID_AFTER_DEADLINE', paymentId: payment.id }])
    }
    t.match(await applicationRow(a.id), { stage: 'AWAITING_PAYMENT', status: 'IN_PROGRESS' })
    t.match(await paymentOf(a.id), { status: 'PENDING', paidAt: null })
    t.equal(await paymentReceivedCount(a.id), 0)

    // One millisecond before the deadline still counts.
    const inTime = await notify(notification(a.code, { paidAt: new Date(deadline - 1).toISOString() }))
    t.equal(inTime.json().outcome, 'RECORDED')
  })

  t.test('a cancelled application is APPLICATION_CLOSED', async (t) => {
    const a = await newApplication()
    const cancel = await app.inject({ method: 'POST', url: `/v1/applications/${a.id}/cancel`, headers: a.citizen })
    t.equal(cancel.statusCode, 200)
    const before = await applicationRow(a.id)
    t.match(before, { status: 'CLOSED', stage: 'CANCELLED' })
    const body = notification(a.code)
    const res = await notify(body)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { notificationId: body.notificationId, outcome: 'ANOMALY', anomaly: 'APPLICATION_CLOSED', refundRequired: true })
    t.match(await notificationRows(body.notificationId), [{ outcome: 'ANOMALY', anomalyReason: 'APPLICATION_CLOSED', applicationId: a.id }])
    const after = await applicationRow(a.id)
    t.match(after, { status: 'CLOSED', stage: 'CANCELLED', outcome: 'CANCELLED' })
    t.equal(after.version, before.version, 'not touched')
    t.match(await paymentOf(a.id), { status: 'EXPIRED', paidAt: null, platformTransactionId: null })
    t.equal(await paymentReceivedCount(a.id), 0)
  })

  t.test('bad signatures are 401 and nothing is stored or changed', async (t) => {
    const a = await newApplication()
    const rawBody = JSON.stringify(notification(a.code))
    const before = await stateOf(a.id)
    const now = nowSeconds()
    const cases: Array<[string, () => ReturnType<typeof send>, string]> = [
      ['missing header', () => send(rawBody, { signature: null }), 'SIGNATURE_MISSING'],
      ['garbage', () => send(rawBody, { signature: 'garbage' }), 'SIGNATURE_MALFORMED'],
      ['t=abc,v1=zz', () => send(rawBody, { signature: 't=abc,v1=zz' }), 'SIGNATURE_MALFORMED'],
      ['wrong secret', () => send(rawBody, { signature: sign(rawBody, { secret: `${config.paymentWebhookSecret}-not` }) }), 'SIGNATURE_MISMATCH'],
      ['stale (301 s old)', () => send(rawBody, { signature: sign(rawBody, { at: now - 301 }) }), 'SIGNATURE_STALE'],
      ['future (301 s ahead)', () => send(rawBody, { signature: sign(rawBody, { at: now + 301 }) }), 'SIGNATURE_STALE'],
      ['body altered after signing', () => send(rawBody.replace('"amountFen":2000', '"amountFen":1'), { signature: sign(rawBody) }), 'SIGNATURE_MISMATCH'],
      ['body with a space added after signing', () => send(`${rawBody} `, { signature: sign(rawBody) }), 'SIGNATURE_MISMATCH']
    ]
    for (const [label, request, code] of cases) {
      const res = await request()
      t.equal(res.statusCode, 401, `${label}: 401`)
      t.match(res.headers['content-type'], PROBLEM_JSON, `${label}: problem+json`)
      t.match(res.json().code, /^SIGNATURE_/, `${label}: a SIGNATURE_ code`)
      t.equal(res.json().code, code, `${label}: ${code}`)
      t.same(await stateOf(a.id), before, `${label}: nothing stored, nothing changed`)
    }
    // The window is inclusive: 300 s either way still verifies, so the cases above fail for being 301 s off.
    const edge = await send(rawBody, { signature: sign(rawBody, { at: now - 300 }) })
    t.equal(edge.statusCode, 200)
    t.equal(edge.json().outcome, 'RECORDED')
  })

  t.test('bodies that are not notifications', async (t) => {
    const a = await newApplication()
    const valid = notification(a.code)

    t.test('signed but not JSON is 400 MALFORMED_JSON', async (t) => {
      const before = await stateOf(a.id)
      const res = await send('{"notificationId": ')
      t.equal(res.statusCode, 400)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      t.equal(res.json().code, 'MALFORMED_JSON')
      const after = await stateOf(a.id)
      t.same({ ...after, notifications: before.notifications }, before, 'the payment and application are unchanged')
      const [kept] = await db.select().from(paymentNotifications).where(eq(paymentNotifications.rawBody, Buffer.from('{"notificationId": ')))
      t.equal(kept?.outcome, 'REJECTED', 'a signed delivery is kept as received even when it is not JSON')
    })

    const invalid: Array<[string, Record<string, unknown>, string[]]> = [
      ['missing fields', { notificationId: valid.notificationId, paymentCode: a.code }, ['/amountFen', '/paidAt', '/platformTransactionId']],
      ['an extra field', { ...valid, notificationId: 'ntf-extra', payer: '张三' }, ['/payer']],
      ['amount as a string', { ...valid, notificationId: 'ntf-string', amountFen: '2000' }, ['/amountFen']],
      ['paidAt not a date-time', { ...valid, notificationId: 'ntf-date', paidAt: 'yesterday' }, ['/paidAt']]
    ]
    for (const [label, body, pointers] of invalid) {
      t.test(`${label} is 400 VALIDATION_FAILED, and the delivery is kept as REJECTED`, async (t) => {
        const before = await stateOf(a.id)
        const rawBody = JSON.stringify(body)
        const signature = sign(rawBody)
        const res = await send(rawBody, { signature })
        t.equal(res.statusCode, 400)
        t.match(res.headers['content-type'], PROBLEM_JSON)
        const problem = res.json()
        t.equal(problem.code, 'VALIDATION_FAILED')
        const listed = problem.errors.map((e: FieldErr) => e.pointer).sort()
        t.same(listed, [...pointers].sort(), `the failing fields are listed (${listed.join(', ')})`)
        t.ok(problem.errors.every((e: FieldErr) => e.in === 'body'))
        const after = await stateOf(a.id)
        t.equal(after.notifications, before.notifications + 1, 'one delivery row added')
        const rejected = await db.select().from(paymentNotifications).where(eq(paymentNotifications.rawBody, Buffer.from(rawBody)))
        t.equal(rejected.length, 1)
        t.match(rejected[0], { outcome: 'REJECTED', signature, paymentId: null, applicationId: null })
        t.same({ ...after, notifications: before.notifications }, before, 'the payment and application are unchanged')
      })
    }

    t.test('a signed body over 64 KiB is 413 and nothing is stored', async (t) => {
      const before = await stateOf(a.id)
      const rawBody = JSON.stringify({ ...valid, notificationId: 'x'.repeat(65 * 1024) })
      const res = await send(rawBody)
      t.equal(res.statusCode, 413)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      t.same(await stateOf(a.id), before)
    })

    t.test('text/plain is 415 and nothing is stored', async (t) => {
      const before = await stateOf(a.id)
      const rawBody = JSON.stringify(valid)
      const res = await send(rawBody, { contentType: 'text/plain' })
      t.equal(res.statusCode, 415)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      t.same(await stateOf(a.id), before)
    })

    t.test('the valid notification still records afterwards', async (t) => {
      const res = await notify(valid)
      t.equal(res.json().outcome, 'RECORDED')
      t.equal(await paymentReceivedCount(a.id), 1)
    })
  })

  t.test('paid before the deadline, notified after it', async (t) => {
    clock.set('2026-12-01T15:59:30Z') // 23:59:30 in Shanghai
    t.teardown(() => clock.set(START))
    const late = await newApplication()
    const tooLate = await newApplication()
    const swept = await newApplication()
    t.equal(late.expiresAt, '2026-12-01T16:00:00.000Z', 'the deadline is 30 seconds away')
    clock.set('2026-12-01T16:00:10Z')
    t.match(await readApplication(late), { status: 'CLOSED', stage: 'EXPIRED_UNPAID' }, 'reads as expired before the notification')

    t.test('a payment made at 23:59:50 counts: the application reopens as PAID', async (t) => {
      const body = notification(late.code, { paidAt: '2026-12-01T15:59:50Z' })
      const res = await notify(body)
      t.equal(res.statusCode, 200)
      t.same(res.json(), { notificationId: body.notificationId, outcome: 'RECORDED', anomaly: null, refundRequired: false })
      const row = await applicationRow(late.id)
      t.match(row, { status: 'IN_PROGRESS', stage: 'PAID', outcome: null, closedAt: null })
      t.match(await paymentOf(late.id), { status: 'PAID', platformTransactionId: body.platformTransactionId })
      t.equal((await paymentOf(late.id)).paidAt?.toISOString(), '2026-12-01T15:59:50.000Z')
      t.match(await readApplication(late), { status: 'IN_PROGRESS', stage: 'PAID', outcome: null, payment: { status: 'PAID' } })
      const timeline = await app.inject({ method: 'GET', url: `/v1/applications/${late.id}/timeline`, headers: late.citizen })
      t.equal(timeline.statusCode, 200)
      t.same(timeline.json().events.map((e: { type: string }) => e.type), ['SUBMITTED', 'EXPIRED_UNPAID', 'PAYMENT_RECEIVED'],
        'the expiry stays on the timeline and the payment is added')
      t.equal((await eventsOf(late.id)).length, 3, 'all three events are stored')
    })

    t.test('a payment made at 00:00:05 is PAID_AFTER_DEADLINE; the application stays expired', async (t) => {
      const body = notification(tooLate.code, { paidAt: '2026-12-01T16:00:05Z' })
      const res = await notify(body)
      t.equal(res.statusCode, 200)
      t.same(res.json(), { notificationId: body.notificationId, outcome: 'ANOMALY', anomaly: 'PAID_AFTER_DEADLINE', refundRequired: true })
      t.match(await readApplication(tooLate), { status: 'CLOSED', stage: 'EXPIRED_UNPAID', outcome: 'EXPIRED_UNPAID', payment: { status: 'EXPIRED', paidAt: null } })
      t.equal(await paymentReceivedCount(tooLate.id), 0)
      t.equal((await paymentOf(tooLate.id)).paidAt, null)
    })

    t.test('a payment made in time counts even after the sweep closed the application', async (t) => {
      const sweep = await app.inject({ method: 'POST', url: '/v1/admin/jobs/expire-unpaid', headers: ctx.auth({ role: 'admin' }) })
      t.equal(sweep.statusCode, 200)
      t.ok(sweep.json().expired >= 1, 'the sweep closed something')
      t.match(await applicationRow(swept.id), { status: 'CLOSED', stage: 'EXPIRED_UNPAID' }, 'stored as expired')
      t.equal((await paymentOf(swept.id)).status, 'EXPIRED')
      const body = notification(swept.code, { paidAt: '2026-12-01T15:59:59.999Z' })
      const res = await notify(body)
      t.same(res.json(), { notificationId: body.notificationId, outcome: 'RECORDED', anomaly: null, refundRequired: false })
      t.match(await applicationRow(swept.id), { status: 'IN_PROGRESS', stage: 'PAID', outcome: null, closedAt: null })
      t.match(await paymentOf(swept.id), { status: 'PAID', platformTransactionId: body.platformTransactionId })
      t.same((await eventsOf(swept.id)).map((e) => e.type), ['SUBMITTED', 'EXPIRED_UNPAID', 'PAYMENT_RECEIVED'])
      t.match(await readApplication(tooLate), { status: 'CLOSED', stage: 'EXPIRED_UNPAID' }, 'the refunded one stays closed')
    })
  })

  t.test('a late payment after the holder applied again is APPLICATION_CLOSED; the new application is untouched', async (t) => {
    clock.set('2026-12-01T15:59:30Z')
    t.teardown(() => clock.set(START))
    const first = await newApplication()
    clock.set('2026-12-01T16:00:10Z')
    const again = await applyLost(ctx, first.citizen, stationId)
    t.equal(again.statusCode, 201, 'the holder may apply again once the first expired')
    const second = again.json()
    t.not(second.id, first.id, 'a new application')
    t.not(second.payment.code, first.code, 'with a new code')
    const secondBefore = await applicationRow(second.id)
    const secondPaymentBefore = await paymentOf(second.id)

    const body = notification(first.code, { paidAt: '2026-12-01T15:59:50Z' })
    const res = await notify(body)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { notificationId: body.notificationId, outcome: 'ANOMALY', anomaly: 'APPLICATION_CLOSED', refundRequired: true })
    t.match(await notificationRows(body.notificationId), [{ outcome: 'ANOMALY', anomalyReason: 'APPLICATION_CLOSED', applicationId: first.id }])
    t.match(await applicationRow(first.id), { status: 'CLOSED', stage: 'EXPIRED_UNPAID', outcome: 'EXPIRED_UNPAID' })
    t.match(await paymentOf(first.id), { status: 'EXPIRED', paidAt: null, platformTransactionId: null })
    t.equal(await paymentReceivedCount(first.id), 0)
    t.same(await applicationRow(second.id), secondBefore, 'the second application is untouched')
    t.same(await paymentOf(second.id), secondPaymentBefore, 'and so is its payment')
    t.same((await eventsOf(second.id)).map((e) => e.type), ['SUBMITTED'])
  })
})
