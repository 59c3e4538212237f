// The station counter (网点代办): staff apply for any type on a holder's behalf, change personal information with every
// field's before and after kept masked, and list their own station's cases.
import { and, count, eq } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { applications, auditEvents, cards, holders, payments, timelineEvents } from '../../src/db/schema.js'
import { createPiiCipher } from '../../src/shared/pii.js'
import { buildTestApp, PROBLEM_JSON, residentIdentity, type TestContext } from '../helper.js'
import { applyBody, createStation, notify, paymentFor, registerHolder, submit } from '../fixtures.js'

interface FieldErr { pointer: string; in: string; message: string }

function counterBody (holderId: string, overrides: Record<string, unknown> = {}) {
  return { holderId, type: 'LOST', oldCardConfirmed: true, photo: { source: 'CARD' }, ...overrides }
}

const EVIDENCE = { documentType: 'HOUSEHOLD_REGISTER', documentNumber: 'HR-2026-0091234', note: '户口簿原件已核验' }

function tools (ctx: TestContext) {
  const { app, database: { db } } = ctx
  const countOf = async (table: typeof applications | typeof payments | typeof timelineEvents | typeof auditEvents) =>
    Number((await db.select({ n: count() }).from(table))[0]!.n)
  return {
    /** Station staff headers, minted at the clock's current time. */
    staff: (stationId: string) => ctx.auth({ role: 'station_staff', stationId }),
    counter: (stationId: string, payload: unknown, headers: Record<string, string> = {}) => app.inject({
      method: 'POST', url: '/v1/station/applications', headers: { ...ctx.auth({ role: 'station_staff', stationId }), ...headers }, payload: payload as Record<string, unknown>
    }),
    list: (stationId: string, query = '') => app.inject({
      method: 'GET', url: `/v1/station/applications${query}`, headers: ctx.auth({ role: 'station_staff', stationId })
    }),
    counts: async () => ({
      applications: await countOf(applications), payments: await countOf(payments), events: await countOf(timelineEvents), audits: await countOf(auditEvents)
    }),
    holderRow: async (id: string) => (await db.select().from(holders).where(eq(holders.id, id)))[0]!,
    auditsOf: (requestId: string) => db.select().from(auditEvents).where(eq(auditEvents.requestId, requestId))
  }
}

