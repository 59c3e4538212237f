// The citizen's whole journey (attachment 1), and every refusal on the way.
import { and, eq } from 'drizzle-orm'
import t from 'tap'
import { applications, cards, payments, timelineEvents } from '../../src/db/schema.js'
import { buildTestApp, PROBLEM_JSON, residentIdentity } from '../helper.js'
import { applyBody, createStation, jpegBytes, notify, paymentFor, registerHolder, submit } from '../fixtures.js'

t.test('apply, re-enter, pay by signed notification, follow the timeline', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, database: { db } } = ctx
  const stationId = await createStation(ctx)
  const holder = await registerHolder(ctx, 1, { name: '张三丰' })

  const me = await app.inject({ method: 'GET', url: '/v1/me', headers: holder.headers })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { id: holder.id, identity: { nameMasked: '张*丰' }, card: { status: 'ACTIVE', hasPhoto: true } })
  t.notOk(me.body.includes(holder.identity.idNumber))

  const created = await submit(ctx, holder, applyBody(stationId))
  t.equal(created.statusCode, 201)
  const application = created.json()
  t.match(application, {
    type: 'LOST', channel: 'SELF', status: 'IN_PROGRESS', stage: 'AWAITING_PAYMENT', outcome: null,
    pickupStation: { id: stationId }, fee: { amountFen: 2000, currency: 'CNY' },
    payment: { code: /^440100\d{14}$/, amountFen: 2000, status: 'PENDING', expiresAt: '2026-12-01T16:00:00.000Z', paidAt: null, platform: '广东省非税收缴平台' },
    paymentPrompt: `您提交的优抚卡补换申请尚未进行支付，请前往广东省非税收缴平台进行缴费，您的缴款识别码为：${application.payment.code}`
  })
  t.equal(created.headers.location, `/v1/applications/${application.id}`)
  t.ok(created.headers.etag)
  const code = application.payment.code as string

  // LOST reports the old card lost at submission.
  t.equal((await app.inject({ method: 'GET', url: '/v1/me', headers: holder.headers })).json().card.status, 'REPORTED_LOST')
  const [card] = await db.select().from(cards).where(eq(cards.holderId, holder.id))
  t.equal(card!.status, 'REPORTED_LOST')

  // Re-entering the page prompts for payment.
  const current = await app.inject({ method: 'GET', url: '/v1/me/applications/current', headers: holder.headers })
  t.equal(current.statusCode, 200)
  t.equal(current.json().id, application.id)
  t.match(current.json().paymentPrompt, code)
  const enCurrent = await app.inject({ method: 'GET', url: '/v1/me/applications/current', headers: { ...holder.headers, 'accept-language': 'en' } })
  t.match(enCurrent.json().paymentPrompt, /Guangdong non-tax payment platform/)

  const before = await app.inject({ method: 'GET', url: `/v1/applications/${application.id}`, headers: holder.headers })
  t.equal(before.statusCode, 200)
  t.equal(before.headers.etag, created.headers.etag)

  const timelineUnpaid = await app.inject({ method: 'GET', url: `/v1/applications/${application.id}/timeline`, headers: holder.headers })
  t.match(timelineUnpaid.json().events, [{ type: 'SUBMITTED', title: '申领信息入库', message: `您提交的优抚卡补换申请尚未进行支付，请前往广东省非税收缴平台进行缴费，您的缴款识别码为：${code}` }])

  ctx.clock.advance(60 * 60 * 1000)
  const paid = await notify(ctx, paymentFor(code, ctx.clock.now()))
  t.equal(paid.statusCode, 200)
  t.match(paid.json(), { outcome: 'RECORDED' })

  const after = await app.inject({ method: 'GET', url: `/v1/applications/${application.id}`, headers: holder.headers })
  t.match(after.json(), { status: 'IN_PROGRESS', stage: 'PAID', payment: { status: 'PAID', paidAt: ctx.clock.now().toISOString() } })
  t.notOk(after.json().paymentPrompt, 'no payment prompt once paid')
  t.not(after.headers.etag, before.headers.etag, 'the ETag changes with the application')

  const zh = (await app.inject({ method: 'GET', url: `/v1/applications/${application.id}/timeline`, headers: holder.headers })).json().events
  t.same(zh.map((e: { type: string }) => e.type), ['SUBMITTED', 'PAYMENT_RECEIVED'])
  t.equal(zh[1].title, '已缴费')
  t.match(zh[1].message, /20\.00元/)
  const en = (await app.inject({ method: 'GET', url: `/v1/applications/${application.id}/timeline`, headers: { ...holder.headers, 'accept-language': 'en-GB,en;q=0.9' } })).json().events
  t.same(en.map((e: { title: string }) => e.title), ['Application recorded', 'Fee paid'])

  const mine = await app.inject({ method: 'GET', url: '/v1/me/applications', headers: holder.headers })
  t.match(mine.json(), { items: [{ id: application.id, stage: 'PAID' }], nextCursor: null })
  const events = await db.select().from(timelineEvents).where(eq(timelineEvents.applicationId, application.id))
  t.equal(events.length, 2)
})

