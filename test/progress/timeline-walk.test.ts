// A walk through every timeline event type, in both languages, as the progress query (制卡进度查询) shows it:
// each text comes from the one catalogue with every placeholder filled.
import t from 'tap'
import { TIMELINE_EVENT_TYPES } from '../../src/db/schema.js'
import { buildTestApp } from '../helper.js'
import { applyBody, createStation, notify, paymentFor, registerHolder, submit, type Holder } from '../fixtures.js'

interface TimelineEvent { id: string; type: string; occurredAt: string; title: string; message: string }
interface ProgressApplication { id: string; type: string; stage: string; payment?: { code: string }; timeline: TimelineEvent[] }

const STATION = { name: '白云区退役军人服务站', districtCode: '440111', address: '白云大道北88号', phone: '020-86000000' }
const REASON = '卡面有明显划痕，属人为损坏'
const SEED = '您提交的优抚卡补换申请尚未进行支付，请前往广东省非税收缴平台进行缴费，您的缴款识别码为：'
const MINUTE = 60 * 1000

t.test('every timeline event type, in zh-CN and English, through the progress query', async (t) => {
  const ctx = await buildTestApp(t, { config: { PROGRESS_QUERY_LIMIT_PER_TOKEN: 10_000, PROGRESS_QUERY_LIMIT_PER_IP: 10_000 } })
  const { app, clock } = ctx
  const stationId = await createStation(ctx, STATION)
  // Tokens are minted at the clock's time and expire, so each request gets a fresh one.
  const bureau = () => ctx.auth({ role: 'bureau_staff' })
  const staff = () => ctx.auth({ role: 'station_staff', stationId })
  const citizen = (holder: Holder) => ctx.auth(holder.citizen)
  const tick = () => clock.advance(MINUTE)

  const expectStatus = (what: string, res: { statusCode: number; body: string }, status: number) => {
    if (res.statusCode !== status) throw new Error(`${what}: ${res.statusCode} ${res.body}`)
    return JSON.parse(res.body)
  }
  const apply = async (holder: Holder, type: 'LOST' | 'DAMAGED') =>
    expectStatus(`apply ${type}`, await submit(ctx, holder, applyBody(stationId, { type }), citizen(holder)), 201)
  const counter = async (payload: Record<string, unknown>) => expectStatus(`counter ${payload.type}`, await app.inject({
    method: 'POST', url: '/v1/station/applications', headers: staff(),
    payload: { type: 'LOST', oldCardConfirmed: true, photo: { source: 'CARD' }, ...payload }
  }), 201)
  const pay = async (code: string) => {
    const body = expectStatus('pay', await notify(ctx, paymentFor(code, clock.now())), 200)
    if (body.outcome !== 'RECORDED') throw new Error(`pay: ${JSON.stringify(body)}`)
  }
  /** A stage move with If-Match from GET /v1/applications/{id}'s ETag. */
  const move = async (id: string, to: string, headers: Record<string, string>) => {
    const read = await app.inject({ method: 'GET', url: `/v1/applications/${id}`, headers: bureau() })
    expectStatus('read', read, 200)
    return expectStatus(`move to ${to}`, await app.inject({
      method: 'POST', url: `/v1/applications/${id}/stage`, headers: { ...headers, 'if-match': String(read.headers.etag) }, payload: { to }
    }), 200)
  }
  const decide = async (id: string, payload: Record<string, unknown>) => expectStatus('warranty decision', await app.inject({
    method: 'POST', url: `/v1/applications/${id}/warranty-decision`, headers: bureau(), payload
  }), 200)

  // A paid LOST through production and pickup (SUBMITTED, PAYMENT_RECEIVED, IN_PRODUCTION, READY_FOR_PICKUP, COLLECTED).
  const lostHolder = await registerHolder(ctx, 1, { name: '张三丰' })
  const lost = await apply(lostHolder, 'LOST')
  tick(); await pay(lost.payment.code)
  tick(); await move(lost.id, 'IN_PRODUCTION', bureau())
  tick(); await move(lost.id, 'READY_FOR_PICKUP', bureau())
  tick(); t.match(await move(lost.id, 'COLLECTED', staff()), { status: 'CLOSED', stage: 'COLLECTED', outcome: 'COMPLETED' })

  // A paid DAMAGED waiting at the station: the old card is to be handed in.
  const damagedHolder = await registerHolder(ctx, 2, { name: '李四光' })
  const damaged = await apply(damagedHolder, 'DAMAGED')
  tick(); await pay(damaged.payment.code)
  tick(); await move(damaged.id, 'IN_PRODUCTION', bureau())
  tick(); await move(damaged.id, 'READY_FOR_PICKUP', bureau())

  // Cancelled by the applicant before paying.
  const cancelHolder = await registerHolder(ctx, 3, { name: '王五' })
  const cancelled = await apply(cancelHolder, 'LOST')
  tick(); expectStatus('cancel', await app.inject({ method: 'POST', url: `/v1/applications/${cancelled.id}/cancel`, headers: citizen(cancelHolder) }), 200)

  // Information change at the counter, then paid.
  const infoHolder = await registerHolder(ctx, 4, { name: '赵六' })
  tick()
  const info = await counter({
    holderId: infoHolder.id, type: 'INFO_CHANGE', changes: { phone: '13900139000' },
    evidence: { documentType: 'RESIDENT_ID_CARD', documentNumber: 'EV-0001', note: '身份证原件已核验' }
  })
  tick(); await pay(info.payment.code)

  // Two warranty cases for cards issued 2026-06-30: one approved, one rejected with a reason.
  const approvedHolder = await registerHolder(ctx, 5, { name: '孙七', issuedAt: '2026-06-30' })
  const rejectedHolder = await registerHolder(ctx, 6, { name: '周八', issuedAt: '2026-06-30' })
  const damage = { causes: ['CHIP_UNREADABLE'], description: '芯片无法读取' }
  tick()
  const approved = await counter({ holderId: approvedHolder.id, type: 'WARRANTY', damage })
  const rejected = await counter({ holderId: rejectedHolder.id, type: 'WARRANTY', damage })
  tick(); t.match(await decide(approved.id, { approve: true }), { stage: 'IN_PRODUCTION' })
  tick(); t.match(await decide(rejected.id, { approve: false, reason: REASON }), { stage: 'REJECTED', outcome: 'REJECTED' })

  // Unpaid late in the evening; past midnight it is closed (no sweep runs: the query applies the deadline).
  const expiredHolder = await registerHolder(ctx, 7, { name: '吴九' })
  clock.set('2026-12-01T15:00:00Z')
  const expired = await apply(expiredHolder, 'LOST')
  t.equal(expired.payment.expiresAt, '2026-12-01T16:00:00.000Z')
  clock.set('2026-12-01T16:30:00Z')

  // Unpaid on the new day: the first event reads as the seed's sentence.
  const unpaidHolder = await registerHolder(ctx, 8, { name: '郑十' })
  const unpaid = await apply(unpaidHolder, 'LOST')

  const holders = [lostHolder, damagedHolder, cancelHolder, infoHolder, approvedHolder, rejectedHolder, expiredHolder, unpaidHolder]
  const progress = async (language: string | undefined) => {
    const byId = new Map<string, ProgressApplication>()
    for (const holder of holders) {
      const res = await app.inject({
        method: 'POST', url: '/v1/progress-queries', payload: holder.identity,
        headers: { ...bureau(), ...(language === undefined ? {} : { 'accept-language': language }) }
      })
      const body = expectStatus('progress query', res, 200) as { applications: ProgressApplication[] }
      t.equal(body.applications.length, 1, `one application for holder ${holder.id}`)
      for (const application of body.applications) byId.set(application.id, application)
    }
    return byId
  }
  const zh = await progress('zh-CN')
  const en = await progress('en')
  t.same(await progress(undefined), zh, 'zh-CN is the default')

  const typesOf = (id: string) => zh.get(id)!.timeline.map((e) => e.type)
  t.same(typesOf(lost.id), ['SUBMITTED', 'PAYMENT_RECEIVED', 'IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED'])
  t.same(typesOf(damaged.id), ['SUBMITTED', 'PAYMENT_RECEIVED', 'IN_PRODUCTION', 'READY_FOR_PICKUP'])
  t.same(typesOf(cancelled.id), ['SUBMITTED', 'CANCELLED'])
  t.same(typesOf(info.id), ['SUBMITTED', 'INFO_CHANGED', 'PAYMENT_RECEIVED'])
  t.same(typesOf(approved.id), ['SUBMITTED', 'WARRANTY_APPROVED', 'IN_PRODUCTION'])
  t.same(typesOf(rejected.id), ['SUBMITTED', 'WARRANTY_REJECTED'])
  t.same(typesOf(expired.id), ['SUBMITTED', 'EXPIRED_UNPAID'])
  t.same(typesOf(unpaid.id), ['SUBMITTED'])

  for (const [language, answers] of [['zh-CN', zh], ['en', en]] as const) {
    const events = [...answers.values()].flatMap((a) => a.timeline)
    t.same([...new Set(events.map((e) => e.type))].sort(), [...TIMELINE_EVENT_TYPES].sort(), `${language}: all ten event types appear`)
    for (const e of events) {
      t.ok(e.title.trim().length > 0, `${language} ${e.type}: a title`)
      t.ok(e.message.trim().length > 0, `${language} ${e.type}: a message`)
      t.notMatch(e.message, /[{}]/, `${language} ${e.type}: no unfilled placeholder in "${e.message}"`)
      t.notMatch(e.title, /[{}]/, `${language} ${e.type}: no placeholder in the title`)
      if (language === 'zh-CN') t.match(e.title, /\p{Script=Han}/u, `zh-CN ${e.type}: a Chinese title`)
      else t.match(e.title, /^[A-Za-z][\x20-\x7e]*$/, `en ${e.type}: an English title`)
    }
  }
  // The same events in both languages, only the words differ.
  for (const [id, application] of zh) {
    const english = en.get(id)!
    t.same(english.timeline.map((e) => [e.id, e.type, e.occurredAt]), application.timeline.map((e) => [e.id, e.type, e.occurredAt]))
    application.timeline.forEach((e, i) => t.not(english.timeline[i]!.message, e.message, `${e.type} is translated`))
  }

  const event = (answers: Map<string, ProgressApplication>, id: string, type: string) => {
    const found = answers.get(id)!.timeline.find((e) => e.type === type)
    if (found === undefined) throw new Error(`no ${type} in ${id}`)
    return found
  }

  t.test('SUBMITTED while unpaid is the seed sentence with the code', async (t) => {
    t.equal(event(zh, unpaid.id, 'SUBMITTED').message, `${SEED}${unpaid.payment.code}`)
    t.equal(event(zh, unpaid.id, 'SUBMITTED').title, '申领信息入库')
    t.match(event(en, unpaid.id, 'SUBMITTED').message, new RegExp(`Guangdong non-tax payment platform.*${unpaid.payment.code}`))
    // Once paid or closed, it no longer asks for payment.
    for (const id of [lost.id, cancelled.id, expired.id]) t.notMatch(event(zh, id, 'SUBMITTED').message, /尚未进行支付/)
    t.notMatch(event(zh, approved.id, 'SUBMITTED').message, /缴款识别码/, 'a free replacement has no code')
  })

  t.test('PAYMENT_RECEIVED names the amount, the time and the code', async (t) => {
    t.match(event(zh, lost.id, 'PAYMENT_RECEIVED').message, '20.00元')
    t.match(event(zh, lost.id, 'PAYMENT_RECEIVED').message, '2026-12-01 10:01:00')
    t.match(event(zh, lost.id, 'PAYMENT_RECEIVED').message, lost.payment.code)
    t.match(event(en, lost.id, 'PAYMENT_RECEIVED').message, 'CNY 20.00')
  })

  t.test('IN_PRODUCTION and COLLECTED name the pickup station', async (t) => {
    for (const answers of [zh, en]) {
      t.match(event(answers, lost.id, 'IN_PRODUCTION').message, STATION.name)
      t.match(event(answers, approved.id, 'IN_PRODUCTION').message, STATION.name)
      t.match(event(answers, lost.id, 'COLLECTED').message, STATION.name)
    }
  })

  t.test('READY_FOR_PICKUP: where, how to reach the station, what to bring', async (t) => {
    for (const id of [lost.id, damaged.id]) {
      for (const answers of [zh, en]) {
        const message = event(answers, id, 'READY_FOR_PICKUP').message
        t.match(message, STATION.name)
        t.match(message, STATION.address)
        t.match(message, STATION.phone)
      }
      t.match(event(zh, id, 'READY_FOR_PICKUP').message, '身份证件')
      t.match(event(en, id, 'READY_FOR_PICKUP').message, 'identity document')
    }
    t.match(event(zh, damaged.id, 'READY_FOR_PICKUP').message, '损坏的旧卡', 'a DAMAGED case brings the damaged card')
    t.match(event(en, damaged.id, 'READY_FOR_PICKUP').message, 'damaged card')
    t.notMatch(event(zh, lost.id, 'READY_FOR_PICKUP').message, /损坏/, 'a LOST case has no old card to bring')
    t.notMatch(event(en, lost.id, 'READY_FOR_PICKUP').message, /damaged/)
  })

  t.test('WARRANTY_APPROVED and WARRANTY_REJECTED', async (t) => {
    t.match(event(zh, approved.id, 'WARRANTY_APPROVED').message, '审核通过')
    t.match(event(en, approved.id, 'WARRANTY_APPROVED').message, 'approved')
    t.match(event(zh, rejected.id, 'WARRANTY_REJECTED').message, `原因：${REASON}`)
    t.match(event(en, rejected.id, 'WARRANTY_REJECTED').message, `Reason: ${REASON}`)
  })

  t.test('INFO_CHANGED names the changed field', async (t) => {
    t.match(event(zh, info.id, 'INFO_CHANGED').message, '手机号码')
    t.match(event(en, info.id, 'INFO_CHANGED').message, /personal information \(.+\)/)
    t.notMatch(event(en, info.id, 'INFO_CHANGED').message, /\p{Script=Han}/u, 'the field names are in English too')
    t.notMatch(event(zh, info.id, 'INFO_CHANGED').message, '13900139000', 'not the new value')
  })

  t.test('CANCELLED and EXPIRED_UNPAID: the code no longer accepts payment; the expiry names the deadline', async (t) => {
    for (const answers of [zh, en]) {
      t.match(event(answers, cancelled.id, 'CANCELLED').message, cancelled.payment.code)
      t.match(event(answers, expired.id, 'EXPIRED_UNPAID').message, '2026-12-02 00:00:00')
      t.match(event(answers, expired.id, 'EXPIRED_UNPAID').message, expired.payment.code)
    }
    t.equal(event(zh, expired.id, 'EXPIRED_UNPAID').occurredAt, '2026-12-01T16:00:00.000Z')
  })

  t.test('the expiry reads the same once a sweep has written it', async (t) => {
    const swept = expectStatus('sweep', await app.inject({ method: 'POST', url: '/v1/admin/jobs/expire-unpaid', headers: ctx.auth({ role: 'admin' }) }), 200)
    t.equal(swept.expired, 1, 'only the application past its deadline')
    const [zhAfter, enAfter] = [await progress('zh-CN'), await progress('en')]
    for (const [before, after] of [[zh, zhAfter], [en, enAfter]] as const) {
      const was = event(before, expired.id, 'EXPIRED_UNPAID')
      const now = event(after, expired.id, 'EXPIRED_UNPAID')
      t.match(was.id, /^pending-expiry-/, 'before the sweep: computed from the deadline')
      t.match(now.id, /^\d+$/, 'after the sweep: stored')
      t.same({ ...now, id: '' }, { ...was, id: '' }, 'same type, time, title and message')
    }
    t.same(zhAfter.get(unpaid.id), zh.get(unpaid.id), 'the new day\'s unpaid application is untouched')
  })
})