t.test('every type at the counter', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, database: { db } } = ctx
  const { counter } = tools(ctx)
  const stationA = await createStation(ctx)
  const stationB = await createStation(ctx, { name: '越秀区退役军人服务站', districtCode: '440104' })
  let seq = 1

  t.test('LOST: paid, same deadline as self-service, pickup at the staff member\'s own station by default', async (t) => {
    const holder = await registerHolder(ctx, seq++)
    const res = await counter(stationA, counterBody(holder.id), { 'x-request-id': 'req-counter-lost-1' })
    t.equal(res.statusCode, 201, res.body)
    const body = res.json()
    t.match(body, {
      type: 'LOST', channel: 'STATION', status: 'IN_PROGRESS', stage: 'AWAITING_PAYMENT', outcome: null,
      pickupStation: { id: stationA }, fee: { amountFen: 2000, currency: 'CNY' },
      payment: { code: /^440100\d{14}$/, amountFen: 2000, status: 'PENDING', expiresAt: '2026-12-01T16:00:00.000Z', paidAt: null },
      paymentPrompt: /广东省非税收缴平台/
    })
    t.equal(res.headers.location, `/v1/applications/${body.id}`)
    t.ok(res.headers.etag)
    const [row] = await db.select().from(applications).where(eq(applications.id, body.id))
    t.match(row, { holderId: holder.id, channel: 'STATION', pickupStationId: stationA, createdByStationId: stationA, feeFen: 2000 })
    t.equal(row!.expiresAt!.toISOString(), '2026-12-01T16:00:00.000Z')
    const [payment] = await db.select().from(payments).where(eq(payments.applicationId, body.id))
    t.match(payment, { code: body.payment.code, amountFen: 2000, status: 'PENDING' })
    const [card] = await db.select().from(cards).where(eq(cards.holderId, holder.id))
    t.equal(card!.status, 'REPORTED_LOST', 'the old card is reported lost at once')
    const events = await db.select().from(timelineEvents).where(eq(timelineEvents.applicationId, body.id))
    t.same(events.map((e) => e.type), ['SUBMITTED'])
    t.same(events[0]!.data, { paymentCode: body.payment.code })

    const audits = await tools(ctx).auditsOf('req-counter-lost-1')
    t.same(audits.map((a) => a.action).sort(), ['APPLICATION_CREATED', 'HOLDER_VIEWED'])
    t.match(audits.find((a) => a.action === 'APPLICATION_CREATED'), {
      actorRole: 'station_staff', actorStationId: stationA, targetType: 'application', targetId: body.id,
      after: { type: 'LOST', channel: 'STATION', stage: 'AWAITING_PAYMENT', pickupStationId: stationA }
    })

    // The holder sees it in the app, with the prompt to pay.
    const current = await app.inject({ method: 'GET', url: '/v1/me/applications/current', headers: holder.headers })
    t.equal(current.statusCode, 200)
    t.match(current.json(), { id: body.id, channel: 'STATION', payment: { code: body.payment.code } })
  })

  t.test('DAMAGED, picked up at another station', async (t) => {
    const holder = await registerHolder(ctx, seq++)
    const res = await counter(stationA, counterBody(holder.id, { type: 'DAMAGED', pickupStationId: stationB }))
    t.equal(res.statusCode, 201, res.body)
    t.match(res.json(), { type: 'DAMAGED', channel: 'STATION', stage: 'AWAITING_PAYMENT', pickupStation: { id: stationB }, payment: { status: 'PENDING' } })
    const [row] = await db.select().from(applications).where(eq(applications.id, res.json().id))
    t.match(row, { pickupStationId: stationB, createdByStationId: stationA })
    const [card] = await db.select().from(cards).where(eq(cards.holderId, holder.id))
    t.equal(card!.status, 'ACTIVE', 'a damaged card is handed in at pickup, not reported lost')
  })

  t.test('INFO_CHANGE is paid', async (t) => {
    const holder = await registerHolder(ctx, seq++)
    const res = await counter(stationA, counterBody(holder.id, { type: 'INFO_CHANGE', changes: { phone: '13900139000' }, evidence: EVIDENCE }))
    t.equal(res.statusCode, 201, res.body)
    t.match(res.json(), { type: 'INFO_CHANGE', channel: 'STATION', stage: 'AWAITING_PAYMENT', fee: { amountFen: 2000 }, payment: { status: 'PENDING', amountFen: 2000 } })
    t.equal((await db.select().from(payments).where(eq(payments.applicationId, res.json().id))).length, 1)
  })

  t.test('WARRANTY is free and awaits approval', async (t) => {
    const holder = await registerHolder(ctx, seq++, { issuedAt: '2026-06-30' })
    const res = await counter(stationA, counterBody(holder.id, { type: 'WARRANTY', damage: { causes: ['CHIP_UNREADABLE'] } }))
    t.equal(res.statusCode, 201, res.body)
    t.match(res.json(), { type: 'WARRANTY', stage: 'AWAITING_APPROVAL', fee: { amountFen: 0 } })
    t.notOk('payment' in res.json())
    t.equal((await db.select().from(payments).where(eq(payments.applicationId, res.json().id))).length, 0)
  })

  t.test('the pickup station must be active; the old card must be confirmed', async (t) => {
    const holder = await registerHolder(ctx, seq++)
    const inactive = await createStation(ctx, { name: '停用站', active: false })
    const before = await tools(ctx).counts()
    const closed = await counter(stationA, counterBody(holder.id, { pickupStationId: inactive }))
    t.equal(closed.statusCode, 422)
    t.equal(closed.json().code, 'PICKUP_STATION_UNAVAILABLE')
    const unconfirmed = await counter(stationA, counterBody(holder.id, { oldCardConfirmed: false }))
    t.equal(unconfirmed.statusCode, 422)
    t.equal(unconfirmed.json().code, 'OLD_CARD_NOT_CONFIRMED')
    t.same(await tools(ctx).counts(), before, 'nothing written')
  })
})

