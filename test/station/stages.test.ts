// Production stages and pickup: POST /v1/applications/{id}/stage, who may move what, If-Match, and what each move writes.
import { and, asc, eq } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { applications, auditEvents, cards, notificationOutbox, timelineEvents } from '../../src/db/schema.js'
import { buildTestApp, PROBLEM_JSON } from '../helper.js'
import { applyBody, createStation, notify, paymentFor, registerHolder, submit, type Holder } from '../fixtures.js'

type Headers = Record<string, string>
interface Created { id: string; code: string | null; holder: Holder }

async function setup (t: Test) {
  const ctx = await buildTestApp(t)
  const { app, database: { db } } = ctx
  const stationId = await createStation(ctx, { name: '天河区退役军人服务中心', address: '天河路1号' })
  // Tokens are minted at the clock's time and expire, so each request gets a fresh one.
  const roles = {
    get bureau () { return ctx.auth({ role: 'bureau_staff' }) },
    get bureau2 () { return ctx.auth({ role: 'bureau_staff', subject: 'bureau-2' }) },
    get admin () { return ctx.auth({ role: 'admin' }) },
    get staff () { return ctx.auth({ role: 'station_staff', stationId }) }
  }
  let seq = 100

  /** A citizen applies (AWAITING_PAYMENT). */
  const unpaid = async (type: 'LOST' | 'DAMAGED' = 'LOST', pickup = stationId): Promise<Created> => {
    const holder = await registerHolder(ctx, seq++)
    const res = await submit(ctx, holder, applyBody(pickup, { type }))
    if (res.statusCode !== 201) throw new Error(`apply: ${res.statusCode} ${res.body}`)
    return { id: res.json().id, code: res.json().payment.code, holder }
  }
  const pay = async (code: string) => {
    const res = await notify(ctx, paymentFor(code, ctx.clock.now()))
    if (res.statusCode !== 200 || res.json().outcome !== 'RECORDED') throw new Error(`pay: ${res.statusCode} ${res.body}`)
  }
  /** A citizen applies and pays (PAID). */
  const paid = async (type: 'LOST' | 'DAMAGED' = 'LOST', pickup = stationId): Promise<Created> => {
    const created = await unpaid(type, pickup)
    await pay(created.code!)
    return created
  }
  const read = (id: string, headers: Headers = roles.bureau) => app.inject({ method: 'GET', url: `/v1/applications/${id}`, headers })
  const etag = async (id: string): Promise<string> => {
    const res = await read(id)
    if (res.statusCode !== 200 || typeof res.headers.etag !== 'string') throw new Error(`etag: ${res.statusCode} ${res.body}`)
    return res.headers.etag
  }
  const move = (id: string, body: Record<string, unknown>, headers: Headers, ifMatch?: string) =>
    app.inject({ method: 'POST', url: `/v1/applications/${id}/stage`, headers: { ...headers, ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }) }, payload: body })
  /** Moves with a fresh ETag and insists on success. */
  const advance = async (id: string, to: string, headers: Headers = roles.bureau) => {
    const res = await move(id, { to }, headers, await etag(id))
    if (res.statusCode !== 200) throw new Error(`move to ${to}: ${res.statusCode} ${res.body}`)
    return res
  }
  /** Everything a move could change, to show that a refused one changed nothing. */
  const snapshot = async (id: string) => {
    const [row] = await db.select().from(applications).where(eq(applications.id, id))
    const events = (await db.select().from(timelineEvents).where(eq(timelineEvents.applicationId, id)).orderBy(asc(timelineEvents.id))).map((e) => e.type)
    const audit = (await db.select().from(auditEvents).where(and(eq(auditEvents.targetId, id), eq(auditEvents.action, 'STAGE_CHANGED')))).length
    const outbox = (await db.select().from(notificationOutbox).where(eq(notificationOutbox.applicationId, id))).length
    const holderCards = (await db.select().from(cards).where(eq(cards.holderId, row!.holderId)).orderBy(asc(cards.createdAt), asc(cards.cardNumber)))
      .map((c) => ({ id: c.id, status: c.status, deactivatedAt: c.deactivatedAt }))
    return { row, events, audit, outbox, holderCards }
  }
  const stageAudits = (id: string) => db.select().from(auditEvents)
    .where(and(eq(auditEvents.targetId, id), eq(auditEvents.targetType, 'application'), eq(auditEvents.action, 'STAGE_CHANGED'))).orderBy(asc(auditEvents.id))
  return Object.assign(roles, { ctx, app, db, stationId, unpaid, pay, paid, read, etag, move, advance, snapshot, stageAudits })
}

