// The SMS outbox: queued once per application and kind, sent once however many dispatchers run, retried with back-off.
import { setTimeout as sleep } from 'node:timers/promises'
import { asc, eq } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import t, { type Test } from 'tap'
import { notificationOutbox } from '../../src/db/schema.js'
import { createLogSmsSender, DEFAULT_MAX_ATTEMPTS, dispatchOutbox, queueSms, retryDelayMs, type DispatchOptions, type SmsSender } from '../../src/notifications/outbox.js'
import { buildTestApp } from '../helper.js'
import { applyBody, createStation, notify, paymentFor, registerHolder, submit } from '../fixtures.js'

interface Sent { phone: string; message: string }

/** A sender that records what it is asked to send; `fail` decides per call whether it throws. */
function recordingSender (options: { delayMs?: number; fail?: (call: number) => unknown } = {}): SmsSender & { calls: Sent[] } {
  const calls: Sent[] = []
  return {
    calls,
    async send (phone, message) {
      calls.push({ phone, message })
      if (options.delayMs !== undefined) await sleep(options.delayMs)
      const failure = options.fail?.(calls.length)
      if (failure !== undefined) throw failure
    }
  }
}

const phoneOf = (seq: number) => `138${String(seq).padStart(8, '0')}`

async function setup (t: Test) {
  const ctx = await buildTestApp(t)
  const { app, database: { db } } = ctx
  const stationId = await createStation(ctx, { name: '白云区退役军人服务站', address: '白云大道9号' })
  const warnings: unknown[][] = []
  const log = { warn: (...args: unknown[]) => { warnings.push(args) } } as unknown as Pick<FastifyBaseLogger, 'warn'>
  const dispatch = (sender: SmsSender, options?: DispatchOptions) =>
    dispatchOutbox(db, { sender, pii: app.pii, now: () => ctx.clock.now(), log }, options)
  const bureau = () => ctx.auth({ role: 'bureau_staff' })

  const move = async (id: string, to: string) => {
    const etag = (await app.inject({ method: 'GET', url: `/v1/applications/${id}`, headers: bureau() })).headers.etag as string
    const res = await app.inject({ method: 'POST', url: `/v1/applications/${id}/stage`, headers: { ...bureau(), 'if-match': etag }, payload: { to } })
    if (res.statusCode !== 200) throw new Error(`move: ${res.statusCode} ${res.body}`)
  }
  /** A holder applies and pays; the bureau moves the application to READY_FOR_PICKUP unless told to stop at PAID. */
  const application = async (seq: number, options: { ready?: boolean } = {}): Promise<{ id: string; phone: string }> => {
    const holder = await registerHolder(ctx, seq)
    const created = await submit(ctx, holder, applyBody(stationId))
    if (created.statusCode !== 201) throw new Error(`apply: ${created.statusCode} ${created.body}`)
    const { id, payment } = created.json()
    const paid = await notify(ctx, paymentFor(payment.code, ctx.clock.now()))
    if (paid.json().outcome !== 'RECORDED') throw new Error(`pay: ${paid.body}`)
    if (options.ready !== false) {
      await move(id, 'IN_PRODUCTION')
      await move(id, 'READY_FOR_PICKUP')
    }
    return { id, phone: phoneOf(seq) }
  }
  const rows = () => db.select().from(notificationOutbox).orderBy(asc(notificationOutbox.id))
  const rowOf = async (applicationId: string) => (await db.select().from(notificationOutbox).where(eq(notificationOutbox.applicationId, applicationId)))[0]!
  return { ctx, app, db, stationId, dispatch, application, rows, rowOf, warnings }
}

t.test('two dispatchers at once send each message exactly once', async (t) => {
  const s = await setup(t)
  const ready = []
  for (let i = 1; i <= 6; i++) ready.push(await s.application(i))
  t.equal((await s.rows()).length, 6, 'one row per READY_FOR_PICKUP')
  t.ok((await s.rows()).every((r) => r.status === 'PENDING' && r.attempts === 0))

  const a = recordingSender({ delayMs: 5 })
  const b = recordingSender({ delayMs: 5 })
  s.ctx.clock.advance(1000)
  const handled = await Promise.all([s.dispatch(a), s.dispatch(b)])
  t.equal(handled[0] + handled[1], 6, 'six handled in total')

  const all = [...a.calls, ...b.calls]
  t.equal(all.length, 6, 'six sends in total')
  t.same(all.map((c) => c.phone).sort(), ready.map((r) => r.phone).sort(), 'each holder once, by their decrypted phone')
  const stored = await s.rows()
  t.same(all.map((c) => c.message).sort(), stored.map((r) => r.message).sort(), 'each queued message sent once')
  for (const r of ready) {
    const row = await s.rowOf(r.id)
    const call = all.filter((c) => c.phone === r.phone)
    t.equal(call.length, 1)
    t.equal(call[0]!.message, row.message, 'the phone goes with its own application\'s message')
    t.match(row.message, /白云区退役军人服务站.*白云大道9号/)
    t.match(row, { status: 'SENT', attempts: 1, lastError: null, gaveUpAt: null })
    t.equal(row.sentAt?.toISOString(), s.ctx.clock.now().toISOString(), 'sent_at set')
  }

  s.ctx.clock.advance(24 * 60 * 60 * 1000)
  const later = recordingSender()
  t.equal(await s.dispatch(later), 0, 'a later run handles nothing')
  t.equal(later.calls.length, 0, 'and sends nothing')
})