t.test('an information change', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, database: { db } } = ctx
  const { counter, staff, holderRow, auditsOf } = tools(ctx)
  const pii = createPiiCipher(ctx.config.pii)
  const stationId = await createStation(ctx)
  const holder = await registerHolder(ctx, 1, { name: '张三丰' })
  const oldPhone = '13800000001'
  const newIdentity = residentIdentity(500, '李四')
  const newPhone = '13900139000'
  const oldRow = await holderRow(holder.id)

  const res = await counter(stationId, counterBody(holder.id, {
    type: 'INFO_CHANGE',
    changes: { name: '李四', phone: newPhone, identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: newIdentity.idNumber } },
    evidence: EVIDENCE
  }), { 'x-request-id': 'req-info-change-1' })
  t.equal(res.statusCode, 201, res.body)
  const application = res.json()
  t.match(application, { type: 'INFO_CHANGE', channel: 'STATION', status: 'IN_PROGRESS', stage: 'AWAITING_PAYMENT', payment: { status: 'PENDING' } })
  for (const plain of [holder.identity.idNumber, newIdentity.idNumber, oldPhone, newPhone, '张三丰', '李四', EVIDENCE.documentNumber]) {
    t.notOk(res.body.includes(plain), 'the response holds no plain personal data')
  }

  t.test('the holder record', async (t) => {
    const view = await app.inject({ method: 'GET', url: `/v1/holders/${holder.id}`, headers: staff(stationId) })
    t.equal(view.statusCode, 200)
    t.match(view.json(), {
      identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumberMasked: `44*****${newIdentity.idNumber.slice(-2)}`, nameMasked: '李*' },
      phoneMasked: '139****9000',
      updatedAt: ctx.clock.now().toISOString()
    })
    const row = await holderRow(holder.id)
    t.equal(row.name, '李四')
    t.equal(pii.decrypt(row.idNumberEnc), newIdentity.idNumber, 'the new number, encrypted')
    t.equal(pii.decrypt(row.phoneEnc), newPhone)
    t.not(row.identityHash, oldRow.identityHash, 'the lookup hash follows the new identity')
    t.not(row.phoneHash, oldRow.phoneHash)
    t.notOk(JSON.stringify(row).includes(newIdentity.idNumber), 'the number is not stored in plain text')
    t.notOk(JSON.stringify(row).includes(newPhone), 'the phone is not stored in plain text')
  })

  t.test('the citizen signs in with the new identity; the old one is no longer registered', async (t) => {
    const now = await app.inject({ method: 'GET', url: '/v1/me', headers: ctx.auth({ role: 'citizen', identity: newIdentity }) })
    t.equal(now.statusCode, 200)
    t.match(now.json(), { id: holder.id, identity: { nameMasked: '李*' }, phoneMasked: '139****9000' })
    const old = await app.inject({ method: 'GET', url: '/v1/me', headers: ctx.auth(holder.citizen) })
    t.equal(old.statusCode, 404)
    t.equal(old.json().code, 'HOLDER_NOT_REGISTERED')
  })

  t.test('the audit trail keeps every field before and after, masked, with the request id', async (t) => {
    const audits = await auditsOf('req-info-change-1')
    t.same(audits.map((a) => a.action).sort(), ['APPLICATION_CREATED', 'HOLDER_INFO_CHANGED', 'HOLDER_VIEWED'])
    for (const a of audits) t.match(a, { actorRole: 'station_staff', actorStationId: stationId, requestId: 'req-info-change-1' })
    const changed = audits.find((a) => a.action === 'HOLDER_INFO_CHANGED')!
    t.match(changed, { targetType: 'holder', targetId: holder.id })
    t.same(changed.before, { name: '张*丰', phone: '138****0001', idNumber: `44*****${holder.identity.idNumber.slice(-2)}` })
    t.same(changed.after, {
      name: '李*', phone: '139****9000', idNumber: `44*****${newIdentity.idNumber.slice(-2)}`, applicationId: application.id, evidenceType: 'HOUSEHOLD_REGISTER'
    })
    t.match(audits.find((a) => a.action === 'APPLICATION_CREATED'), { targetType: 'application', targetId: application.id, after: { type: 'INFO_CHANGE' } })

    const everything = JSON.stringify(await db.select().from(auditEvents))
    for (const [label, plain] of [['old ID number', holder.identity.idNumber], ['new ID number', newIdentity.idNumber], ['old phone', oldPhone],
      ['new phone', newPhone], ['old name', '张三丰'], ['new name', '李四'], ['evidence number', EVIDENCE.documentNumber]]) {
      t.notOk(everything.includes(plain!), `no ${label} in any audit row`)
    }
  })

  t.test('the timeline names the changed fields', async (t) => {
    const headers = ctx.auth({ role: 'citizen', identity: newIdentity })
    const zh = await app.inject({ method: 'GET', url: `/v1/applications/${application.id}/timeline`, headers })
    t.equal(zh.statusCode, 200, zh.body)
    const events = zh.json().events
    t.same(events.map((e: { type: string }) => e.type), ['SUBMITTED', 'INFO_CHANGED'])
    t.match(events[0].message, application.payment.code)
    t.match(events[1], { title: '个人信息已变更' })
    for (const field of ['姓名', '手机号码', '证件号码']) t.match(events[1].message, field, `${field} named`)
    t.notMatch(events[1].message, /证件类型|国家\/地区/, 'unchanged fields are not named')
    const en = await app.inject({ method: 'GET', url: `/v1/applications/${application.id}/timeline`, headers: { ...headers, 'accept-language': 'en' } })
    t.match(en.json().events[1], { title: 'Personal information changed' })
    const old = await app.inject({ method: 'GET', url: `/v1/applications/${application.id}/timeline`, headers: ctx.auth(holder.citizen) })
    t.equal(old.statusCode, 404, 'the old identity no longer reaches the holder\'s applications')
  })

  t.test('the evidence number is kept encrypted', async (t) => {
    const [row] = await db.select().from(applications).where(eq(applications.id, application.id))
    t.notOk(JSON.stringify(row!.details).includes(EVIDENCE.documentNumber), 'not in plain text')
    const evidence = row!.details.evidence as { documentType: string; documentNumberEnc: string; note: string }
    t.match(evidence, { documentType: 'HOUSEHOLD_REGISTER', note: EVIDENCE.note })
    t.equal(pii.decrypt(evidence.documentNumberEnc), EVIDENCE.documentNumber, 'but recoverable with the key')
    t.same((row!.details.changedFields as string[]).sort(), ['idNumber', 'name', 'phone'])
    const events = await db.select().from(timelineEvents).where(eq(timelineEvents.applicationId, application.id))
    t.notOk(JSON.stringify(events).includes(EVIDENCE.documentNumber))
    t.notOk(JSON.stringify(events).includes('李四'), 'timeline data carries field names, not values')
  })

  t.test('country/region and document type are audited unmasked', async (t) => {
    const other = await registerHolder(ctx, 2, { name: '王五' })
    const permit = { countryRegion: 'HKG', idType: 'HK_MACAO_PERMIT', idNumber: 'H12345678' } as const
    const changed = await counter(stationId, counterBody(other.id, { type: 'INFO_CHANGE', changes: { identity: permit }, evidence: { documentType: 'HK_MACAO_PERMIT', documentNumber: 'H12345678' } }),
      { 'x-request-id': 'req-info-change-2' })
    t.equal(changed.statusCode, 201, changed.body)
    const [audit] = (await auditsOf('req-info-change-2')).filter((a) => a.action === 'HOLDER_INFO_CHANGED')
    t.same(audit!.before, { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: `44*****${other.identity.idNumber.slice(-2)}` })
    t.match(audit!.after, { countryRegion: 'HKG', idType: 'HK_MACAO_PERMIT', idNumber: 'H*****8' })
    const me = await app.inject({ method: 'GET', url: '/v1/me', headers: ctx.auth({ role: 'citizen', identity: { ...permit, name: '王五' } }) })
    t.equal(me.statusCode, 200)
    t.match(me.json(), { id: other.id, identity: { countryRegion: 'HKG', idType: 'HK_MACAO_PERMIT', idNumberMasked: 'H*****8', nameMasked: '王*' } })
  })

  t.test('a name-only change keeps the sign-in: the name is not part of the lookup', async (t) => {
    const third = await registerHolder(ctx, 3, { name: '赵六' })
    const changed = await counter(stationId, counterBody(third.id, { type: 'INFO_CHANGE', changes: { name: '赵六一' }, evidence: { documentType: 'NAME_CHANGE_CERTIFICATE', documentNumber: 'NC-1' } }))
    t.equal(changed.statusCode, 201, changed.body)
    t.equal((await holderRow(third.id)).name, '赵六一')
    const me = await app.inject({ method: 'GET', url: '/v1/me', headers: ctx.auth(third.citizen) })
    t.equal(me.statusCode, 200)
    t.equal(me.json().identity.nameMasked, '赵*一')
  })
})

