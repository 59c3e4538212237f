// GET /v1/reconciliation: one Asia/Shanghai business day of codes, payments and anomalies, built so every bucket is known.
import t, { type Test } from 'tap'
import { composePaymentCode } from '../../src/domain/payment-code.js'
import { ManualClock } from '../../src/shared/clock.js'
import { buildTestApp, PROBLEM_JSON, type TestContext } from '../helper.js'
import { applyBody, createStation, notify, paymentFor, registerHolder, submit } from '../fixtures.js'

interface Amount { count: number; amountFen: number }
interface Item { notificationId: string; paymentCode: string; amountFen: number; paidAt: string; receivedAt: string; platformTransactionId: string; reason: string }

const amount = (count: number, amountFen: number): Amount => ({ count, amountFen })
const ZERO = amount(0, 0)

function report (date: string, figures: {
  issued?: Amount; outcome?: Partial<Record<'paid' | 'expired' | 'cancelled' | 'pending', Amount>>; paid?: Amount; expired?: Amount; items?: Item[]
}) {
  const items = figures.items ?? []
  const refundDueFen = items.reduce((sum, i) => sum + i.amountFen, 0)
  const appliedFen = (figures.paid ?? ZERO).amountFen
  return {
    date,
    issued: figures.issued ?? ZERO,
    issuedOutcome: { paid: ZERO, expired: ZERO, cancelled: ZERO, pending: ZERO, ...figures.outcome },
    paid: figures.paid ?? ZERO,
    expired: figures.expired ?? ZERO,
    anomalies: { count: items.length, amountFen: refundDueFen, items },
    totals: { receivedFen: appliedFen + refundDueFen, appliedFen, refundDueFen }
  }
}

/** An unknown but well-formed payment code. */
function unknownCode (sequence: number): string {
  for (let s = sequence; ; s++) {
    const code = composePaymentCode('440100', '26', s)
    if (code !== null) return code
  }
}

async function setup (t: Test, start: string) {
  const clock = new ManualClock(start)
  const ctx = await buildTestApp(t, { clock })
  const stationId = await createStation(ctx)
  let seq = 1
  const apply = async () => {
    const holder = await registerHolder(ctx, seq++)
    const res = await submit(ctx, holder, applyBody(stationId))
    if (res.statusCode !== 201) throw new Error(`apply: ${res.statusCode} ${res.body}`)
    return { id: res.json().id as string, code: res.json().payment.code as string, holder }
  }
  const get = (date: string, headers = ctx.auth({ role: 'bureau_staff' })) =>
    ctx.app.inject({ method: 'GET', url: `/v1/reconciliation?date=${encodeURIComponent(date)}`, headers })
  return { ctx, clock, stationId, apply, get }
}

/** Delivers a signed notification and checks what was made of it; answers the anomaly item it should produce. */
async function deliver (t: Test, ctx: TestContext, body: ReturnType<typeof paymentFor>, outcome: string, anomaly: string | null = null): Promise<Item> {
  const res = await notify(ctx, body)
  t.equal(res.statusCode, 200, `${body.notificationId} acknowledged`)
  t.match(res.json(), { outcome, anomaly }, `${body.notificationId}: ${outcome} ${anomaly ?? ''}`)
  return {
    notificationId: body.notificationId, paymentCode: body.paymentCode, amountFen: body.amountFen as number,
    paidAt: new Date(body.paidAt).toISOString(), receivedAt: ctx.clock.now().toISOString(), platformTransactionId: body.platformTransactionId, reason: anomaly ?? ''
  }
}

