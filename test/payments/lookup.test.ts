// GET /v1/payments/{code}: what a code is for, without personal data; status over time; malformed codes; rate limit.
import { eq } from 'drizzle-orm'
import t from 'tap'
import { payments } from '../../src/db/schema.js'
import { composePaymentCode } from '../../src/domain/payment-code.js'
import { signPayload } from '../../src/payments/signature.js'
import { buildTestApp, PROBLEM_JSON, residentIdentity, type TestContext } from '../helper.js'
import { createStation, jpegBytes } from '../fixtures.js'

const START = '2026-12-01T02:00:00Z'
const PHONE = '13912345678'
const NAME = '欧阳明'

/** Registers a holder and applies for a lost-card replacement as them. */
async function newApplication (ctx: TestContext, stationId: string, seq: number) {
  const identity = residentIdentity(seq, NAME)
  const registered = await ctx.app.inject({
    method: 'POST', url: '/v1/holders', headers: ctx.auth({ role: 'bureau_staff' }),
    payload: { identity, phone: PHONE, card: { cardNumber: 'A12345678', issuedAt: '2025-06-30', photoJpegBase64: jpegBytes(358, 441).toString('base64') } }
  })
  if (registered.statusCode !== 201) throw new Error(`holder not registered: ${registered.statusCode} ${registered.body}`)
  const res = await ctx.app.inject({
    method: 'POST', url: '/v1/applications', headers: ctx.auth({ role: 'citizen', identity }),
    payload: { type: 'LOST', pickupStationId: stationId, oldCardConfirmed: true, photo: { source: 'CARD' } }
  })
  if (res.statusCode !== 201) throw new Error(`application not created: ${res.statusCode} ${res.body}`)
  const body = res.json()
  return { id: body.id as string, code: body.payment.code as string, expiresAt: body.payment.expiresAt as string, identity }
}

/** Pays a code through a signed notification, as the platform would. */
async function pay (ctx: TestContext, code: string, paidAt: string) {
  const rawBody = JSON.stringify({ notificationId: `ntf-${code}`, paymentCode: code, amountFen: 2000, paidAt, platformTransactionId: `tx-${code}` })
  const signature = signPayload(ctx.config.paymentWebhookSecret, Math.floor(ctx.clock.now().getTime() / 1000), rawBody)
  const res = await ctx.app.inject({
    method: 'POST', url: '/v1/payment-notifications',
    headers: { 'content-type': 'application/json', 'x-payment-signature': signature }, payload: rawBody
  })
  if (res.statusCode !== 200 || res.json().outcome !== 'RECORDED') throw new Error(`payment not recorded: ${res.statusCode} ${res.body}`)
}