t.test('every allowed move by every allowed role: new stage, new ETag, the timeline event and the audit row', async (t) => {
  const s = await setup(t)
  const { db } = s

  const cases: Array<{ label: string; mover: Headers; moverRole: string }> = [
    { label: 'bureau', mover: s.bureau, moverRole: 'bureau_staff' },
    { label: 'admin', mover: s.admin, moverRole: 'admin' }
  ]
  for (const { label, mover, moverRole } of cases) {
    const { id } = await s.paid()
    let previous = await s.etag(id)
    for (const [from, to, headers, role] of [
      ['PAID', 'IN_PRODUCTION', mover, moverRole],
      ['IN_PRODUCTION', 'READY_FOR_PICKUP', mover, moverRole],
      ['READY_FOR_PICKUP', 'COLLECTED', s.staff, 'station_staff']
    ] as const) {
      s.ctx.clock.advance(60_000)
      const res = await s.move(id, { to, note: `${label}: ${to}` }, headers, previous)
      t.equal(res.statusCode, 200, `${label}: ${from} → ${to}`)
      t.equal(res.json().stage, to)
      t.equal(res.json().id, id)
      t.equal(res.json().updatedAt, s.ctx.clock.now().toISOString(), 'updatedAt is the time of the move')
      t.type(res.headers.etag, 'string')
      t.not(res.headers.etag, previous, 'a new ETag')
      t.equal(res.headers.etag, await s.etag(id), 'the ETag answered is the one a read gives')
      previous = res.headers.etag as string

      const events = await db.select().from(timelineEvents).where(and(eq(timelineEvents.applicationId, id), eq(timelineEvents.type, to)))
      t.equal(events.length, 1, `one ${to} event`)
      t.equal(events[0]!.occurredAt.toISOString(), s.ctx.clock.now().toISOString())
      t.same(events[0]!.data, { note: `${label}: ${to}` }, 'the note goes with the event')

      const audits = await s.stageAudits(id)
      const last = audits.at(-1)!
      t.match(last, { actorRole: role, before: { stage: from }, after: { stage: to, note: `${label}: ${to}` } }, 'audited with before and after')
      t.equal(last.occurredAt.toISOString(), s.ctx.clock.now().toISOString())
      t.equal(last.actorStationId, role === 'station_staff' ? s.stationId : null)
      t.type(last.requestId, 'string')
    }
    t.same((await s.stageAudits(id)).map((a) => [(a.before as { stage: string }).stage, (a.after as { stage: string }).stage]),
      [['PAID', 'IN_PRODUCTION'], ['IN_PRODUCTION', 'READY_FOR_PICKUP'], ['READY_FOR_PICKUP', 'COLLECTED']], 'one audit row per move')
    const timeline = (await s.app.inject({ method: 'GET', url: `/v1/applications/${id}/timeline`, headers: s.bureau })).json().events
    t.same(timeline.map((e: { type: string }) => e.type), ['SUBMITTED', 'PAYMENT_RECEIVED', 'IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED'])
    t.match(timeline[3], { title: '待领卡', message: /天河区退役军人服务中心.*天河路1号/ })
  }
})