t.test('refusals on the way', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, database: { db } } = ctx
  const stationId = await createStation(ctx)
  const inactiveId = await createStation(ctx, { name: '停用站', active: false })
  const holder = await registerHolder(ctx, 2)
  const count = async () => (await db.select().from(applications)).length

  t.test('station-only types tell the person to go to a station', async (t) => {
    for (const type of ['INFO_CHANGE', 'WARRANTY']) {
      const res = await submit(ctx, holder, applyBody(stationId, { type }))
      t.equal(res.statusCode, 422)
      t.equal(res.json().code, 'STATION_ONLY_TYPE')
      t.match(res.json().detail, /退役军人服务站/)
    }
  })

  t.test('the old card must be confirmed', async (t) => {
    const res = await submit(ctx, holder, applyBody(stationId, { oldCardConfirmed: false }))
    t.equal(res.statusCode, 422)
    t.equal(res.json().code, 'OLD_CARD_NOT_CONFIRMED')
  })

  t.test('the pickup station must exist and be active', async (t) => {
    for (const id of [inactiveId, '00000000-0000-4000-8000-000000000000']) {
      const res = await submit(ctx, holder, applyBody(id))
      t.equal(res.statusCode, 422)
      t.equal(res.json().code, 'PICKUP_STATION_UNAVAILABLE')
    }
  })

  t.test('keeping the card photo needs one on file', async (t) => {
    const noPhoto = await registerHolder(ctx, 3, { photo: false })
    const res = await submit(ctx, noPhoto, applyBody(stationId))
    t.equal(res.statusCode, 422)
    t.equal(res.json().code, 'NO_CARD_PHOTO')
    const upload = await app.inject({ method: 'POST', url: '/v1/photos', headers: { ...noPhoto.headers, 'content-type': 'image/jpeg' }, payload: jpegBytes() })
    t.equal(upload.statusCode, 201)
    const withUpload = await submit(ctx, noPhoto, applyBody(stationId, { photo: { source: 'UPLOAD', photoId: upload.json().photoId } }))
    t.equal(withUpload.statusCode, 201)
  })

  t.test('someone not in the registry gets a clear problem', async (t) => {
    const stranger = ctx.auth({ role: 'citizen', identity: residentIdentity(999, '路人甲') })
    for (const url of ['/v1/me', '/v1/me/applications', '/v1/me/applications/current']) {
      const res = await app.inject({ method: 'GET', url, headers: stranger })
      t.equal(res.statusCode, 404, url)
      t.equal(res.json().code, 'HOLDER_NOT_REGISTERED')
    }
    const res = await app.inject({ method: 'POST', url: '/v1/applications', headers: stranger, payload: applyBody(stationId) })
    t.equal(res.statusCode, 404)
    t.equal(res.json().code, 'HOLDER_NOT_REGISTERED')
  })

  t.test('malformed bodies are 400 listing the fields, and write nothing', async (t) => {
    const before = await count()
    const cases: Array<[object, string[]]> = [
      [{ ...applyBody(stationId), type: 'STOLEN' }, ['/type']],
      [{ ...applyBody(stationId), oldCardConfirmed: 'true' }, ['/oldCardConfirmed']],
      [{ ...applyBody(stationId), pickupStationId: 'nope' }, ['/pickupStationId']],
      [{ ...applyBody(stationId), photo: { source: 'UPLOAD' } }, ['/photo/photoId']],
      [{ ...applyBody(stationId), holderId: holder.id }, ['/holderId']],
      [{ type: 'LOST' }, ['/pickupStationId', '/oldCardConfirmed', '/photo']]
    ]
    for (const [payload, pointers] of cases) {
      const res = await app.inject({ method: 'POST', url: '/v1/applications', headers: holder.headers, payload })
      t.equal(res.statusCode, 400)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      const listed = res.json().errors.map((e: { pointer: string }) => e.pointer)
      for (const p of pointers) t.ok(listed.includes(p), `${p} listed`)
    }
    t.equal(await count(), before)
  })

  t.test('wrong roles', async (t) => {
    for (const role of [{ role: 'bureau_staff' }, { role: 'admin' }, { role: 'station_staff', stationId }] as const) {
      const res = await app.inject({ method: 'POST', url: '/v1/applications', headers: ctx.auth(role), payload: applyBody(stationId) })
      t.equal(res.statusCode, 403, role.role)
      t.equal((await app.inject({ method: 'GET', url: '/v1/me', headers: ctx.auth(role) })).statusCode, 403)
    }
    t.equal((await app.inject({ method: 'POST', url: '/v1/applications', payload: applyBody(stationId) })).statusCode, 401)
  })

  t.test('one in progress: a second submission is 409 with the id of the first', async (t) => {
    const first = await submit(ctx, holder, applyBody(stationId, { type: 'DAMAGED' }))
    t.equal(first.statusCode, 201)
    const second = await submit(ctx, holder, applyBody(stationId))
    t.equal(second.statusCode, 409)
    t.match(second.json(), { code: 'APPLICATION_IN_PROGRESS', applicationId: first.json().id })
  })
})