t.test('information changes that are refused write nothing', async (t) => {
  const ctx = await buildTestApp(t)
  const { database: { db } } = ctx
  const { counter, counts, holderRow, auditsOf } = tools(ctx)
  const stationId = await createStation(ctx)
  const holder = await registerHolder(ctx, 1, { name: '张三丰' })
  const other = await registerHolder(ctx, 2, { name: '李四' })
  const infoChange = (changes: unknown, extra: Record<string, unknown> = {}) =>
    counterBody(holder.id, { type: 'INFO_CHANGE', changes, evidence: EVIDENCE, ...extra })

  const unchanged = async (t: Test, before: { counts: unknown; row: unknown }) => {
    t.same(await counts(), before.counts, 'no application, payment, event or audit row')
    t.same(await holderRow(holder.id), before.row, 'the holder unchanged')
  }
  const snapshot = async () => ({ counts: await counts(), row: await holderRow(holder.id) })

  t.test('taking another holder\'s identity is 409 and nothing is half-written', async (t) => {
    const before = await snapshot()
    const res = await counter(stationId, infoChange({ name: '张三丰', identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: other.identity.idNumber } }),
      { 'x-request-id': 'req-collision-1' })
    t.equal(res.statusCode, 409, res.body)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().code, 'IDENTITY_ALREADY_REGISTERED')
    t.notOk(res.body.includes(other.identity.idNumber), 'the problem does not echo the number')
    await unchanged(t, before)
    t.equal((await auditsOf('req-collision-1')).length, 0, 'no audit row from that request')
    t.equal((await db.select().from(applications).where(eq(applications.holderId, holder.id))).length, 0)
    // Both holders still sign in as before.
    t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: holder.headers })).json().id, holder.id)
    t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/me', headers: other.headers })).json().id, other.id)
  })

  t.test('a change that changes nothing is 400', async (t) => {
    const before = await snapshot()
    for (const changes of [
      { name: '张三丰' },
      { phone: '13800000001' },
      { name: '张三丰', phone: '13800000001', identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: holder.identity.idNumber } }
    ]) {
      const res = await counter(stationId, infoChange(changes))
      t.equal(res.statusCode, 400, JSON.stringify(Object.keys(changes)))
      t.ok(res.json().errors.some((e: FieldErr) => e.pointer === '/changes'), 'points at /changes')
    }
    const empty = await counter(stationId, infoChange({}))
    t.equal(empty.statusCode, 400, 'no field at all')
    await unchanged(t, before)
  })

  t.test('a wrong check character is 400 pointing at the ID number', async (t) => {
    const before = await snapshot()
    const valid = residentIdentity(700).idNumber
    const wrong = valid.slice(0, 17) + (valid.endsWith('0') ? '1' : '0')
    const res = await counter(stationId, infoChange({ identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: wrong } }))
    t.equal(res.statusCode, 400)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    const pointers = res.json().errors.map((e: FieldErr) => e.pointer)
    t.ok(pointers.some((p: string) => /^\/changes(\/identity)?\/idNumber$/.test(p)), `points at the new ID number: ${pointers.join(', ')}`)
    t.match(JSON.stringify(res.json().errors), /check character/)
    t.notOk(res.body.includes(wrong), 'the problem does not echo the number')
    t.ok(pointers.includes('/changes/identity/idNumber'), 'the pointer resolves in the request body')

    const mismatch = await counter(stationId, infoChange({ identity: { countryRegion: 'USA', idType: 'RESIDENT_ID_CARD', idNumber: valid } }))
    t.equal(mismatch.statusCode, 400, 'a resident ID card needs CHN')
    t.ok(mismatch.json().errors.some((e: FieldErr) => /countryRegion$/.test(e.pointer)))
    const digits = await counter(stationId, infoChange({ name: '张3' }))
    t.equal(digits.statusCode, 400, 'a name with a digit')
    t.ok(digits.json().errors.some((e: FieldErr) => e.pointer === '/changes/name'))
    await unchanged(t, before)
  })

  t.test('a difference only in letter case or spacing changes nothing', async (t) => {
    let seq = 10
    while (!residentIdentity(seq).idNumber.endsWith('X')) seq++
    const padded = await registerHolder(ctx, seq, { name: '张三丰' })
    for (const changes of [
      { name: ' 张三丰 ' },
      { identity: { countryRegion: 'chn', idType: 'RESIDENT_ID_CARD', idNumber: padded.identity.idNumber } },
      { identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: padded.identity.idNumber.toLowerCase() } }
    ]) {
      const res = await counter(stationId, counterBody(padded.id, { type: 'INFO_CHANGE', changes, evidence: EVIDENCE }))
      t.equal(res.statusCode, 400, `${JSON.stringify(changes)}: no paid application for a change that changes nothing`)
      if (res.statusCode === 201) {
        await ctx.app.inject({ method: 'POST', url: `/v1/applications/${res.json().id}/cancel`, headers: padded.headers })
      }
    }
    const bogus = (await db.select().from(auditEvents).where(and(eq(auditEvents.targetId, padded.id), eq(auditEvents.action, 'HOLDER_INFO_CHANGED'))))
    t.same(bogus.map((a) => a.after), [], 'no audit row claims a change')
    t.equal((await holderRow(padded.id)).name, '张三丰', 'the stored record is normalised either way')
  })

  t.test('changes and evidence belong to INFO_CHANGE, damage to WARRANTY', async (t) => {
    const before = await snapshot()
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [counterBody(holder.id, { type: 'INFO_CHANGE' }), ['/changes', '/evidence']],
      [counterBody(holder.id, { type: 'INFO_CHANGE', changes: { name: '张四' } }), ['/evidence']],
      [counterBody(holder.id, { type: 'INFO_CHANGE', evidence: EVIDENCE }), ['/changes']],
      [counterBody(holder.id, { type: 'LOST', damage: { causes: ['CHIP_UNREADABLE'] } }), ['/damage']],
      [counterBody(holder.id, { type: 'DAMAGED', changes: { name: '张四' }, evidence: EVIDENCE }), ['/changes', '/evidence']],
      [infoChange({ name: '张四' }, { damage: { causes: ['CHIP_UNREADABLE'] } }), ['/damage']]
    ]
    for (const [payload, pointers] of cases) {
      const res = await counter(stationId, payload)
      t.equal(res.statusCode, 400, `${String(payload.type)} with ${Object.keys(payload).join(',')}`)
      const listed = res.json().errors.map((e: FieldErr) => e.pointer)
      for (const p of pointers) t.ok(listed.includes(p), `${p} listed`)
    }
    await unchanged(t, before)
  })

  t.test('the old card must be confirmed', async (t) => {
    const before = await snapshot()
    const res = await counter(stationId, infoChange({ name: '张四' }, { oldCardConfirmed: false }))
    t.equal(res.statusCode, 422)
    t.equal(res.json().code, 'OLD_CARD_NOT_CONFIRMED')
    await unchanged(t, before)
  })

  t.test('a holder with an application in progress keeps their information', async (t) => {
    const lost = await counter(stationId, counterBody(holder.id))
    t.equal(lost.statusCode, 201)
    const before = await snapshot()
    const res = await counter(stationId, infoChange({ name: '张四' }))
    t.equal(res.statusCode, 409)
    t.match(res.json(), { code: 'APPLICATION_IN_PROGRESS', applicationId: lost.json().id })
    await unchanged(t, before)
  })
})