t.test('one business day: codes issued and what became of them, payments, expiries and anomalies', async (t) => {
  const { ctx, clock, get, apply } = await setup(t, '2026-11-30T02:00:00Z')
  const at = (instant: string) => { clock.set(instant); return clock.now() }

  // 30 November (Shanghai): a code issued and never paid in time.
  const lateOne = await apply()

  // 1 December, 10:00 Shanghai: five codes.
  at('2026-12-01T02:00:00Z')
  const paid1 = await apply()
  const paid2 = await apply()
  const expiring = await apply()
  const cancelled = await apply()
  const paidLate = await apply()
  t.equal((await ctx.app.inject({ method: 'POST', url: `/v1/applications/${cancelled.id}/cancel`, headers: cancelled.holder.headers })).statusCode, 200)

  at('2026-12-01T03:00:00Z')
  const first = paymentFor(paid1.code, clock.now())
  await deliver(t, ctx, first, 'RECORDED')
  // The same notification again, and again concurrently, and under another notification id: one payment.
  await deliver(t, ctx, first, 'DUPLICATE')
  const copies = await Promise.all([notify(ctx, first), notify(ctx, first)])
  t.same(copies.map((c) => c.json().outcome), ['DUPLICATE', 'DUPLICATE'])
  await deliver(t, ctx, { ...first, notificationId: 'resent-under-another-id' }, 'DUPLICATE')
  await deliver(t, ctx, paymentFor(paid2.code, clock.now()), 'RECORDED')

  // Anomalies, paid on 1 December: each is a refund.
  const items: Item[] = []
  at('2026-12-01T04:00:00Z')
  items.push(await deliver(t, ctx, paymentFor(expiring.code, clock.now(), { notificationId: 'n-wrong-amount', amountFen: 1999, platformTransactionId: 'txn-wrong' }), 'ANOMALY', 'AMOUNT_MISMATCH'))
  at('2026-12-01T05:00:00Z')
  const unknown = unknownCode(99_999_000_000)
  items.push(await deliver(t, ctx, paymentFor(unknown, clock.now(), { notificationId: 'n-unknown', platformTransactionId: 'txn-unknown' }), 'ANOMALY', 'UNKNOWN_CODE'))
  at('2026-12-01T06:00:00Z')
  items.push(await deliver(t, ctx, paymentFor(lateOne.code, clock.now(), { notificationId: 'n-after-deadline' }), 'ANOMALY', 'PAID_AFTER_DEADLINE'))
  at('2026-12-01T07:00:00Z')
  items.push(await deliver(t, ctx, paymentFor(cancelled.code, clock.now(), { notificationId: 'n-cancelled' }), 'ANOMALY', 'APPLICATION_CLOSED'))
  at('2026-12-01T08:00:00Z')
  items.push(await deliver(t, ctx, paymentFor(paid2.code, clock.now(), { notificationId: 'n-paid-twice', platformTransactionId: 'txn-paid2-again' }), 'ANOMALY', 'ALREADY_PAID'))
  // Duplicates of an applied payment after the anomalies still do not count.
  await deliver(t, ctx, first, 'DUPLICATE')

  // 22:00 Shanghai, before the deadline: two codes are still payable, none has expired.
  at('2026-12-01T14:00:00Z')
  const evening = report('2026-12-01', {
    issued: amount(5, 10000),
    outcome: { paid: amount(2, 4000), cancelled: amount(1, 2000), pending: amount(2, 4000) },
    paid: amount(2, 4000),
    items
  })
  for (const headers of [ctx.auth({ role: 'bureau_staff' }), ctx.auth({ role: 'admin' })]) {
    const res = await get('2026-12-01', headers)
    t.equal(res.statusCode, 200)
    t.same(res.json(), evening, 'the day so far')
  }

  // 2 December, 10:00 Shanghai. A payment made at 23:30 on 1 December arrives late: it counts for 1 December.
  at('2026-12-02T02:00:00Z')
  await deliver(t, ctx, paymentFor(paidLate.code, new Date('2026-12-01T15:30:00Z'), { notificationId: 'n-late-arrival' }), 'RECORDED')
  // 2 December's own business: one code still payable, one anomaly.
  await apply()
  at('2026-12-02T02:30:00Z')
  const nextDayItem = await deliver(t, ctx, paymentFor(unknownCode(99_999_100_000), clock.now(), { notificationId: 'n-unknown-2', amountFen: 500, platformTransactionId: 'txn-unknown-2' }), 'ANOMALY', 'UNKNOWN_CODE')

  const december1 = report('2026-12-01', {
    issued: amount(5, 10000),
    outcome: { paid: amount(3, 6000), expired: amount(1, 2000), cancelled: amount(1, 2000) },
    paid: amount(3, 6000),
    expired: amount(1, 2000),
    items
  })
  const november30 = report('2026-11-30', { issued: amount(1, 2000), outcome: { expired: amount(1, 2000) }, expired: amount(1, 2000) })
  const december2 = report('2026-12-02', { issued: amount(1, 2000), outcome: { pending: amount(1, 2000) }, items: [nextDayItem] })
  const check = async (label: string) => {
    for (const headers of [ctx.auth({ role: 'bureau_staff' }), ctx.auth({ role: 'admin' })]) {
      const day = await get('2026-12-01', headers)
      t.equal(day.statusCode, 200)
      t.same(day.json(), december1, `1 December, ${label}`)
    }
    t.same((await get('2026-11-30')).json(), november30, `30 November, ${label}: the code that expired at its end`)
    t.same((await get('2026-12-02')).json(), december2, `2 December, ${label}`)
    for (const other of ['2026-11-29', '2026-12-03', '2025-12-01']) t.same((await get(other)).json(), report(other, {}), `${other} is all zeros`)
  }
  await check('before any sweep')
  const body = december1
  t.equal(body.totals.receivedFen, 15999, 'received = 6000 applied + 9999 to refund')
  t.equal(body.issued.count, body.issuedOutcome.paid.count + body.issuedOutcome.expired.count + body.issuedOutcome.cancelled.count + body.issuedOutcome.pending.count)

  // The sweep writes down what readers already saw: the figures do not move.
  const swept = await ctx.app.inject({ method: 'POST', url: '/v1/admin/jobs/expire-unpaid', headers: ctx.auth({ role: 'admin' }) })
  t.equal(swept.statusCode, 200)
  t.equal(swept.json().expired, 2, 'the 30 November and the 1 December unpaid codes')
  await check('after the sweep')
})