t.test('another holder\'s application is not found; staff see it by station', async (t) => {
  const ctx = await buildTestApp(t)
  const { app } = ctx
  const stationA = await createStation(ctx)
  const stationB = await createStation(ctx, { name: '越秀站', districtCode: '440104' })
  const owner = await registerHolder(ctx, 10)
  const other = await registerHolder(ctx, 11)
  const id = (await submit(ctx, owner, applyBody(stationA))).json().id

  for (const url of [`/v1/applications/${id}`, `/v1/applications/${id}/timeline`]) {
    const res = await app.inject({ method: 'GET', url, headers: other.headers })
    t.equal(res.statusCode, 404, `${url} for another holder`)
    t.equal(res.json().code, 'APPLICATION_NOT_FOUND')
    t.equal((await app.inject({ method: 'GET', url, headers: ctx.auth({ role: 'station_staff', stationId: stationB }) })).statusCode, 404, `${url} for another station`)
    t.equal((await app.inject({ method: 'GET', url, headers: ctx.auth({ role: 'station_staff', stationId: stationA }) })).statusCode, 200, `${url} for the pickup station`)
    t.equal((await app.inject({ method: 'GET', url, headers: ctx.auth({ role: 'bureau_staff' }) })).statusCode, 200)
    t.equal((await app.inject({ method: 'GET', url, headers: ctx.auth({ role: 'admin' }) })).statusCode, 200)
  }
  t.equal((await app.inject({ method: 'GET', url: '/v1/applications/00000000-0000-4000-8000-000000000000', headers: owner.headers })).statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: '/v1/applications/nope', headers: owner.headers })).statusCode, 400)

  const cancel = await app.inject({ method: 'POST', url: `/v1/applications/${id}/cancel`, headers: other.headers })
  t.equal(cancel.statusCode, 404, 'another holder cannot cancel it')
  t.equal((await app.inject({ method: 'POST', url: `/v1/applications/${id}/cancel`, headers: ctx.auth({ role: 'bureau_staff' }) })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/v1/me/applications', headers: other.headers })).json().items.length, 0)
})

t.test('cancel while unpaid, not after', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, database: { db } } = ctx
  const stationId = await createStation(ctx)
  const holder = await registerHolder(ctx, 20)
  const first = (await submit(ctx, holder, applyBody(stationId))).json()

  const cancelled = await app.inject({ method: 'POST', url: `/v1/applications/${first.id}/cancel`, headers: holder.headers })
  t.equal(cancelled.statusCode, 200)
  t.match(cancelled.json(), { status: 'CLOSED', stage: 'CANCELLED', outcome: 'CANCELLED', payment: { status: 'EXPIRED' } })
  const [payment] = await db.select().from(payments).where(eq(payments.applicationId, first.id))
  t.equal(payment!.status, 'EXPIRED')
  t.equal((await db.select().from(timelineEvents).where(and(eq(timelineEvents.applicationId, first.id), eq(timelineEvents.type, 'CANCELLED')))).length, 1)
  const again = await app.inject({ method: 'POST', url: `/v1/applications/${first.id}/cancel`, headers: holder.headers })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'CANNOT_CANCEL', stage: 'CANCELLED' })

  const second = (await submit(ctx, holder, applyBody(stationId))).json()
  t.equal((await notify(ctx, paymentFor(second.payment.code, ctx.clock.now()))).json().outcome, 'RECORDED')
  const paidCancel = await app.inject({ method: 'POST', url: `/v1/applications/${second.id}/cancel`, headers: holder.headers })
  t.equal(paidCancel.statusCode, 409)
  t.match(paidCancel.json(), { code: 'CANNOT_CANCEL', stage: 'PAID' })
})

t.test('my applications are paginated newest first', async (t) => {
  const ctx = await buildTestApp(t)
  const stationId = await createStation(ctx)
  const holder = await registerHolder(ctx, 30)
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const created = (await submit(ctx, holder, applyBody(stationId))).json()
    ids.unshift(created.id)
    await ctx.app.inject({ method: 'POST', url: `/v1/applications/${created.id}/cancel`, headers: holder.headers })
    ctx.clock.advance(1000)
  }
  const seen: string[] = []
  let cursor: string | null = null
  do {
    const url: string = `/v1/me/applications?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`
    const page = (await ctx.app.inject({ method: 'GET', url, headers: holder.headers })).json()
    t.ok(page.items.length <= 2)
    seen.push(...page.items.map((i: { id: string }) => i.id))
    cursor = page.nextCursor
  } while (cursor !== null)
  t.same(seen, ids)
  const bad = await ctx.app.inject({ method: 'GET', url: '/v1/me/applications?cursor=bm9wZQ', headers: holder.headers })
  t.equal(bad.json().code, 'INVALID_CURSOR')
})
