// Warranty replacements (质保期换卡): station staff submit a free replacement within a year of issue for non-human damage,
// the city bureau approves or rejects it.
import { and, count, eq } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { applications, auditEvents, payments, timelineEvents } from '../../src/db/schema.js'
import { buildTestApp, PROBLEM_JSON, type TestContext } from '../helper.js'
import { applyBody, createStation, registerHolder, submit } from '../fixtures.js'

function warrantyBody (holderId: string, causes: string[] = ['CHIP_UNREADABLE'], overrides: Record<string, unknown> = {}) {
  return { holderId, type: 'WARRANTY', oldCardConfirmed: true, photo: { source: 'CARD' }, damage: { causes, description: '芯片无法读取' }, ...overrides }
}

function helpers (ctx: TestContext, stationId: string) {
  const { app, database: { db } } = ctx
  return {
    counter: (payload: Record<string, unknown>, headers: Record<string, string> = {}) => app.inject({
      method: 'POST', url: '/v1/station/applications', headers: { ...ctx.auth({ role: 'station_staff', stationId }), ...headers }, payload
    }),
    decide: (id: string, payload: Record<string, unknown>, headers: Record<string, string> = ctx.auth({ role: 'bureau_staff' })) =>
      app.inject({ method: 'POST', url: `/v1/applications/${id}/warranty-decision`, headers, payload }),
    counts: async () => ({
      applications: Number((await db.select({ n: count() }).from(applications))[0]!.n),
      payments: Number((await db.select({ n: count() }).from(payments))[0]!.n),
      events: Number((await db.select({ n: count() }).from(timelineEvents))[0]!.n)
    }),
    eventTypes: async (id: string) => (await db.select().from(timelineEvents).where(eq(timelineEvents.applicationId, id))).map((e) => e.type).sort()
  }
}

t.test('an eligible warranty case is free and awaits the bureau', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, database: { db } } = ctx
  const stationId = await createStation(ctx)
  const { counter } = helpers(ctx, stationId)
  const holder = await registerHolder(ctx, 1, { issuedAt: '2026-06-30' })

  const res = await counter(warrantyBody(holder.id))
  t.equal(res.statusCode, 201, res.body)
  const body = res.json()
  t.match(body, {
    type: 'WARRANTY', channel: 'STATION', status: 'IN_PROGRESS', stage: 'AWAITING_APPROVAL', outcome: null,
    fee: { amountFen: 0, currency: 'CNY' }, pickupStation: { id: stationId }
  })
  t.notOk('payment' in body, 'no payment for a free replacement')
  t.notOk('paymentPrompt' in body, 'no prompt to pay')

  const [row] = await db.select().from(applications).where(eq(applications.id, body.id))
  t.match(row, { type: 'WARRANTY', stage: 'AWAITING_APPROVAL', feeFen: 0, expiresAt: null, createdByStationId: stationId, pickupStationId: stationId })
  t.same(row!.details, { damage: { causes: ['CHIP_UNREADABLE'], description: '芯片无法读取' } }, 'the damage assessment is kept')
  t.equal((await db.select().from(payments).where(eq(payments.applicationId, body.id))).length, 0, 'no payment row')

  const timeline = await app.inject({ method: 'GET', url: `/v1/applications/${body.id}/timeline`, headers: holder.headers })
  t.equal(timeline.statusCode, 200)
  const events = timeline.json().events
  t.equal(events.length, 1)
  t.match(events[0], { type: 'SUBMITTED', title: '申领信息入库', message: /等待广州市退役军人事务局审核/ })
  t.match(events[0].message, /免费/)
  t.notMatch(events[0].message, /缴款识别码/, 'no payment code in the message')
  const en = await app.inject({ method: 'GET', url: `/v1/applications/${body.id}/timeline`, headers: { ...holder.headers, 'accept-language': 'en' } })
  t.match(en.json().events[0].message, /awaits approval/)

  // The holder sees it as in progress and cannot apply in the app meanwhile.
  const again = await submit(ctx, holder, applyBody(stationId))
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'APPLICATION_IN_PROGRESS', applicationId: body.id })
})