t.test('a run handles at most a batch, and only what is due', async (t) => {
  const s = await setup(t)
  for (let i = 20; i < 23; i++) await s.application(i)
  const sender = recordingSender()
  t.equal(await s.dispatch(sender, { batchSize: 2 }), 2)
  t.equal(sender.calls.length, 2)
  t.equal((await s.rows()).filter((r) => r.status === 'PENDING').length, 1)
  t.equal(await s.dispatch(sender, { batchSize: 2 }), 1)
  t.equal(sender.calls.length, 3)
  t.equal(await s.dispatch(sender), 0)

  // A message queued for later is not sent before its time.
  const { id } = await s.application(30, { ready: false })
  const later = new Date(s.ctx.clock.now().getTime() + 60_000)
  await s.db.transaction((tx) => queueSms(tx, s.app.pii, { applicationId: id, kind: 'READY_FOR_PICKUP', phone: phoneOf(30), message: 'later' }, later))
  t.equal(await s.dispatch(sender), 0, 'not due yet')
  s.ctx.clock.advance(60_000)
  t.equal(await s.dispatch(sender), 1, 'due now')
  t.same(sender.calls.at(-1), { phone: phoneOf(30), message: 'later' })
})

t.test('queuing the same kind twice for one application leaves one row', async (t) => {
  const s = await setup(t)
  const { id } = await s.application(40, { ready: false })
  const now = s.ctx.clock.now()
  await s.db.transaction(async (tx) => {
    await queueSms(tx, s.app.pii, { applicationId: id, kind: 'READY_FOR_PICKUP', phone: phoneOf(40), message: 'first' }, now)
    await queueSms(tx, s.app.pii, { applicationId: id, kind: 'READY_FOR_PICKUP', phone: phoneOf(40), message: 'second' }, now)
  })
  let rows = await s.rows()
  t.equal(rows.length, 1)
  t.equal(rows[0]!.message, 'first', 'the first one is kept')
  t.equal(s.app.pii.decrypt(rows[0]!.recipientEnc), phoneOf(40))
  t.not(rows[0]!.recipientEnc, phoneOf(40))

  // Nor does a later transaction add one, even after the first was sent.
  const sender = recordingSender()
  t.equal(await s.dispatch(sender), 1)
  await s.db.transaction((tx) => queueSms(tx, s.app.pii, { applicationId: id, kind: 'READY_FOR_PICKUP', phone: phoneOf(40), message: 'third' }, s.ctx.clock.now()))
  rows = await s.rows()
  t.equal(rows.length, 1)
  t.equal(rows[0]!.status, 'SENT', 'the sent row is left alone')
  t.equal(await s.dispatch(sender), 0)
  t.equal(sender.calls.length, 1)
})

t.test('a failing sender is retried with back-off, then given up', async (t) => {
  const s = await setup(t)
  const { id, phone } = await s.application(50)
  const start = s.ctx.clock.now().getTime()
  const sender = recordingSender({ fail: () => new Error('gateway down') })
  const options = { maxAttempts: 3, baseDelayMs: 1000 }

  t.equal(await s.dispatch(sender, options), 1)
  let row = await s.rowOf(id)
  t.match(row, { status: 'PENDING', attempts: 1, lastError: 'gateway down', sentAt: null, gaveUpAt: null })
  t.equal(row.nextAttemptAt.getTime(), start + 1000, 'next attempt after the base delay')
  t.same(sender.calls, [{ phone, message: row.message }])

  s.ctx.clock.advance(999)
  t.equal(await s.dispatch(sender, options), 0, 'nothing before next_attempt_at')
  t.equal(sender.calls.length, 1)

  s.ctx.clock.advance(1)
  t.equal(await s.dispatch(sender, options), 1, 'retried at next_attempt_at')
  t.equal(sender.calls.length, 2)
  row = await s.rowOf(id)
  t.match(row, { status: 'PENDING', attempts: 2 })
  t.equal(row.nextAttemptAt.getTime(), start + 1000 + 2000, 'the delay doubles')
  t.equal(s.warnings.length, 0, 'no warning while retrying')

  s.ctx.clock.advance(1999)
  t.equal(await s.dispatch(sender, options), 0)
  s.ctx.clock.advance(1)
  t.equal(await s.dispatch(sender, options), 1)
  t.equal(sender.calls.length, 3)
  row = await s.rowOf(id)
  t.match(row, { status: 'FAILED', attempts: 3, lastError: 'gateway down', sentAt: null })
  t.equal(row.gaveUpAt?.toISOString(), s.ctx.clock.now().toISOString(), 'gave_up_at set')
  t.equal(s.warnings.length, 1, 'giving up is logged')
  t.notOk(JSON.stringify(s.warnings).includes(phone), 'without the phone')

  s.ctx.clock.advance(7 * 24 * 60 * 60 * 1000)
  t.equal(await s.dispatch(sender, options), 0, 'a failed row is not retried again')
  t.equal(sender.calls.length, 3)
  t.equal((await s.rowOf(id)).status, 'FAILED')
})