t.test('the rules every channel shares', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, database: { db } } = ctx
  const { counter, counts } = tools(ctx)
  const stationId = await createStation(ctx)
  const otherStation = await createStation(ctx, { name: '越秀区退役军人服务站', districtCode: '440104' })

  t.test('one in progress, whichever channel started it', async (t) => {
    const holder = await registerHolder(ctx, 1)
    const inApp = await submit(ctx, holder, applyBody(stationId))
    t.equal(inApp.statusCode, 201)
    for (const type of ['LOST', 'DAMAGED']) {
      const res = await counter(otherStation, counterBody(holder.id, { type }))
      t.equal(res.statusCode, 409, type)
      t.match(res.json(), { code: 'APPLICATION_IN_PROGRESS', applicationId: inApp.json().id })
    }

    const second = await registerHolder(ctx, 2)
    const atCounter = await counter(stationId, counterBody(second.id, { type: 'DAMAGED' }))
    t.equal(atCounter.statusCode, 201)
    const fromApp = await submit(ctx, second, applyBody(stationId))
    t.equal(fromApp.statusCode, 409, 'the app sees the counter\'s application')
    t.match(fromApp.json(), { code: 'APPLICATION_IN_PROGRESS', applicationId: atCounter.json().id })
    const again = await counter(stationId, counterBody(second.id))
    t.equal(again.statusCode, 409)
    t.equal(again.json().applicationId, atCounter.json().id)

    // Once paid it is still in progress; the holder waits for the card.
    t.equal((await notify(ctx, paymentFor(atCounter.json().payment.code, ctx.clock.now()))).json().outcome, 'RECORDED')
    t.equal((await counter(stationId, counterBody(second.id))).statusCode, 409)
    t.equal((await db.select().from(applications).where(eq(applications.holderId, second.id))).length, 1)
  })

  t.test('Idempotency-Key replays the first answer', async (t) => {
    const holder = await registerHolder(ctx, 3)
    const body = counterBody(holder.id, { type: 'DAMAGED' })
    const first = await counter(stationId, body, { 'idempotency-key': 'counter-key-1' })
    t.equal(first.statusCode, 201)
    const replay = await counter(stationId, body, { 'idempotency-key': 'counter-key-1' })
    t.equal(replay.statusCode, 201, 'not 409: the same request is answered again')
    t.equal(replay.headers['idempotent-replayed'], 'true')
    t.same(replay.json(), first.json())
    t.equal(replay.headers.location, first.headers.location)
    t.equal((await db.select().from(applications).where(eq(applications.holderId, holder.id))).length, 1, 'one application')
    const reused = await counter(stationId, { ...body, type: 'LOST' }, { 'idempotency-key': 'counter-key-1' })
    t.equal(reused.statusCode, 422)
    t.equal(reused.json().code, 'IDEMPOTENCY_KEY_REUSED')
    const otherKey = await counter(stationId, body, { 'idempotency-key': 'counter-key-2' })
    t.equal(otherKey.statusCode, 409, 'a new key is a new request, refused by the one-in-progress rule')
  })

  t.test('an unknown holder is 404', async (t) => {
    const before = await counts()
    const res = await counter(stationId, counterBody('00000000-0000-4000-8000-000000000000'))
    t.equal(res.statusCode, 404)
    t.equal(res.json().code, 'HOLDER_NOT_FOUND')
    t.same(await counts(), before)
  })

  t.test('roles', async (t) => {
    const holder = await registerHolder(ctx, 4)
    const body = counterBody(holder.id)
    for (const headers of [holder.headers, ctx.auth({ role: 'bureau_staff' }), ctx.auth({ role: 'admin' })]) {
      const res = await app.inject({ method: 'POST', url: '/v1/station/applications', headers, payload: body })
      t.equal(res.statusCode, 403)
      t.match(res.headers['content-type'], PROBLEM_JSON)
    }
    t.equal((await app.inject({ method: 'POST', url: '/v1/station/applications', payload: body })).statusCode, 401)
    t.equal((await app.inject({ method: 'POST', url: '/v1/station/applications', headers: { authorization: 'Bearer nope' }, payload: body })).statusCode, 401)
    t.equal((await db.select().from(applications).where(eq(applications.holderId, holder.id))).length, 0)
  })

  t.test('malformed bodies are 400 listing the fields, and write nothing', async (t) => {
    const holder = await registerHolder(ctx, 5)
    const before = await counts()
    const cases: Array<[unknown, string[]]> = [
      [{}, ['/holderId', '/type', '/oldCardConfirmed', '/photo']],
      [counterBody('nope'), ['/holderId']],
      [counterBody(holder.id, { type: 'STOLEN' }), ['/type']],
      [counterBody(holder.id, { oldCardConfirmed: 'true' }), ['/oldCardConfirmed']],
      [counterBody(holder.id, { pickupStationId: 'nope' }), ['/pickupStationId']],
      [counterBody(holder.id, { photo: { source: 'UPLOAD' } }), ['/photo/photoId']],
      [counterBody(holder.id, { channel: 'SELF' }), ['/channel']],
      [counterBody(holder.id, { type: 'INFO_CHANGE', changes: { phone: '12345', nickname: 'x' }, evidence: { documentType: 'DIARY', documentNumber: '' } }),
        ['/changes/phone', '/changes/nickname', '/evidence/documentType', '/evidence/documentNumber']],
      [counterBody(holder.id, { type: 'INFO_CHANGE', changes: { identity: { idNumber: '440106198001010017' } }, evidence: EVIDENCE }),
        ['/changes/identity/countryRegion', '/changes/identity/idType']],
      [counterBody(holder.id, { type: 'WARRANTY', damage: { causes: ['BURNT'], cost: 1 } }), ['/damage/causes/0', '/damage/cost']]
    ]
    for (const [payload, pointers] of cases) {
      const res = await counter(stationId, payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.match(res.headers['content-type'], PROBLEM_JSON)
      t.equal(res.json().code, 'VALIDATION_FAILED')
      const listed = res.json().errors.map((e: FieldErr) => e.pointer)
      for (const p of pointers) t.ok(listed.includes(p), `${p} listed (got ${listed.join(', ')})`)
    }
    const notJson = await app.inject({
      method: 'POST', url: '/v1/station/applications', headers: { ...ctx.auth({ role: 'station_staff', stationId }), 'content-type': 'application/json' }, payload: '{"holderId":'
    })
    t.equal(notJson.statusCode, 400)
    t.same(await counts(), before)
  })
})