t.test('eligibility: before the first anniversary of issue, non-human damage only', async (t) => {
  const ctx = await buildTestApp(t)
  const { database: { db } } = ctx
  const stationId = await createStation(ctx)
  const { counter, counts } = helpers(ctx, stationId)
  let seq = 10

  const refused = async (t: Test, issuedAt: string, causes: string[], reason: string) => {
    const holder = await registerHolder(ctx, seq++, { issuedAt })
    const before = await counts()
    const res = await counter(warrantyBody(holder.id, causes))
    t.equal(res.statusCode, 422, `${issuedAt} ${causes.join('+')}: ${res.body}`)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.match(res.json(), { code: 'WARRANTY_NOT_ELIGIBLE', reason })
    t.same(await counts(), before, 'nothing written')
    return res.json()
  }
  const accepted = async (t: Test, issuedAt: string) => {
    const holder = await registerHolder(ctx, seq++, { issuedAt })
    const res = await counter(warrantyBody(holder.id))
    t.equal(res.statusCode, 201, `${issuedAt}: ${res.body}`)
    t.equal(res.json().stage, 'AWAITING_APPROVAL')
  }

  t.test('366 days old', async (t) => {
    const problem = await refused(t, '2025-11-30', ['CHIP_UNREADABLE'], 'OUT_OF_WARRANTY')
    t.equal(problem.warrantyEndsOn, '2026-11-30')
  })
  t.test('exactly one year old (the anniversary is today)', async (t) => {
    const problem = await refused(t, '2025-12-01', ['CHIP_UNREADABLE'], 'OUT_OF_WARRANTY')
    t.equal(problem.warrantyEndsOn, '2026-12-01')
  })
  t.test('364 days old', async (t) => { await accepted(t, '2025-12-02') })
  t.test('issued today', async (t) => { await accepted(t, '2026-12-01') })

  t.test('human damage', async (t) => {
    const scratch = await refused(t, '2026-06-30', ['SCRATCH'], 'HUMAN_DAMAGE')
    t.same(scratch.humanCauses, ['SCRATCH'])
    const mixed = await refused(t, '2026-06-30', ['CHIP_UNREADABLE', 'FOLD', 'CHIP_CORRODED'], 'HUMAN_DAMAGE')
    t.same(mixed.humanCauses, ['FOLD', 'CHIP_CORRODED'], 'every human cause listed, the non-human one not')
  })

  t.test('the check uses the Shanghai date: 23:59 on the eve of the anniversary is still in warranty', async (t) => {
    const holder = await registerHolder(ctx, seq++, { issuedAt: '2025-12-02' })
    ctx.clock.set('2026-12-01T15:59:00Z') // 23:59 on 2026-12-01 in Shanghai
    const late = await counter(warrantyBody(holder.id))
    t.equal(late.statusCode, 201, late.body)
    const other = await registerHolder(ctx, seq++, { issuedAt: '2025-12-02' })
    ctx.clock.set('2026-12-01T16:00:00Z') // 00:00 on 2026-12-02 in Shanghai: the anniversary
    const midnight = await counter(warrantyBody(other.id))
    t.equal(midnight.statusCode, 422, midnight.body)
    t.equal(midnight.json().reason, 'OUT_OF_WARRANTY')
    ctx.clock.set('2026-12-01T02:00:00Z')
  })

  t.test('damage is required for WARRANTY, and only for it', async (t) => {
    const holder = await registerHolder(ctx, seq++, { issuedAt: '2026-06-30' })
    const before = await counts()
    const { damage: _damage, ...noDamage } = warrantyBody(holder.id)
    const missing = await counter(noDamage)
    t.equal(missing.statusCode, 400)
    t.ok(missing.json().errors.some((e: { pointer: string }) => e.pointer === '/damage'), 'points at /damage')
    for (const causes of [[], ['BURNT'], ['SCRATCH', 'SCRATCH']]) {
      const res = await counter(warrantyBody(holder.id, causes))
      t.equal(res.statusCode, 400, JSON.stringify(causes))
      t.ok(res.json().errors.some((e: { pointer: string }) => e.pointer.startsWith('/damage/causes')), 'points into /damage/causes')
    }
    const onDamaged = await counter({ ...warrantyBody(holder.id), type: 'DAMAGED' })
    t.equal(onDamaged.statusCode, 400)
    t.ok(onDamaged.json().errors.some((e: { pointer: string }) => e.pointer === '/damage'))
    t.same(await counts(), before, 'nothing written')
    t.equal((await db.select().from(applications).where(eq(applications.holderId, holder.id))).length, 0)
  })
})