t.test('a redelivered anomaly is one refund, not two', async (t) => {
  const { ctx, get } = await setup(t, '2026-12-01T02:00:00Z')
  const body = paymentFor(unknownCode(99_999_200_000), ctx.clock.now(), { notificationId: 'n-unknown-again' })
  await deliver(t, ctx, body, 'ANOMALY', 'UNKNOWN_CODE')
  const copies = await Promise.all([notify(ctx, body), notify(ctx, body), notify(ctx, body)])
  for (const again of copies) {
    t.equal(again.statusCode, 200)
    t.match(again.json(), { outcome: 'DUPLICATE', anomaly: 'UNKNOWN_CODE', refundRequired: true }, 'a redelivery answers what the first was told')
  }
  const res = (await get('2026-12-01')).json()
  t.equal(res.anomalies.count, 1, 'one anomaly')
  t.equal(res.totals.refundDueFen, 2000, 'one refund')
  t.equal(res.totals.receivedFen, 2000, 'the platform received the money once')
})

t.test('bad dates and wrong roles are refused', async (t) => {
  const { ctx, get } = await setup(t, '2026-12-01T02:00:00Z')
  for (const date of ['2026-02-30', '2025-02-29', 'yesterday', '2026-1-01', '2026-12-01T00:00:00Z', '20261201', '2026-13-01', '']) {
    const res = await get(date)
    t.equal(res.statusCode, 400, `date=${date}`)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.ok(res.json().errors.some((e: { pointer: string }) => e.pointer === '/date'), `${date}: the date is named`)
  }
  const missing = await ctx.app.inject({ method: 'GET', url: '/v1/reconciliation', headers: ctx.auth({ role: 'bureau_staff' }) })
  t.equal(missing.statusCode, 400, 'the date is required')

  const stationId = await createStation(ctx)
  const holder = await registerHolder(ctx, 1)
  for (const headers of [holder.headers, ctx.auth({ role: 'station_staff', stationId })]) {
    const res = await get('2026-12-01', headers)
    t.equal(res.statusCode, 403)
    t.match(res.headers['content-type'], PROBLEM_JSON)
  }
  t.equal((await ctx.app.inject({ method: 'GET', url: '/v1/reconciliation?date=2026-12-01' })).statusCode, 401)
  t.equal((await get('2024-02-29')).statusCode, 200, 'a real leap day is a date')
})