t.test('a sender that recovers: sent on the retry, the error cleared', async (t) => {
  const s = await setup(t)
  const { id } = await s.application(60)
  const sender = recordingSender({ fail: (call) => call === 1 ? 'not an Error' : undefined })
  t.equal(await s.dispatch(sender), 1)
  let row = await s.rowOf(id)
  t.match(row, { status: 'PENDING', attempts: 1, lastError: 'send failed' }, 'a thrown non-Error is recorded generically')
  t.equal(row.nextAttemptAt.getTime() - s.ctx.clock.now().getTime(), 30_000, 'the default base delay is 30 s')
  s.ctx.clock.advance(30_000)
  t.equal(await s.dispatch(sender), 1)
  row = await s.rowOf(id)
  t.match(row, { status: 'SENT', attempts: 2, lastError: null })
  t.equal(row.sentAt?.toISOString(), s.ctx.clock.now().toISOString())
})

t.test('by default a message is given up after five attempts, and long errors are cut', async (t) => {
  const s = await setup(t)
  const { id } = await s.application(70)
  const sender = recordingSender({ fail: () => new Error('x'.repeat(2000)) })
  t.equal(DEFAULT_MAX_ATTEMPTS, 5)
  for (let attempt = 1; attempt <= 5; attempt++) {
    t.equal(await s.dispatch(sender), 1, `attempt ${attempt}`)
    const row = await s.rowOf(id)
    t.equal(row.attempts, attempt)
    t.equal(row.lastError?.length, 500, 'the error is cut to 500 characters')
    t.equal(row.status, attempt < 5 ? 'PENDING' : 'FAILED')
    s.ctx.clock.advance(retryDelayMs(attempt, 30_000))
  }
  t.equal(await s.dispatch(sender), 0)
  t.equal(sender.calls.length, 5)
})

t.test('retryDelayMs doubles from the base and caps at an hour', async (t) => {
  t.equal(retryDelayMs(1, 30_000), 30_000)
  t.equal(retryDelayMs(2, 30_000), 60_000)
  t.equal(retryDelayMs(3, 30_000), 120_000)
  t.equal(retryDelayMs(7, 30_000), 1_920_000)
  t.equal(retryDelayMs(8, 30_000), 3_600_000, '3,840,000 capped')
  t.equal(retryDelayMs(50, 30_000), 3_600_000)
  t.equal(retryDelayMs(0, 30_000), 30_000, 'never below the base')
  t.equal(retryDelayMs(1, 5_000_000), 3_600_000, 'the cap applies to the base too')
  for (let n = 1; n < 20; n++) {
    const a = retryDelayMs(n, 1000)
    const b = retryDelayMs(n + 1, 1000)
    t.ok(b === Math.min(2 * a, 3_600_000), `attempt ${n + 1} doubles attempt ${n} up to the cap`)
  }
})

t.test('the development sender logs the message, never the phone', async (t) => {
  const calls: unknown[][] = []
  const log = { info: (...args: unknown[]) => { calls.push(args) } } as unknown as Pick<FastifyBaseLogger, 'info'>
  const sender = createLogSmsSender(log)
  await sender.send('13912345678', '【优抚卡】您的优抚卡已制作完成')
  t.equal(calls.length, 1)
  const logged = JSON.stringify(calls)
  t.match(logged, '【优抚卡】您的优抚卡已制作完成')
  t.notOk(logged.includes('13912345678'), 'no phone number')
  t.notOk(logged.includes('5678'), 'not even its tail')

  // Through the dispatcher, with a real row.
  const s = await setup(t)
  const { id, phone } = await s.application(80)
  t.equal(await s.dispatch(createLogSmsSender(log)), 1)
  t.equal(calls.length, 2)
  const row = await s.rowOf(id)
  t.equal(row.status, 'SENT')
  t.match(JSON.stringify(calls[1]), row.message.slice(0, 20))
  t.notOk(JSON.stringify(calls).includes(phone))
})