t.test('collecting closes the application and makes the new card current', async (t) => {
  const s = await setup(t)
  const { db } = s

  t.test('a lost card: old card deactivated, new one issued today (Asia/Shanghai)', async (t) => {
    const { id, holder } = await s.paid('LOST')
    const [oldCard] = await db.select().from(cards).where(eq(cards.holderId, holder.id))
    t.equal(oldCard!.status, 'REPORTED_LOST', 'reported lost at submission')
    await s.advance(id, 'IN_PRODUCTION')
    await s.advance(id, 'READY_FOR_PICKUP')
    t.equal((await db.select().from(cards).where(eq(cards.holderId, holder.id))).length, 1, 'no new card before collection')

    const res = await s.move(id, { to: 'COLLECTED' }, s.staff, await s.etag(id))
    t.equal(res.statusCode, 200)
    t.match(res.json(), { status: 'CLOSED', stage: 'COLLECTED', outcome: 'COMPLETED', closedAt: s.ctx.clock.now().toISOString() })
    const [row] = await db.select().from(applications).where(eq(applications.id, id))
    t.match(row, { status: 'CLOSED', stage: 'COLLECTED', outcome: 'COMPLETED' })

    const all = await db.select().from(cards).where(eq(cards.holderId, holder.id))
    t.equal(all.length, 2)
    const old = all.find((c) => c.id === oldCard!.id)!
    const fresh = all.find((c) => c.id !== oldCard!.id)!
    t.equal(old.status, 'DEACTIVATED')
    t.equal(old.deactivatedAt?.toISOString(), s.ctx.clock.now().toISOString(), 'deactivated_at set')
    t.equal(fresh.status, 'ACTIVE')
    t.equal(fresh.issuedAt, '2026-12-01')
    t.equal(fresh.deactivatedAt, null)
    t.not(fresh.cardNumber, old.cardNumber, 'a new card number')
    t.equal(fresh.photoId, row!.photoId, 'the application\'s photo is on the new card')

    const view = await s.app.inject({ method: 'GET', url: `/v1/holders/${holder.id}`, headers: s.bureau })
    t.equal(view.statusCode, 200)
    t.match(view.json().card, { issuedAt: '2026-12-01', status: 'ACTIVE', warrantyEndsOn: '2027-12-01', hasPhoto: true })
    const me = await s.app.inject({ method: 'GET', url: '/v1/me', headers: holder.headers })
    t.match(me.json().card, { issuedAt: '2026-12-01', status: 'ACTIVE' })

    // The holder may apply again: nothing is in progress.
    const again = await submit(s.ctx, holder, { type: 'DAMAGED', pickupStationId: s.stationId, oldCardConfirmed: true, photo: { source: 'CARD' } })
    t.equal(again.statusCode, 201, 'the completed application no longer blocks a new one')
  })

  t.test('a damaged card collected after 00:00 Shanghai time (still 1 December in UTC) is issued on 2 December', async (t) => {
    const { id, holder } = await s.paid('DAMAGED')
    const [oldCard] = await db.select().from(cards).where(eq(cards.holderId, holder.id))
    t.equal(oldCard!.status, 'ACTIVE', 'a damaged card stays active until handed in')
    await s.advance(id, 'IN_PRODUCTION')
    await s.advance(id, 'READY_FOR_PICKUP')
    s.ctx.clock.set('2026-12-01T16:30:00Z')
    await s.advance(id, 'COLLECTED', s.staff)
    const view = (await s.app.inject({ method: 'GET', url: `/v1/holders/${holder.id}`, headers: s.bureau })).json()
    t.match(view.card, { issuedAt: '2026-12-02', status: 'ACTIVE', warrantyEndsOn: '2027-12-02' })
    const [old] = await db.select().from(cards).where(eq(cards.id, oldCard!.id))
    t.equal(old!.status, 'DEACTIVATED')
    t.equal(old!.deactivatedAt?.toISOString(), '2026-12-01T16:30:00.000Z')
  })
})