t.test('my station\'s applications', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, clock } = ctx
  const { counter, list } = tools(ctx)
  const stationA = await createStation(ctx)
  const stationB = await createStation(ctx, { name: '越秀区退役军人服务站', districtCode: '440104' })
  const stationC = await createStation(ctx, { name: '海珠区退役军人服务站', districtCode: '440105' })
  const ids = async (stationId: string, query = '') => {
    const res = await list(stationId, query)
    if (res.statusCode !== 200) throw new Error(res.body)
    return (res.json().items as Array<{ id: string }>).map((i) => i.id)
  }
  const create = async (stationId: string, holderSeq: number, overrides: Record<string, unknown> = {}, options: { issuedAt?: string } = {}) => {
    const holder = await registerHolder(ctx, holderSeq, options)
    const res = await counter(stationId, counterBody(holder.id, overrides))
    if (res.statusCode !== 201) throw new Error(res.body)
    clock.advance(1000)
    return { holder, id: res.json().id as string }
  }

  const a1 = await create(stationA, 1)
  const a2 = await create(stationA, 2, { type: 'WARRANTY', damage: { causes: ['PRINT_DEFECT'] } }, { issuedAt: '2026-06-30' })
  const b1 = await create(stationB, 3, { type: 'DAMAGED' })
  const aForB = await create(stationA, 4, { pickupStationId: stationB })
  // Applied in the app for pickup at A.
  const selfHolder = await registerHolder(ctx, 5)
  const selfApp = (await submit(ctx, selfHolder, applyBody(stationA))).json().id as string
  clock.advance(1000)
  const elsewhere = await registerHolder(ctx, 6)
  t.equal((await submit(ctx, elsewhere, applyBody(stationC))).statusCode, 201)

  t.test('each station sees its own cases, newest first', async (t) => {
    t.same(await ids(stationA), [selfApp, aForB.id, a2.id, a1.id], 'A: created at A or picked up at A')
    t.same(await ids(stationB), [aForB.id, b1.id], 'B: its own, and the one A created for pickup at B')
    const c = await list(stationC)
    t.match(c.json().items, [{ pickupStation: { id: stationC }, channel: 'SELF' }])
    t.equal(c.json().items.length, 1)
    const unknownStation = await app.inject({ method: 'GET', url: '/v1/station/applications', headers: ctx.auth({ role: 'station_staff', stationId: '00000000-0000-4000-8000-000000000000' }) })
    t.same(unknownStation.json(), { items: [], nextCursor: null })
  })

  t.test('filtered by stage', async (t) => {
    t.same(await ids(stationA, '?stage=AWAITING_APPROVAL'), [a2.id])
    t.same(await ids(stationA, '?stage=AWAITING_PAYMENT'), [selfApp, aForB.id, a1.id])
    t.same(await ids(stationA, '?stage=PAID'), [])
    const bad = await list(stationA, '?stage=LOST')
    t.equal(bad.statusCode, 400)
    t.match(bad.json(), { errors: [{ in: 'query' }] })
  })

  t.test('pages of one, with the cursor', async (t) => {
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await list(stationA, `?limit=1${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
      t.equal(res.statusCode, 200)
      const page = res.json()
      t.equal(page.items.length, 1)
      seen.push(page.items[0].id)
      cursor = page.nextCursor
      pages++
    } while (cursor !== null && pages < 10)
    t.same(seen, [selfApp, aForB.id, a2.id, a1.id])
    t.equal(pages, 4, 'the last page says there is no more')
    const filtered = await list(stationA, '?stage=AWAITING_PAYMENT&limit=2')
    t.equal(filtered.json().items.length, 2)
    const rest = await list(stationA, `?stage=AWAITING_PAYMENT&limit=2&cursor=${encodeURIComponent(filtered.json().nextCursor)}`)
    t.same(rest.json().items.map((i: { id: string }) => i.id), [a1.id], 'the cursor keeps the filter\'s order')
    t.equal(rest.json().nextCursor, null)
    for (const q of ['?limit=0', '?limit=101', '?cursor=bm9wZQ']) t.equal((await list(stationA, q)).statusCode, 400, q)
  })

  t.test('past midnight, unpaid applications are listed as expired before any sweep', async (t) => {
    clock.set('2026-12-01T15:59:59.999Z')
    t.same(await ids(stationA, '?stage=EXPIRED_UNPAID'), [], 'one millisecond before the deadline')
    clock.set('2026-12-01T16:00:00.000Z')
    t.same(await ids(stationA, '?stage=EXPIRED_UNPAID'), [selfApp, aForB.id, a1.id])
    t.same(await ids(stationA, '?stage=AWAITING_PAYMENT'), [], 'none of them still awaits payment')
    t.same(await ids(stationA, '?stage=AWAITING_APPROVAL'), [a2.id], 'a free case does not expire')
    const all = (await list(stationA)).json().items as Array<{ id: string; status: string; stage: string; outcome: string | null }>
    t.match(all.find((i) => i.id === a1.id), { status: 'CLOSED', stage: 'EXPIRED_UNPAID', outcome: 'EXPIRED_UNPAID', payment: { status: 'EXPIRED' } })
    const stored = await ctx.database.db.select().from(applications).where(and(eq(applications.id, a1.id), eq(applications.stage, 'AWAITING_PAYMENT')))
    t.equal(stored.length, 1, 'no sweep has run: the row still says AWAITING_PAYMENT')

    // The expired case does not block the holder: the counter may apply again the next day.
    const again = await counter(stationA, counterBody(a1.holder.id))
    t.equal(again.statusCode, 201, again.body)
    t.equal(again.json().payment.expiresAt, '2026-12-02T16:00:00.000Z')
  })

  t.test('only station staff list', async (t) => {
    for (const headers of [ctx.auth(a1.holder.citizen), ctx.auth({ role: 'bureau_staff' }), ctx.auth({ role: 'admin' })]) {
      t.equal((await app.inject({ method: 'GET', url: '/v1/station/applications', headers })).statusCode, 403)
    }
    t.equal((await app.inject({ method: 'GET', url: '/v1/station/applications' })).statusCode, 401)
  })
})