t.test('payment code look-up', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, clock } = ctx
  const db = ctx.database.db
  const stationId = await createStation(ctx)
  let nextSeq = 1
  const lookUp = (code: string, remoteAddress?: string) =>
    app.inject({ method: 'GET', url: `/v1/payments/${code}`, ...(remoteAddress === undefined ? {} : { remoteAddress }) })

  t.test('anyone can see what a code is for, without personal data', async (t) => {
    const a = await newApplication(ctx, stationId, nextSeq++)
    const res = await lookUp(a.code)
    t.equal(res.statusCode, 200, 'no token needed')
    const body = res.json()
    t.same(Object.keys(body).sort(), ['amountFen', 'code', 'currency', 'expiresAt', 'paidAt', 'payee', 'purpose', 'status'])
    t.match(body, { code: a.code, amountFen: 2000, currency: 'CNY', status: 'PENDING', paidAt: null })
    t.equal(body.expiresAt, '2026-12-01T16:00:00.000Z', 'the deadline is midnight in Shanghai')
    t.equal(body.expiresAt, a.expiresAt)
    t.match(body.purpose, /遗失补卡/)
    t.type(body.payee, 'string')
    t.ok(body.payee.length > 0, 'a payee is named')
    t.notOk(res.body.includes(a.identity.idNumber), 'no ID number')
    t.notOk(res.body.includes(a.identity.idNumber.slice(-4)), 'not even its last digits')
    t.notOk(res.body.includes(NAME), 'no name')
    t.notOk(res.body.includes(`${NAME[0]}*`), 'not even a masked name')
    t.notOk(res.body.includes(PHONE), 'no phone')
    t.notOk(res.body.includes(PHONE.slice(-4)), 'not even the phone\'s last digits')
    t.notOk(res.body.includes(a.id), 'nor the application id')
  })

  t.test('after payment the status is PAID with the time paid', async (t) => {
    const a = await newApplication(ctx, stationId, nextSeq++)
    await pay(ctx, a.code, '2026-12-01T03:00:00Z')
    const res = await lookUp(a.code)
    t.equal(res.statusCode, 200)
    t.match(res.json(), { code: a.code, status: 'PAID', paidAt: '2026-12-01T03:00:00.000Z', amountFen: 2000 })

    // A paid code stays paid after its deadline.
    clock.set('2026-12-02T01:00:00Z')
    t.teardown(() => clock.set(START))
    t.match((await lookUp(a.code)).json(), { status: 'PAID', paidAt: '2026-12-01T03:00:00.000Z' })
  })

  t.test('after the deadline an unpaid code reads EXPIRED even before any sweep', async (t) => {
    const a = await newApplication(ctx, stationId, nextSeq++)
    t.equal((await lookUp(a.code)).json().status, 'PENDING')
    clock.set('2026-12-01T15:59:59Z')
    t.teardown(() => clock.set(START))
    t.equal((await lookUp(a.code)).json().status, 'PENDING', 'one second before the deadline it is still payable')
    clock.set('2026-12-01T16:00:00Z')
    const res = await lookUp(a.code)
    t.equal(res.statusCode, 200)
    t.match(res.json(), { status: 'EXPIRED', paidAt: null, expiresAt: '2026-12-01T16:00:00.000Z' })
    const [row] = await db.select().from(payments).where(eq(payments.code, a.code))
    t.equal(row?.status, 'PENDING', 'no sweep has run: the stored status is still PENDING')
  })

  t.test('malformed codes are 400 on the path', async (t) => {
    const a = await newApplication(ctx, stationId, nextSeq++)
    const last = Number(a.code.slice(-1))
    const wrongCheck = a.code.slice(0, -1) + String((last + 1) % 10)
    const cases: Array<[string, string]> = [
      ['19 digits', a.code.slice(0, 19)],
      ['21 digits', `${a.code}0`],
      ['letters', 'ABCDEFGHIJKLMNOPQRST'],
      ['a letter among digits', `${a.code.slice(0, 10)}A${a.code.slice(11)}`],
      ['wrong check digit', wrongCheck],
      ['the seed\'s invalid example', '44010024000012155183']
    ]
    for (const [label, code] of cases) {
      const res = await lookUp(code)
      t.equal(res.statusCode, 400, `${label}: 400`)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      const body = res.json()
      t.equal(body.code, 'VALIDATION_FAILED', `${label}: VALIDATION_FAILED`)
      t.equal(body.errors[0].in, 'path', `${label}: the path is at fault`)
      t.equal(body.errors[0].pointer, '/code')
    }
    t.match((await lookUp(wrongCheck)).json().errors[0].message, /check digit/, 'a wrong check digit says so')
  })

  t.test('an unknown valid code is 404 PAYMENT_CODE_NOT_FOUND', async (t) => {
    let sequence = 99_999_999_000n
    let code = composePaymentCode('440100', '26', sequence)
    while (code === null) code = composePaymentCode('440100', '26', ++sequence)
    const res = await lookUp(code)
    t.equal(res.statusCode, 404)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().code, 'PAYMENT_CODE_NOT_FOUND')
    // The seed's valid example is well-formed too, and unknown here.
    const seed = await lookUp('44010024000012155182')
    t.equal(seed.statusCode, 404)
    t.equal(seed.json().code, 'PAYMENT_CODE_NOT_FOUND')
  })

  t.test('more than 60 look-ups a minute from one client are 429 with Retry-After', async (t) => {
    const a = await newApplication(ctx, stationId, nextSeq++)
    const client = '203.0.113.7'
    const statuses: number[] = []
    for (let i = 0; i < 60; i++) statuses.push((await lookUp(a.code, client)).statusCode)
    t.same(statuses, Array(60).fill(200), 'the first 60 are answered')
    const limited = await lookUp(a.code, client)
    t.equal(limited.statusCode, 429)
    t.match(limited.headers['content-type'], PROBLEM_JSON)
    t.equal(limited.json().code, 'RATE_LIMITED')
    t.match(limited.headers['retry-after'], /^[1-9][0-9]*$/, 'Retry-After in whole seconds')
    t.ok(Number(limited.headers['retry-after']) <= 60, 'within the window')
    t.equal(limited.json().status, 429, 'a problem, not the payment')
    t.notOk('amountFen' in limited.json(), 'the payment is not answered')
    const other = await lookUp(a.code, '203.0.113.8')
    t.equal(other.statusCode, 200, 'another client is not limited')
    const invalid = await lookUp('123', client)
    t.equal(invalid.statusCode, 429, 'the limit applies whatever the code')
  })
})