t.test('ready for pickup queues exactly one SMS naming the station, to an encrypted recipient', async (t) => {
  const s = await setup(t)
  const { db } = s
  const { id } = await s.paid()
  await s.advance(id, 'IN_PRODUCTION')
  t.equal((await db.select().from(notificationOutbox)).length, 0, 'nothing queued while in production')
  await s.advance(id, 'READY_FOR_PICKUP')

  const rows = await db.select().from(notificationOutbox)
  t.equal(rows.length, 1)
  const row = rows[0]!
  const phone = '13800000100' // registerHolder's phone for the first holder of setup() (seq 100)
  t.match(row, { applicationId: id, kind: 'READY_FOR_PICKUP', status: 'PENDING', attempts: 0, sentAt: null, gaveUpAt: null, lastError: null })
  t.match(row.message, '天河区退役军人服务中心', 'names the station')
  t.match(row.message, '天河路1号', 'names its address')
  t.notOk(row.message.includes(phone), 'the message does not carry the phone')
  t.notOk(row.recipientEnc.includes(phone), 'the recipient is not stored in plain text')
  t.not(row.recipientEnc, phone)
  t.equal(s.app.pii.decrypt(row.recipientEnc), phone, 'it is the holder\'s phone, encrypted')
  t.equal(row.nextAttemptAt.toISOString(), s.ctx.clock.now().toISOString(), 'due at once')

  // Collecting queues nothing more.
  await s.advance(id, 'COLLECTED', s.staff)
  t.equal((await db.select().from(notificationOutbox)).length, 1)
})

t.test('forbidden moves are 409 naming the current stage, and change nothing', async (t) => {
  const s = await setup(t)
  const { ctx } = s
  const staffOther = ctx.auth({ role: 'station_staff', stationId: s.stationId, subject: 'staff-2' })

  const awaiting = await s.unpaid()
  const paid = await s.paid()
  const inProduction = await s.paid()
  await s.advance(inProduction.id, 'IN_PRODUCTION')
  const ready = await s.paid()
  await s.advance(ready.id, 'IN_PRODUCTION')
  await s.advance(ready.id, 'READY_FOR_PICKUP')
  const collected = await s.paid()
  await s.advance(collected.id, 'IN_PRODUCTION')
  await s.advance(collected.id, 'READY_FOR_PICKUP')
  await s.advance(collected.id, 'COLLECTED', s.staff)
  const cancelled = await s.unpaid()
  t.equal((await ctx.app.inject({ method: 'POST', url: `/v1/applications/${cancelled.id}/cancel`, headers: cancelled.holder.headers })).statusCode, 200)

  // A warranty case awaiting the bureau's approval is moved by the decision, never by the stage route.
  const warrantyHolder = await registerHolder(ctx, 900, { issuedAt: '2026-06-01' })
  const warranty = await ctx.app.inject({
    method: 'POST', url: '/v1/station/applications', headers: s.staff,
    payload: { holderId: warrantyHolder.id, type: 'WARRANTY', oldCardConfirmed: true, photo: { source: 'CARD' }, damage: { causes: ['CHIP_UNREADABLE'] } }
  })
  t.equal(warranty.statusCode, 201, warranty.body)
  t.equal(warranty.json().stage, 'AWAITING_APPROVAL')

  const cases: Array<[string, string, string, Headers]> = [
    [awaiting.id, 'AWAITING_PAYMENT', 'IN_PRODUCTION', s.bureau],
    [awaiting.id, 'AWAITING_PAYMENT', 'COLLECTED', s.staff],
    [paid.id, 'PAID', 'READY_FOR_PICKUP', s.bureau],
    [paid.id, 'PAID', 'READY_FOR_PICKUP', s.admin],
    [paid.id, 'PAID', 'COLLECTED', s.staff],
    [inProduction.id, 'IN_PRODUCTION', 'IN_PRODUCTION', s.bureau],
    [inProduction.id, 'IN_PRODUCTION', 'COLLECTED', s.staff],
    [ready.id, 'READY_FOR_PICKUP', 'IN_PRODUCTION', s.bureau],
    [ready.id, 'READY_FOR_PICKUP', 'READY_FOR_PICKUP', s.admin],
    [collected.id, 'COLLECTED', 'IN_PRODUCTION', s.bureau],
    [collected.id, 'COLLECTED', 'READY_FOR_PICKUP', s.admin],
    [collected.id, 'COLLECTED', 'COLLECTED', staffOther],
    [cancelled.id, 'CANCELLED', 'IN_PRODUCTION', s.bureau],
    [cancelled.id, 'CANCELLED', 'COLLECTED', s.staff],
    [warranty.json().id, 'AWAITING_APPROVAL', 'IN_PRODUCTION', s.bureau]
  ]
  const check = async (id: string, stage: string, to: string, headers: Headers) => {
    const before = await s.snapshot(id)
    const res = await s.move(id, { to }, headers, await s.etag(id))
    t.equal(res.statusCode, 409, `${stage} → ${to}`)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.match(res.json(), { code: 'STAGE_MOVE_NOT_ALLOWED', stage, to })
    t.same(await s.snapshot(id), before, `${stage} → ${to}: nothing changed`)
  }
  for (const [id, stage, to, headers] of cases) await check(id, stage, to, headers)

  // Past the deadline, unpaid and not yet swept: it reads as expired and cannot move either.
  const lastDay = await s.unpaid()
  ctx.clock.set('2026-12-01T16:00:01Z')
  t.equal((await s.read(lastDay.id)).json().stage, 'EXPIRED_UNPAID')
  const [stored] = await s.db.select().from(applications).where(eq(applications.id, lastDay.id))
  t.equal(stored!.stage, 'AWAITING_PAYMENT', 'no sweep has run')
  await check(lastDay.id, 'EXPIRED_UNPAID', 'IN_PRODUCTION', s.bureau)
  await check(lastDay.id, 'EXPIRED_UNPAID', 'COLLECTED', s.staff)
})