t.test('the bureau decides', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, database: { db } } = ctx
  const stationId = await createStation(ctx)
  const { counter, decide, eventTypes } = helpers(ctx, stationId)
  let seq = 100
  const newCase = async () => {
    const holder = await registerHolder(ctx, seq++, { issuedAt: '2026-06-30' })
    const res = await counter(warrantyBody(holder.id))
    if (res.statusCode !== 201) throw new Error(res.body)
    return { holder, id: res.json().id as string }
  }

  t.test('approval moves it to production, once', async (t) => {
    const { holder, id } = await newCase()
    const res = await decide(id, { approve: true }, { ...ctx.auth({ role: 'bureau_staff', subject: 'bureau-li' }), 'x-request-id': 'req-approve-0001' })
    t.equal(res.statusCode, 200, res.body)
    t.match(res.json(), { id, status: 'IN_PROGRESS', stage: 'IN_PRODUCTION', outcome: null, fee: { amountFen: 0 } })
    t.ok(res.headers.etag)
    t.same(await eventTypes(id), ['IN_PRODUCTION', 'SUBMITTED', 'WARRANTY_APPROVED'].sort())
    const [row] = await db.select().from(applications).where(eq(applications.id, id))
    t.match(row, { status: 'IN_PROGRESS', stage: 'IN_PRODUCTION', outcome: null, closedAt: null })

    const audits = await db.select().from(auditEvents).where(and(eq(auditEvents.targetId, id), eq(auditEvents.action, 'WARRANTY_APPROVED')))
    t.equal(audits.length, 1)
    t.match(audits[0], {
      actorId: 'bureau-li', actorRole: 'bureau_staff', targetType: 'application', requestId: 'req-approve-0001',
      before: { stage: 'AWAITING_APPROVAL' }, after: { stage: 'IN_PRODUCTION' }
    })

    const timeline = (await app.inject({ method: 'GET', url: `/v1/applications/${id}/timeline`, headers: holder.headers })).json().events
    t.same(timeline.map((e: { type: string }) => e.type), ['SUBMITTED', 'WARRANTY_APPROVED', 'IN_PRODUCTION'])
    t.match(timeline[1], { title: '质保换卡审核通过' })

    const twice = await decide(id, { approve: true })
    t.equal(twice.statusCode, 409)
    t.match(twice.json(), { code: 'WARRANTY_DECISION_NOT_ALLOWED', stage: 'IN_PRODUCTION' })
    const rejectAfter = await decide(id, { approve: false, reason: '迟到的驳回' })
    t.equal(rejectAfter.statusCode, 409, 'no rejection after approval either')
    t.same(await eventTypes(id), ['IN_PRODUCTION', 'SUBMITTED', 'WARRANTY_APPROVED'].sort(), 'no event added by the refused decisions')
    t.equal((await db.select().from(auditEvents).where(eq(auditEvents.targetId, id))).filter((a) => a.action.startsWith('WARRANTY_')).length, 1)
  })

  t.test('admin may decide too', async (t) => {
    const { id } = await newCase()
    const res = await decide(id, { approve: true }, ctx.auth({ role: 'admin' }))
    t.equal(res.statusCode, 200)
    t.equal(res.json().stage, 'IN_PRODUCTION')
  })

  t.test('rejection closes it with the reason shown to the holder', async (t) => {
    const { holder, id } = await newCase()
    const reason = '经检测芯片系人为损坏'
    const res = await decide(id, { approve: false, reason })
    t.equal(res.statusCode, 200, res.body)
    t.match(res.json(), { id, status: 'CLOSED', stage: 'REJECTED', outcome: 'REJECTED', closedAt: ctx.clock.now().toISOString() })
    const [row] = await db.select().from(applications).where(eq(applications.id, id))
    t.match(row, { status: 'CLOSED', stage: 'REJECTED', outcome: 'REJECTED' })
    t.same(await eventTypes(id), ['SUBMITTED', 'WARRANTY_REJECTED'])

    const zh = (await app.inject({ method: 'GET', url: `/v1/applications/${id}/timeline`, headers: holder.headers })).json().events
    t.match(zh.at(-1), { type: 'WARRANTY_REJECTED', title: '质保换卡审核未通过' })
    t.ok(zh.at(-1).message.includes(reason), 'the zh message carries the reason')
    const en = (await app.inject({ method: 'GET', url: `/v1/applications/${id}/timeline`, headers: { ...holder.headers, 'accept-language': 'en' } })).json().events
    t.ok(en.at(-1).message.includes(reason), 'the en message carries the reason')
    t.match(en.at(-1).message, /not approved/)

    const audits = await db.select().from(auditEvents).where(and(eq(auditEvents.targetId, id), eq(auditEvents.action, 'WARRANTY_REJECTED')))
    t.equal(audits.length, 1)
    t.match(audits[0], { after: { stage: 'REJECTED', reason } })

    t.equal((await decide(id, { approve: false, reason })).statusCode, 409, 'rejecting twice')
    // Closed: the holder may apply again.
    const next = await counter(warrantyBody(holder.id, ['PRINT_DEFECT']))
    t.equal(next.statusCode, 201, next.body)
  })

  t.test('a rejection needs a reason', async (t) => {
    const { id } = await newCase()
    for (const payload of [{ approve: false }, { approve: false, reason: '' }]) {
      const res = await decide(id, payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.ok(res.json().errors.some((e: { pointer: string }) => e.pointer === '/reason'), 'points at /reason')
    }
    const [row] = await db.select().from(applications).where(eq(applications.id, id))
    t.equal(row!.stage, 'AWAITING_APPROVAL', 'still undecided')
    for (const payload of [{}, { approve: 'true' }, { approve: true, extra: 1 }]) {
      t.equal((await decide(id, payload)).statusCode, 400, JSON.stringify(payload))
    }
  })

  t.test('only warranty cases awaiting approval can be decided', async (t) => {
    const holder = await registerHolder(ctx, seq++, { issuedAt: '2026-06-30' })
    const lost = await counter({ holderId: holder.id, type: 'LOST', oldCardConfirmed: true, photo: { source: 'CARD' } })
    t.equal(lost.statusCode, 201)
    const res = await decide(lost.json().id, { approve: true })
    t.equal(res.statusCode, 409)
    t.match(res.json(), { code: 'WARRANTY_DECISION_NOT_ALLOWED', stage: 'AWAITING_PAYMENT' })
    const [row] = await db.select().from(applications).where(eq(applications.id, lost.json().id))
    t.equal(row!.stage, 'AWAITING_PAYMENT')
  })

  t.test('who may decide', async (t) => {
    const { holder, id } = await newCase()
    for (const headers of [holder.headers, ctx.auth({ role: 'station_staff', stationId })]) {
      const res = await decide(id, { approve: true }, headers)
      t.equal(res.statusCode, 403)
      t.match(res.headers['content-type'], PROBLEM_JSON)
    }
    t.equal((await decide(id, { approve: true }, {})).statusCode, 401)
    const unknown = await decide('00000000-0000-4000-8000-000000000000', { approve: true })
    t.equal(unknown.statusCode, 404)
    t.equal(unknown.json().code, 'APPLICATION_NOT_FOUND')
    const bad = await decide('not-a-uuid', { approve: true })
    t.equal(bad.statusCode, 400)
    t.match(bad.json(), { code: 'VALIDATION_FAILED', errors: [{ in: 'path' }] })
    const [row] = await db.select().from(applications).where(eq(applications.id, id))
    t.equal(row!.stage, 'AWAITING_APPROVAL', 'none of them changed it')
    t.equal((await db.select().from(auditEvents).where(eq(auditEvents.targetId, id))).filter((a) => a.action.startsWith('WARRANTY_')).length, 0)
  })
})
