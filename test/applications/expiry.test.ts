// Same-day expiry (SPEC section 5): readers see an unpaid application closed the moment its deadline
// passes, before any sweep; the sweep (admin job, background sweeper, or a new submission) then makes
// the database agree, exactly once.
import { and, count, eq } from 'drizzle-orm'
import t from 'tap'
import { startExpirySweeper } from '../../src/applications/expiry.js'
import { applications, auditEvents, payments, timelineEvents } from '../../src/db/schema.js'
import { signPayload } from '../../src/payments/signature.js'
import { buildTestApp, PROBLEM_JSON, residentIdentity } from '../helper.js'
import { jpegBytes } from '../fixtures.js'

const CARD_PHOTO_BASE64 = jpegBytes(358, 441).toString('base64')

/** An assertion message: the expected status, or the body that explains why it was not. */
const outcome = (res: { statusCode: number; body: string }, expected: number) =>
  res.statusCode === expected ? `answered ${expected}` : `answered ${res.statusCode}: ${res.body}`

t.test('same-day expiry', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, clock } = ctx
  const db = ctx.database.db

  // Tokens are minted at the clock's time, so mint them when they are used.
  const bureau = () => ctx.auth({ role: 'bureau_staff' })
  const admin = () => ctx.auth({ role: 'admin' })

  const stationRes = await app.inject({
    method: 'POST',
    url: '/v1/stations',
    headers: bureau(),
    payload: { name: '天河区退役军人服务站', districtCode: '440106', address: '天河路1号', phone: '020-38000001', latitude: 23.1375, longitude: 113.3245 }
  })
  t.equal(stationRes.statusCode, 201, 'station created')
  const stationId: string = stationRes.json().id

  let nextSeq = 1
  /** Registers a holder with a card photo; answers a function minting that holder's citizen headers. */
  async function newHolder (): Promise<{ id: string; citizen: () => { authorization: string } }> {
    const identity = residentIdentity(nextSeq++, '张三丰')
    const res = await app.inject({
      method: 'POST',
      url: '/v1/holders',
      headers: bureau(),
      payload: { identity, phone: '13800138000', card: { cardNumber: 'A12345678', issuedAt: '2025-06-30', photoJpegBase64: CARD_PHOTO_BASE64 } }
    })
    if (res.statusCode !== 201) throw new Error(`holder registration failed: ${res.statusCode} ${res.body}`)
    return { id: res.json().id, citizen: () => ctx.auth({ role: 'citizen', identity }) }
  }

  const apply = (headers: Record<string, string>) => app.inject({
    method: 'POST',
    url: '/v1/applications',
    headers,
    payload: { type: 'LOST', pickupStationId: stationId, oldCardConfirmed: true, photo: { source: 'CARD' } }
  })

  async function stored (applicationId: string) {
    const [application] = await db.select().from(applications).where(eq(applications.id, applicationId))
    const [payment] = await db.select().from(payments).where(eq(payments.applicationId, applicationId))
    const events = await db.select().from(timelineEvents).where(eq(timelineEvents.applicationId, applicationId))
      .orderBy(timelineEvents.occurredAt, timelineEvents.id)
    return { application: application!, payment: payment!, events }
  }
  const expiryEvents = async (applicationId: string) => Number((await db.select({ n: count() }).from(timelineEvents)
    .where(and(eq(timelineEvents.applicationId, applicationId), eq(timelineEvents.type, 'EXPIRED_UNPAID'))))[0]!.n)
  const sweepAudits = async () => Number((await db.select({ n: count() }).from(auditEvents).where(eq(auditEvents.action, 'EXPIRY_SWEEP_RUN')))[0]!.n)
  const runJob = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/v1/admin/jobs/expire-unpaid', headers })

  // The first holder's application, shared by the subtests that follow its life.
  const first = await newHolder()
  let firstId = ''
  let firstCode = ''
  let etagBefore = ''
  let lazyView: Record<string, unknown> = {}

  t.test('submitted at 23:59:30 Asia/Shanghai: the deadline is half a minute later', async (t) => {
    clock.set('2026-12-01T15:59:30Z')
    const res = await apply(first.citizen())
    t.equal(res.statusCode, 201, outcome(res, 201))
    const body = res.json()
    firstId = body.id
    firstCode = body.payment.code
    t.equal(body.status, 'IN_PROGRESS')
    t.equal(body.stage, 'AWAITING_PAYMENT')
    t.equal(body.outcome, null)
    t.equal(body.closedAt, null)
    t.equal(body.payment.status, 'PENDING')
    t.equal(body.payment.expiresAt, '2026-12-01T16:00:00.000Z')
    t.equal(body.payment.amountFen, 2000)
    t.match(body.payment.code, /^[0-9]{20}$/)
    t.equal(body.createdAt, '2026-12-01T15:59:30.000Z')

    // One millisecond before the deadline it is still in progress, everywhere.
    clock.set('2026-12-01T15:59:59.999Z')
    const get = await app.inject({ method: 'GET', url: `/v1/applications/${firstId}`, headers: first.citizen() })
    t.equal(get.statusCode, 200)
    t.equal(get.json().status, 'IN_PROGRESS')
    t.equal(get.json().payment.status, 'PENDING')
    t.type(get.json().paymentPrompt, 'string', 'the prompt to pay is shown while payable')
    etagBefore = String(get.headers.etag)
    t.match(etagBefore, /^"[0-9a-f]{8}-\d+"$/)
    const current = await app.inject({ method: 'GET', url: '/v1/me/applications/current', headers: first.citizen() })
    t.equal(current.statusCode, 200)
    t.equal(current.json().id, firstId)
  })

  t.test('past the deadline, before any sweep, every reader sees it closed', async (t) => {
    clock.set('2026-12-01T16:00:01Z')
    const citizen = first.citizen()

    const get = await app.inject({ method: 'GET', url: `/v1/applications/${firstId}`, headers: citizen })
    t.equal(get.statusCode, 200)
    const view = get.json()
    lazyView = view
    t.equal(view.status, 'CLOSED')
    t.equal(view.stage, 'EXPIRED_UNPAID')
    t.equal(view.outcome, 'EXPIRED_UNPAID')
    t.equal(view.payment.status, 'EXPIRED')
    t.equal(view.closedAt, '2026-12-01T16:00:00.000Z', 'closed at the deadline, not at the read')
    t.notOk('paymentPrompt' in view, 'no prompt to pay an expired code')
    t.ok(get.headers.etag, 'an ETag is sent')
    t.not(get.headers.etag, etagBefore, 'the ETag changed when the deadline passed')

    // Exactly at the deadline it is already closed.
    clock.set('2026-12-01T16:00:00Z')
    const atDeadline = await app.inject({ method: 'GET', url: `/v1/applications/${firstId}`, headers: citizen })
    t.equal(atDeadline.json().status, 'CLOSED', 'closed at exactly midnight')
    clock.set('2026-12-01T16:00:01Z')

    // Staff readers see it closed as well.
    const asBureau = await app.inject({ method: 'GET', url: `/v1/applications/${firstId}`, headers: bureau() })
    t.equal(asBureau.json().stage, 'EXPIRED_UNPAID')

    const current = await app.inject({ method: 'GET', url: '/v1/me/applications/current', headers: citizen })
    t.equal(current.statusCode, 404)
    t.match(current.headers['content-type'], PROBLEM_JSON)
    t.equal(current.json().code, 'NO_APPLICATION_IN_PROGRESS')

    const list = await app.inject({ method: 'GET', url: '/v1/me/applications', headers: citizen })
    t.equal(list.statusCode, 200)
    const items = list.json().items as { id: string; status: string; stage: string; payment: { status: string } }[]
    t.equal(items.length, 1)
    t.equal(items[0]!.id, firstId)
    t.equal(items[0]!.status, 'CLOSED')
    t.equal(items[0]!.stage, 'EXPIRED_UNPAID')
    t.equal(items[0]!.payment.status, 'EXPIRED')

    const zh = await app.inject({ method: 'GET', url: `/v1/applications/${firstId}/timeline`, headers: citizen })
    t.equal(zh.statusCode, 200)
    const zhEvents = zh.json().events as { type: string; title: string; message: string; occurredAt: string }[]
    t.same(zhEvents.map((e) => e.type), ['SUBMITTED', 'EXPIRED_UNPAID'])
    const zhLast = zhEvents.at(-1)!
    t.equal(zhLast.title, '已办结（未缴费）')
    t.equal(zhLast.occurredAt, '2026-12-01T16:00:00.000Z')
    t.ok(zhLast.message.includes(firstCode), 'the message names the expired code')
    t.ok(zhLast.message.includes('2026-12-02 00:00:00'), 'and the deadline in Shanghai time')
    t.notOk(zhEvents[0]!.message.includes('请前往广东省非税收缴平台进行缴费'), 'SUBMITTED no longer asks for payment')

    const en = await app.inject({ method: 'GET', url: `/v1/applications/${firstId}/timeline`, headers: { ...citizen, 'accept-language': 'en' } })
    const enEvents = en.json().events as { type: string; title: string }[]
    t.same(enEvents.map((e) => e.type), ['SUBMITTED', 'EXPIRED_UNPAID'])
    t.equal(enEvents.at(-1)!.title, 'Closed (unpaid)')

    const lookup = await app.inject({ method: 'GET', url: `/v1/payments/${firstCode}` })
    t.equal(lookup.statusCode, 200)
    t.equal(lookup.json().status, 'EXPIRED')
    t.equal(lookup.json().expiresAt, '2026-12-01T16:00:00.000Z')

    const cancel = await app.inject({ method: 'POST', url: `/v1/applications/${firstId}/cancel`, headers: citizen })
    t.equal(cancel.statusCode, 409)
    t.equal(cancel.json().code, 'CANNOT_CANCEL')
    t.equal(cancel.json().stage, 'EXPIRED_UNPAID')

    // Nothing was written: the database still holds the stored state until a sweep.
    const row = await stored(firstId)
    t.equal(row.application.status, 'IN_PROGRESS')
    t.equal(row.application.stage, 'AWAITING_PAYMENT')
    t.equal(row.application.outcome, null)
    t.equal(row.application.closedAt, null)
    t.equal(row.application.version, 1)
    t.equal(row.payment.status, 'PENDING')
    t.same(row.events.map((e) => e.type), ['SUBMITTED'])
  })

  t.test('the admin job closes it in the database, once', async (t) => {
    const auditsBefore = await sweepAudits()
    const res = await runJob(admin())
    t.equal(res.statusCode, 200)
    t.same(res.json(), { expired: 1 })

    const row = await stored(firstId)
    t.equal(row.application.status, 'CLOSED')
    t.equal(row.application.stage, 'EXPIRED_UNPAID')
    t.equal(row.application.outcome, 'EXPIRED_UNPAID')
    t.same(row.application.closedAt, new Date('2026-12-01T16:00:00Z'))
    t.same(row.application.updatedAt, new Date('2026-12-01T16:00:01Z'))
    t.equal(row.application.version, 2)
    t.equal(row.payment.status, 'EXPIRED')
    t.same(row.events.map((e) => e.type), ['SUBMITTED', 'EXPIRED_UNPAID'])
    t.same(row.events[1]!.occurredAt, new Date('2026-12-01T16:00:00Z'))
    t.equal(await expiryEvents(firstId), 1)

    t.equal(await sweepAudits(), auditsBefore + 1)
    const [audit] = await db.select().from(auditEvents).where(eq(auditEvents.action, 'EXPIRY_SWEEP_RUN')).orderBy(auditEvents.id)
    t.match(audit, { actorRole: 'admin', targetType: 'job', targetId: 'expire-unpaid' })
    t.same(audit!.after, { expired: 1 })

    // Readers see the same closure as before the sweep (only updatedAt moves).
    const get = await app.inject({ method: 'GET', url: `/v1/applications/${firstId}`, headers: first.citizen() })
    const { updatedAt: _swept, ...sweptRest } = get.json()
    const { updatedAt: _lazy, ...lazyRest } = lazyView
    t.same(sweptRest, lazyRest, 'the stored closure reads like the lazy one')
    const timeline = await app.inject({ method: 'GET', url: `/v1/applications/${firstId}/timeline`, headers: first.citizen() })
    t.same(timeline.json().events.map((e: { type: string }) => e.type), ['SUBMITTED', 'EXPIRED_UNPAID'], 'no duplicate of the lazy event')

    const again = await runJob(admin())
    t.equal(again.statusCode, 200)
    t.same(again.json(), { expired: 0 })
    t.equal(await expiryEvents(firstId), 1, 'still one EXPIRED_UNPAID event')
    t.equal((await stored(firstId)).application.version, 2, 'not touched again')
    t.equal(await sweepAudits(), auditsBefore + 2, 'every run is audited')
  })

  t.test('only an admin may run the job', async (t) => {
    const audits = await sweepAudits()
    for (const [role, headers] of [
      ['citizen', first.citizen()],
      ['station_staff', ctx.auth({ role: 'station_staff', stationId })],
      ['bureau_staff', bureau()]
    ] as const) {
      const res = await runJob(headers)
      t.equal(res.statusCode, 403, `${role} is refused`)
      t.match(res.headers['content-type'], PROBLEM_JSON)
    }
    const anonymous = await app.inject({ method: 'POST', url: '/v1/admin/jobs/expire-unpaid' })
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.json().code, 'TOKEN_MISSING')
    t.equal(await sweepAudits(), audits, 'refused runs did nothing')
  })

  t.test('after expiry the holder can apply again', async (t) => {
    const res = await apply(first.citizen())
    t.equal(res.statusCode, 201, outcome(res, 201))
    t.not(res.json().id, firstId)
    t.equal(res.json().status, 'IN_PROGRESS')
    t.equal(res.json().payment.expiresAt, '2026-12-02T16:00:00.000Z', 'a full day to pay, until the next midnight')
    t.not(res.json().payment.code, firstCode, 'a new payment code')
    const current = await app.inject({ method: 'GET', url: '/v1/me/applications/current', headers: first.citizen() })
    t.equal(current.json().id, res.json().id)
  })

  t.test('applying again past the deadline without a sweep closes the old application in the same transaction', async (t) => {
    const second = await newHolder()
    clock.set('2026-12-02T15:59:30Z')
    const old = await apply(second.citizen())
    t.equal(old.statusCode, 201, outcome(old, 201))
    const oldId: string = old.json().id
    t.equal(old.json().payment.expiresAt, '2026-12-02T16:00:00.000Z')

    // Before the deadline the slot is taken.
    const early = await apply(second.citizen())
    t.equal(early.statusCode, 409)
    t.equal(early.json().code, 'APPLICATION_IN_PROGRESS')
    t.equal(early.json().applicationId, oldId)

    clock.set('2026-12-02T16:00:05Z')
    t.equal((await stored(oldId)).application.status, 'IN_PROGRESS', 'not swept yet')
    const again = await apply(second.citizen())
    t.equal(again.statusCode, 201, outcome(again, 201))
    const newId: string = again.json().id
    t.not(newId, oldId)
    t.equal(again.json().payment.expiresAt, '2026-12-03T16:00:00.000Z')

    const row = await stored(oldId)
    t.equal(row.application.status, 'CLOSED')
    t.equal(row.application.stage, 'EXPIRED_UNPAID')
    t.equal(row.application.outcome, 'EXPIRED_UNPAID')
    t.same(row.application.closedAt, new Date('2026-12-02T16:00:00Z'))
    t.equal(row.payment.status, 'EXPIRED')
    t.same(row.events.map((e) => e.type), ['SUBMITTED', 'EXPIRED_UNPAID'])
    t.same(row.events[1]!.occurredAt, new Date('2026-12-02T16:00:00Z'))

    const inProgress = await db.select({ id: applications.id }).from(applications)
      .where(and(eq(applications.holderId, second.id), eq(applications.status, 'IN_PROGRESS')))
    t.same(inProgress, [{ id: newId }], 'exactly the new one is in progress')
  })

  t.test('deadline boundaries through the API', async (t) => {
    const cases = [
      { submittedAt: '2026-12-01T16:00:00Z', deadline: '2026-12-02T16:00:00.000Z', why: '00:00:00 opens a new day: a full 24 hours' },
      { submittedAt: '2026-12-01T15:59:59Z', deadline: '2026-12-01T16:00:00.000Z', why: '23:59:59: one second' },
      { submittedAt: '2026-12-31T15:59:59Z', deadline: '2026-12-31T16:00:00.000Z', why: 'new year\'s eve, 23:59:59' },
      { submittedAt: '2026-12-31T16:00:00Z', deadline: '2027-01-01T16:00:00.000Z', why: 'new year\'s day, 00:00:00' }
    ]
    for (const c of cases) {
      const holder = await newHolder()
      clock.set(c.submittedAt)
      const res = await apply(holder.citizen())
      t.equal(res.statusCode, 201, outcome(res, 201))
      t.equal(res.json().payment.expiresAt, c.deadline, c.why)
      const [row] = await db.select({ expiresAt: applications.expiresAt }).from(applications).where(eq(applications.id, res.json().id))
      t.same(row!.expiresAt, new Date(c.deadline), 'stored deadline')
    }
  })

  t.test('an application paid before the deadline is never expired', async (t) => {
    const payer = await newHolder()
    const idler = await newHolder()
    clock.set('2027-01-05T15:59:30Z')
    // Clear what the earlier subtests left unpaid, so the next run's count is about these two only.
    t.equal((await runJob(admin())).statusCode, 200)
    const paid = await apply(payer.citizen())
    const unpaid = await apply(idler.citizen())
    t.equal(paid.statusCode, 201)
    t.equal(unpaid.statusCode, 201)
    const paidId: string = paid.json().id
    const unpaidId: string = unpaid.json().id

    clock.set('2027-01-05T15:59:50Z')
    const rawBody = JSON.stringify({
      notificationId: 'N-expiry-1',
      paymentCode: paid.json().payment.code,
      amountFen: 2000,
      paidAt: '2027-01-05T15:59:45Z',
      platformTransactionId: 'T-expiry-1'
    })
    const signature = signPayload(ctx.config.paymentWebhookSecret, Math.floor(clock.now().getTime() / 1000), rawBody)
    const notified = await app.inject({
      method: 'POST',
      url: '/v1/payment-notifications',
      headers: { 'content-type': 'application/json', 'x-payment-signature': signature },
      payload: rawBody
    })
    t.equal(notified.statusCode, 200, outcome(notified, 200))
    t.match(notified.json(), { outcome: 'RECORDED', anomaly: null, refundRequired: false })

    clock.set('2027-01-06T00:00:00Z')
    const get = await app.inject({ method: 'GET', url: `/v1/applications/${paidId}`, headers: payer.citizen() })
    t.equal(get.json().status, 'IN_PROGRESS', 'past the deadline a paid application reads as in progress')
    t.equal(get.json().stage, 'PAID')

    const res = await runJob(admin())
    t.same(res.json(), { expired: 1 }, 'the sweep ran and closed only the unpaid one')

    const paidRow = await stored(paidId)
    t.equal(paidRow.application.status, 'IN_PROGRESS')
    t.equal(paidRow.application.stage, 'PAID')
    t.equal(paidRow.application.outcome, null)
    t.equal(paidRow.application.closedAt, null)
    t.equal(paidRow.payment.status, 'PAID')
    t.same(paidRow.events.map((e) => e.type), ['SUBMITTED', 'PAYMENT_RECEIVED'])
    t.equal((await stored(unpaidId)).application.stage, 'EXPIRED_UNPAID')

    const after = await app.inject({ method: 'GET', url: `/v1/applications/${paidId}`, headers: payer.citizen() })
    t.equal(after.json().status, 'IN_PROGRESS')
    t.equal(after.json().payment.status, 'PAID')
    const current = await app.inject({ method: 'GET', url: '/v1/me/applications/current', headers: payer.citizen() })
    t.equal(current.statusCode, 200)
    t.equal(current.json().id, paidId)
  })

  t.test('the background sweeper closes expired applications by itself', async (t) => {
    const holder = await newHolder()
    clock.set('2027-01-10T15:59:30Z')
    const res = await apply(holder.citizen())
    t.equal(res.statusCode, 201)
    const id: string = res.json().id
    clock.set('2027-01-10T16:00:01Z')
    t.equal((await stored(id)).application.status, 'IN_PROGRESS', 'open until something sweeps')

    const sweeper = startExpirySweeper(app, 50)
    let row = await stored(id)
    const started = performance.now()
    while (row.application.status !== 'CLOSED' && performance.now() - started < 3000) {
      await new Promise((resolve) => setTimeout(resolve, 25))
      row = await stored(id)
    }
    await sweeper.stop()
    t.equal(row.application.status, 'CLOSED', 'closed by the background sweeper')
    t.equal(row.application.stage, 'EXPIRED_UNPAID')
    t.same(row.application.closedAt, new Date('2027-01-10T16:00:00Z'))
    t.equal(row.payment.status, 'EXPIRED')
    t.equal(await expiryEvents(id), 1)
  })
})