t.test('the wrong role for an allowed move is 403, and changes nothing', async (t) => {
  const s = await setup(t)
  const { ctx, app } = s
  const pickupId = await createStation(ctx, { name: '越秀区退役军人服务站', districtCode: '440104', address: '越秀路2号' })
  const pickupStaff = ctx.auth({ role: 'station_staff', stationId: pickupId })

  const refused = async (id: string, to: string, headers: Headers, status: number, label: string) => {
    const before = await s.snapshot(id)
    const res = await s.move(id, { to }, headers, await s.etag(id))
    t.equal(res.statusCode, status, label)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.same(await s.snapshot(id), before, `${label}: nothing changed`)
    return res
  }

  const paid = await s.paid()
  t.equal((await refused(paid.id, 'IN_PRODUCTION', s.staff, 403, 'the pickup station\'s staff cannot start production')).json().code, 'FORBIDDEN_ROLE')
  await refused(paid.id, 'IN_PRODUCTION', paid.holder.headers, 403, 'the holder cannot start production')

  const ready = await s.paid()
  await s.advance(ready.id, 'IN_PRODUCTION')
  await s.advance(ready.id, 'READY_FOR_PICKUP')
  await refused(ready.id, 'COLLECTED', s.bureau, 403, 'the bureau does not record pickup')
  await refused(ready.id, 'COLLECTED', s.admin, 403, 'nor does an admin')
  await refused(ready.id, 'COLLECTED', ready.holder.headers, 403, 'nor the holder')
  const inProduction = await s.paid()
  await s.advance(inProduction.id, 'IN_PRODUCTION')
  await refused(inProduction.id, 'READY_FOR_PICKUP', s.staff, 403, 'station staff cannot mark it ready')

  // Created at this counter, picked up at another station: the creating station sees it but cannot hand it over.
  const holder = await registerHolder(ctx, 500)
  const counter = await app.inject({
    method: 'POST', url: '/v1/station/applications', headers: s.staff,
    payload: { holderId: holder.id, type: 'LOST', pickupStationId: pickupId, oldCardConfirmed: true, photo: { source: 'CARD' } }
  })
  t.equal(counter.statusCode, 201, counter.body)
  const id = counter.json().id as string
  t.equal(counter.json().pickupStation.id, pickupId)
  await s.pay(counter.json().payment.code)
  await s.advance(id, 'IN_PRODUCTION')
  await s.advance(id, 'READY_FOR_PICKUP')
  t.equal((await s.read(id, s.staff)).statusCode, 200, 'the creating station sees it')
  t.equal((await refused(id, 'COLLECTED', s.staff, 403, 'the creating station is not the pickup station')).json().code, 'FORBIDDEN_ROLE')
  const handed = await s.move(id, { to: 'COLLECTED' }, pickupStaff, await s.etag(id))
  t.equal(handed.statusCode, 200, 'the pickup station records it')
  const [audit] = (await s.stageAudits(id)).filter((a) => (a.after as { stage: string }).stage === 'COLLECTED')
  t.equal(audit!.actorStationId, pickupId)

  const noToken = await app.inject({ method: 'POST', url: `/v1/applications/${paid.id}/stage`, headers: { 'if-match': await s.etag(paid.id) }, payload: { to: 'IN_PRODUCTION' } })
  t.equal(noToken.statusCode, 401)
})

t.test('another station\'s application is not found for its staff', async (t) => {
  const s = await setup(t)
  const { ctx } = s
  const otherId = await createStation(ctx, { name: '海珠区退役军人服务站', districtCode: '440105', address: '海珠路3号' })
  const other = ctx.auth({ role: 'station_staff', stationId: otherId })

  const ready = await s.paid()
  await s.advance(ready.id, 'IN_PRODUCTION')
  await s.advance(ready.id, 'READY_FOR_PICKUP')
  const before = await s.snapshot(ready.id)
  const current = await s.etag(ready.id)

  const res = await s.move(ready.id, { to: 'COLLECTED' }, other, current)
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'APPLICATION_NOT_FOUND')
  const stale = await s.move(ready.id, { to: 'COLLECTED' }, other, '"stale"')
  t.equal(stale.statusCode, 404, 'not 412: a stale ETag must not reveal the application exists')
  t.equal(stale.headers.etag, undefined, 'and no ETag leaks')
  t.equal((await s.move(ready.id, { to: 'IN_PRODUCTION' }, other, current)).statusCode, 404, 'a not-allowed move is 404 too, not 409')
  t.equal((await s.read(ready.id, other)).statusCode, 404, 'GET is 404 as well')
  t.same(await s.snapshot(ready.id), before)

  const unknown = await s.move('00000000-0000-4000-8000-000000000000', { to: 'IN_PRODUCTION' }, s.bureau, '"x"')
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'APPLICATION_NOT_FOUND')
})

t.test('If-Match: required, and a stale one is refused with the current ETag', async (t) => {
  const s = await setup(t)
  const { ctx } = s

  const { id, code } = await s.unpaid()
  const readBeforePayment = await s.etag(id)
  await s.pay(code!)

  const missing = await s.move(id, { to: 'IN_PRODUCTION' }, s.bureau)
  t.equal(missing.statusCode, 428)
  t.match(missing.headers['content-type'], PROBLEM_JSON)
  t.equal(missing.json().code, 'IF_MATCH_REQUIRED')

  const before = await s.snapshot(id)
  const afterPayment = await s.etag(id)
  t.not(afterPayment, readBeforePayment, 'the payment changed the ETag')
  const stale = await s.move(id, { to: 'IN_PRODUCTION' }, s.bureau, readBeforePayment)
  t.equal(stale.statusCode, 412)
  t.equal(stale.json().code, 'ETAG_MISMATCH')
  t.equal(stale.headers.etag, afterPayment, 'the current ETag comes with the refusal')
  for (const garbage of ['"nope"', afterPayment.slice(1, -1), `W/${afterPayment}`]) {
    const res = await s.move(id, { to: 'IN_PRODUCTION' }, s.bureau, garbage)
    t.equal(res.statusCode, 412, `If-Match ${garbage}`)
  }
  t.same(await s.snapshot(id), before, 'nothing changed')

  // A move changes the ETag: one read before it is stale afterwards.
  const first = await s.move(id, { to: 'IN_PRODUCTION' }, s.bureau, afterPayment)
  t.equal(first.statusCode, 200)
  ctx.clock.advance(1000)
  const replay = await s.move(id, { to: 'READY_FOR_PICKUP' }, s.admin, afterPayment)
  t.equal(replay.statusCode, 412)
  t.equal(replay.headers.etag, first.headers.etag)
  const [row] = await s.db.select().from(applications).where(eq(applications.id, id))
  t.equal(row!.stage, 'IN_PRODUCTION')
  t.equal((await s.stageAudits(id)).length, 1)

  // The ETag is checked before the stage: a stale ETag on a not-allowed move is still 412.
  t.equal((await s.move(id, { to: 'COLLECTED' }, s.staff, afterPayment)).statusCode, 412)
  // And the If-Match requirement comes before anything else.
  t.equal((await s.move(id, { to: 'COLLECTED' }, s.staff)).statusCode, 428)
})

t.test('two staff moving the same application at once: one wins, one is refused', async (t) => {
  const s = await setup(t)
  const { db } = s
  for (let round = 0; round < 3; round++) {
    const { id } = await s.paid()
    const current = await s.etag(id)
    const results = await Promise.all([
      s.move(id, { to: 'IN_PRODUCTION', note: 'first' }, s.bureau, current),
      s.move(id, { to: 'IN_PRODUCTION', note: 'second' }, s.bureau2, current)
    ])
    const statuses = results.map((r) => r.statusCode).sort()
    t.equal(statuses[0], 200, `round ${round}: one 200`)
    t.ok([409, 412].includes(statuses[1]!), `round ${round}: the other 409 or 412 (got ${statuses[1]})`)
    const events = await db.select().from(timelineEvents).where(and(eq(timelineEvents.applicationId, id), eq(timelineEvents.type, 'IN_PRODUCTION')))
    t.equal(events.length, 1, 'one IN_PRODUCTION event')
    t.equal((await s.stageAudits(id)).length, 1, 'one STAGE_CHANGED audit row')
    const [row] = await db.select().from(applications).where(eq(applications.id, id))
    t.equal(row!.stage, 'IN_PRODUCTION')
    t.equal(row!.version, 3, 'created, paid, moved once')
  }

  // Two concurrent READY_FOR_PICKUP moves queue one SMS.
  const { id } = await s.paid()
  await s.advance(id, 'IN_PRODUCTION')
  const current = await s.etag(id)
  const results = await Promise.all([s.move(id, { to: 'READY_FOR_PICKUP' }, s.bureau, current), s.move(id, { to: 'READY_FOR_PICKUP' }, s.admin, current)])
  t.same(results.map((r) => r.statusCode).sort(), [200, 412])
  t.equal((await db.select().from(notificationOutbox).where(eq(notificationOutbox.applicationId, id))).length, 1)
})

t.test('malformed requests are 400 and change nothing', async (t) => {
  const s = await setup(t)
  const { id } = await s.paid()
  const before = await s.snapshot(id)
  const current = await s.etag(id)
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ to: 'SHIPPED' }, '/to'],
    [{ to: 'PAID' }, '/to'],
    [{ to: 'CANCELLED' }, '/to'],
    [{ to: 'in_production' }, '/to'],
    [{}, '/to'],
    [{ to: 'IN_PRODUCTION', force: true }, '/force'],
    [{ to: 'IN_PRODUCTION', note: 'x'.repeat(501) }, '/note'],
    [{ to: 'IN_PRODUCTION', note: 42 }, '/note']
  ]
  for (const [payload, pointer] of cases) {
    const res = await s.move(id, payload, s.bureau, current)
    t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 60))
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.ok(res.json().errors.some((e: { pointer: string }) => e.pointer === pointer), `${pointer} listed`)
  }
  const badId = await s.app.inject({ method: 'POST', url: '/v1/applications/not-a-uuid/stage', headers: { ...s.bureau, 'if-match': current }, payload: { to: 'IN_PRODUCTION' } })
  t.equal(badId.statusCode, 400)
  t.match(badId.headers['content-type'], PROBLEM_JSON)
  const text = await s.app.inject({ method: 'POST', url: `/v1/applications/${id}/stage`, headers: { ...s.bureau, 'if-match': current, 'content-type': 'text/plain' }, payload: 'IN_PRODUCTION' })
  t.equal(text.statusCode, 415)
  t.same(await s.snapshot(id), before)
  t.equal((await s.move(id, { to: 'IN_PRODUCTION' }, s.bureau, current)).statusCode, 200, 'the same ETag still works after the refusals')
})
