// POST /v1/progress-queries (制卡进度查询, attachment 2): who may ask about whom, what the answer holds, what it never
// reveals (whether a person exists, the ID number in URLs, logs, problems or audit rows), expiry and rate limits.
import { Writable } from 'node:stream'
import { and, eq } from 'drizzle-orm'
import { createSigner } from 'fast-jwt'
import { pino } from 'pino'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { createTokenMinter } from '../../src/auth/tokens.js'
import { DEV_SECRETS } from '../../src/config.js'
import { applications, auditEvents } from '../../src/db/schema.js'
import { claimsFor, type DevTokenRequest } from '../../src/dev/claims.js'
import { maskIdNumber, maskName } from '../../src/domain/masking.js'
import { ManualClock } from '../../src/shared/clock.js'
import { loggerOptions } from '../../src/shared/logging.js'
import { createPiiCipher } from '../../src/shared/pii.js'
import { buildTestApp, PROBLEM_JSON, residentIdentity, testConfig, testDatabase, type TestContext } from '../helper.js'
import { applyBody, createStation, notify, paymentFor, registerHolder, submit } from '../fixtures.js'

type Identity = ReturnType<typeof residentIdentity>
type Headers = Record<string, string>
interface TimelineEvent { id: string; type: string; occurredAt: string; title: string; message: string }
interface ProgressApplication { id: string; status: string; stage: string; outcome: string | null; timeline: TimelineEvent[]; [key: string]: unknown }
interface Progress { holder: Record<string, string>; applications: ProgressApplication[] }

// Generous limits for the tests that are not about rate limiting.
const ROOMY = { PROGRESS_QUERY_LIMIT_PER_TOKEN: 10_000, PROGRESS_QUERY_LIMIT_PER_IP: 10_000 }

function query (ctx: Pick<TestContext, 'app'>, headers: Headers, payload: unknown, remoteAddress?: string) {
  return ctx.app.inject({
    method: 'POST', url: '/v1/progress-queries', headers, payload: payload as Record<string, unknown>,
    ...(remoteAddress === undefined ? {} : { remoteAddress })
  })
}

/** An identity with the same digits but a wrong MOD 11-2 check character. */
function withWrongCheck (identity: Identity): Identity {
  const last = identity.idNumber.slice(-1)
  return { ...identity, idNumber: identity.idNumber.slice(0, 17) + (last === '1' ? '2' : '1') }
}

async function progressAudits (ctx: TestContext) {
  return ctx.database.db.select().from(auditEvents).where(eq(auditEvents.action, 'PROGRESS_QUERIED'))
}

t.test('a citizen follows their own applications, newest first, each with its whole timeline', async (t) => {
  const ctx = await buildTestApp(t, { config: ROOMY })
  const { app } = ctx
  const stationId = await createStation(ctx, { name: '越秀区退役军人服务站', address: '中山六路2号', phone: '020-83111111' })
  const holder = await registerHolder(ctx, 1, { name: '张三丰' })
  const other = await registerHolder(ctx, 2, { name: '李四光' })
  const othersApplication = await submit(ctx, other, applyBody(stationId))
  t.equal(othersApplication.statusCode, 201)

  const first = (await submit(ctx, holder, applyBody(stationId))).json()
  const cancelled = await app.inject({ method: 'POST', url: `/v1/applications/${first.id}/cancel`, headers: holder.headers })
  t.equal(cancelled.statusCode, 200, 'the first one is cancelled')
  ctx.clock.advance(10 * 60 * 1000)
  const second = (await submit(ctx, holder, applyBody(stationId, { type: 'DAMAGED' }))).json()
  ctx.clock.advance(5 * 60 * 1000)
  const paidAt = ctx.clock.now()
  t.equal((await notify(ctx, paymentFor(second.payment.code, paidAt))).statusCode, 200)

  const res = await query(ctx, holder.headers, holder.identity)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json() as Progress
  t.same(body.holder, {
    countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumberMasked: maskIdNumber(holder.identity.idNumber), nameMasked: '张*丰'
  })
  t.equal(body.holder.idNumberMasked, `44*****${holder.identity.idNumber.slice(-2)}`)
  t.same(body.applications.map((a) => a.id), [second.id, first.id], 'own applications only, newest first')

  t.match(body.applications[0], {
    type: 'DAMAGED', status: 'IN_PROGRESS', stage: 'PAID', outcome: null,
    pickupStation: { id: stationId, name: '越秀区退役军人服务站', address: '中山六路2号', phone: '020-83111111' },
    fee: { amountFen: 2000, currency: 'CNY' },
    payment: { code: second.payment.code, amountFen: 2000, currency: 'CNY', status: 'PAID', paidAt: paidAt.toISOString() }
  })
  t.match(body.applications[1], {
    type: 'LOST', status: 'CLOSED', stage: 'CANCELLED', outcome: 'CANCELLED', payment: { code: first.payment.code, status: 'EXPIRED', paidAt: null }
  })
  t.same(body.applications[0]!.timeline.map((e) => e.type), ['SUBMITTED', 'PAYMENT_RECEIVED'])
  t.same(body.applications[1]!.timeline.map((e) => e.type), ['SUBMITTED', 'CANCELLED'])
  t.match(body.applications[0]!.timeline[1], { title: '已缴费', message: /20\.00元/ })

  // The same view and the same timeline as the application's own endpoints.
  for (const application of body.applications) {
    const { timeline, ...view } = application
    const one = await app.inject({ method: 'GET', url: `/v1/applications/${application.id}`, headers: holder.headers })
    t.same(view, one.json(), 'the application as GET /v1/applications/{id} shows it')
    const events = await app.inject({ method: 'GET', url: `/v1/applications/${application.id}/timeline`, headers: holder.headers })
    t.same(timeline, events.json().events, 'the full timeline')
  }

  t.notOk(res.body.includes(holder.identity.idNumber), 'no plain ID number')
  t.notOk(res.body.includes(holder.identity.name), 'no plain name')
  t.notOk(res.body.includes('13800000001'), 'no phone')
  t.equal((await progressAudits(ctx)).length, 0, 'a citizen asking about themself is not audited')
})

t.test('a citizen may ask only about their own identity', async (t) => {
  const ctx = await buildTestApp(t, { config: ROOMY })
  const holder = await registerHolder(ctx, 1)
  const other = await registerHolder(ctx, 2, { name: '李四光' })
  const stranger = residentIdentity(900, '王五')
  for (const [what, identity] of [['a registered person', other.identity], ['an unregistered person', stranger]] as const) {
    const res = await query(ctx, holder.headers, identity)
    t.equal(res.statusCode, 403, what)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().code, 'NOT_OWN_IDENTITY')
    t.notOk(res.body.includes(identity.idNumber), 'the ID number is not echoed')
  }
  // Someone signed in but not (yet) in the registry may still ask about themself: nothing to show.
  const newcomer = ctx.auth({ role: 'citizen', identity: stranger })
  const own = await query(ctx, newcomer, stranger)
  t.equal(own.statusCode, 200)
  t.same(own.json().applications, [])
  t.equal((await progressAudits(ctx)).length, 0, 'citizen queries are not audited')
})

t.test('station staff, bureau staff and admins ask about anyone; each staff query is audited', async (t) => {
  const ctx = await buildTestApp(t, { config: ROOMY })
  const pickup = await createStation(ctx)
  const elsewhere = await createStation(ctx, { name: '海珠区退役军人服务站', districtCode: '440105' })
  const holder = await registerHolder(ctx, 3)
  const application = (await submit(ctx, holder, applyBody(pickup))).json()
  const unknown = residentIdentity(901, '赵六')

  const askers: Array<[string, DevTokenRequest]> = [
    ['station staff of another station', { role: 'station_staff', stationId: elsewhere, subject: 'staff-haizhu-1' }],
    ['bureau staff', { role: 'bureau_staff', subject: 'bureau-7' }],
    ['admin', { role: 'admin', subject: 'ops-1' }]
  ]
  for (const [who, principal] of askers) {
    const res = await query(ctx, ctx.auth(principal), holder.identity)
    t.equal(res.statusCode, 200, who)
    t.same(res.json().applications.map((a: { id: string }) => a.id), [application.id], `${who} sees the holder's application`)
    const rows = await ctx.database.db.select().from(auditEvents).where(eq(auditEvents.requestId, String(res.headers['x-request-id'])))
    t.equal(rows.length, 1, `${who}: one audit record for the query`)
    t.match(rows[0], {
      action: 'PROGRESS_QUERIED', actorId: 'subject' in principal ? principal.subject : undefined, actorRole: principal.role,
      actorStationId: principal.role === 'station_staff' ? elsewhere : null,
      targetType: 'holder', targetId: holder.id, after: { found: true, applications: 1 }
    })
    t.equal(rows[0]!.occurredAt.toISOString(), ctx.clock.now().toISOString())
  }

  const before = (await progressAudits(ctx)).length
  const notFound = await query(ctx, ctx.auth({ role: 'bureau_staff', subject: 'bureau-7' }), unknown)
  t.equal(notFound.statusCode, 200)
  t.same(notFound.json().applications, [])
  const [row] = await ctx.database.db.select().from(auditEvents).where(eq(auditEvents.requestId, String(notFound.headers['x-request-id'])))
  t.match(row, { action: 'PROGRESS_QUERIED', targetType: 'identity', targetId: /^[0-9a-f]{64}$/, after: { found: false, applications: 0 } })
  t.not(row!.targetId, unknown.idNumber)
  // A stable pseudonym: the same identity always names the same target, another identity another one.
  const targetOf = async (identity: Identity) => {
    const res = await query(ctx, ctx.auth({ role: 'admin' }), identity)
    const [audit] = await ctx.database.db.select().from(auditEvents).where(eq(auditEvents.requestId, String(res.headers['x-request-id'])))
    return audit!.targetId
  }
  t.equal(await targetOf(unknown), row!.targetId)
  t.not(await targetOf(residentIdentity(903, '赵六')), row!.targetId)

  // Citizen queries leave no trace in the audit trail.
  t.equal((await query(ctx, holder.headers, holder.identity)).statusCode, 200)
  t.equal((await progressAudits(ctx)).length, before + 3)

  const all = await ctx.database.db.select().from(auditEvents)
  for (const audit of all) {
    const text = JSON.stringify(audit)
    t.notOk(text.includes(holder.identity.idNumber) || text.includes(unknown.idNumber), `audit ${audit.id} ${audit.action} has no plain ID number`)
  }
})

t.test('no match answers exactly like a registered person without applications', async (t) => {
  const ctx = await buildTestApp(t, { config: ROOMY })
  const stationId = await createStation(ctx)
  const empty = await registerHolder(ctx, 10, { name: '陈一' })
  const busy = await registerHolder(ctx, 11, { name: '林二娘' })
  t.equal((await submit(ctx, busy, applyBody(stationId))).statusCode, 201)
  const unknown = residentIdentity(902, '周大福')
  const bureau = () => ctx.auth({ role: 'bureau_staff' })

  const known = await query(ctx, bureau(), empty.identity)
  const stranger = await query(ctx, bureau(), unknown)
  const wrongName = await query(ctx, bureau(), { ...busy.identity, name: '林二妹' })
  const rightName = await query(ctx, bureau(), busy.identity)
  t.equal(rightName.json().applications.length, 1, 'the holder does have an application')

  const answers = { known, stranger, wrongName }
  for (const [what, res] of Object.entries(answers)) {
    t.equal(res.statusCode, 200, what)
    t.equal(res.headers['content-type'], known.headers['content-type'], `${what}: same content type`)
    const headerNames = (h: Record<string, unknown>) => Object.keys(h).filter((k) => !['date', 'x-request-id', 'content-length'].includes(k)).sort()
    t.same(headerNames(res.headers), headerNames(known.headers), `${what}: same headers`)
    const { holder, ...rest } = res.json()
    t.same(rest, { applications: [] }, `${what}: only an empty list besides the holder`)
    t.same(Object.keys(holder).sort(), Object.keys(known.json().holder).sort(), `${what}: same holder fields`)
  }
  // The holder echoes what was asked, masked; never what the registry holds.
  t.same(stranger.json().holder, { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumberMasked: maskIdNumber(unknown.idNumber), nameMasked: '周*福' })
  t.equal(wrongName.json().holder.nameMasked, maskName('林二妹'))
  t.not(wrongName.json().holder.nameMasked, maskName(busy.identity.name))

  // Timing, loosely: a miss costs about what a hit without applications costs.
  const time = async (identity: Identity) => {
    const headers = bureau()
    const start = process.hrtime.bigint()
    const res = await query(ctx, headers, identity)
    const elapsed = Number(process.hrtime.bigint() - start)
    if (res.statusCode !== 200) throw new Error(`query: ${res.statusCode}`)
    return elapsed
  }
  for (let i = 0; i < 3; i++) { await time(empty.identity); await time(unknown) }
  const knownTimes: number[] = []
  const unknownTimes: number[] = []
  for (let i = 0; i < 10; i++) {
    knownTimes.push(await time(empty.identity))
    unknownTimes.push(await time(residentIdentity(910 + i, '周大福')))
  }
  const median = (values: number[]) => { const s = [...values].sort((a, b) => a - b); return (s[4]! + s[5]!) / 2 }
  const ratio = median(unknownTimes) / median(knownTimes)
  t.ok(ratio < 3 && ratio > 1 / 3, `median unknown / median known = ${ratio.toFixed(2)}`)
})

t.test('malformed identities are 400 and never echoed', async (t) => {
  const ctx = await buildTestApp(t, { config: ROOMY })
  const identity = residentIdentity(20, '黄飞鸿')
  // A number that can be a JSON number: its check character must be a digit.
  const numeric = [20, 21, 22, 23, 24, 25].map((s) => residentIdentity(s, '黄飞鸿')).find((i) => /^\d+$/.test(i.idNumber))!
  const cases: Array<[string, unknown, string[]]> = [
    ['wrong check character', withWrongCheck(identity), ['/idNumber']],
    ['resident ID card outside CHN', { ...identity, countryRegion: 'HKG' }, ['/countryRegion']],
    ['missing fields', { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD' }, ['/idNumber', '/name']],
    ['unknown field', { ...identity, phone: '13800138000' }, ['/phone']],
    ['ID number as a number', { ...numeric, idNumber: Number(numeric.idNumber) }, ['/idNumber']],
    ['unknown document type', { ...identity, idType: 'DRIVING_LICENCE' }, ['/idType']]
  ]
  const before = (await progressAudits(ctx)).length
  for (const [what, payload, pointers] of cases) {
    const res = await query(ctx, ctx.auth({ role: 'bureau_staff' }), payload)
    t.equal(res.statusCode, 400, `${what}: ${res.body}`)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().code, 'VALIDATION_FAILED', what)
    const listed = res.json().errors.map((e: { pointer: string }) => e.pointer)
    for (const p of pointers) t.ok(listed.includes(p), `${what}: ${p} listed in ${JSON.stringify(listed)}`)
    // Not the number, nor its area code and birth date.
    t.notOk(res.body.includes('44010619800101'), `${what}: the ID number is not echoed`)
    t.notOk(res.body.includes('黄飞鸿'), `${what}: the name is not echoed`)
  }
  // A citizen's own malformed number is refused the same way.
  const citizen = ctx.auth({ role: 'citizen', identity })
  const own = await query(ctx, citizen, withWrongCheck(identity))
  t.equal(own.statusCode, 400)
  t.match(own.json().errors, [{ pointer: '/idNumber' }])
  t.equal((await progressAudits(ctx)).length, before, 'refused queries are not audited')
})

t.test('the ID number never travels in a URL and never reaches a log', async (t) => {
  const { database, kind } = await testDatabase(t)
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _encoding, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done() } })
  const logger = pino(loggerOptions('info'), sink)
  const clock = new ManualClock('2026-12-01T02:00:00Z')
  const config = testConfig({ LOG_LEVEL: 'info', PROGRESS_QUERY_LIMIT_PER_TOKEN: 3 })
  const app = await buildApp(config, { database, logger, clock })
  t.teardown(() => app.close())
  const mint = createTokenMinter(config.jwt, clock)
  const pii = createPiiCipher(config.pii)
  const token = (request: DevTokenRequest) => mint(claimsFor(request, pii)).token
  const ctx: TestContext = { app, database, kind, clock, config, token, auth: (request) => ({ authorization: `Bearer ${token(request)}` }) }

  const stationId = await createStation(ctx)
  const holder = await registerHolder(ctx, 30, { name: '欧阳娜娜' })
  t.equal((await submit(ctx, holder, applyBody(stationId))).statusCode, 201)
  const unknown = residentIdentity(930, '司马相如')
  const bureau = (subject: string) => ctx.auth({ role: 'bureau_staff', subject })

  // Not a route: the identity cannot be put in a query string (and a client that tries is not logged with it).
  const params = new URLSearchParams({ countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: holder.identity.idNumber, name: holder.identity.name })
  const get = await app.inject({ method: 'GET', url: `/v1/progress-queries?${params}`, headers: bureau('log-get') })
  t.equal(get.statusCode, 404)
  t.equal(get.json().code, 'ROUTE_NOT_FOUND')
  t.notOk(get.body.includes(holder.identity.idNumber), 'the 404 does not echo the query string')

  const found = await query(ctx, bureau('log-found'), holder.identity)
  t.equal(found.statusCode, 200)
  t.equal(found.json().applications.length, 1)
  t.equal((await query(ctx, bureau('log-unknown'), unknown)).statusCode, 200)
  t.equal((await query(ctx, holder.headers, holder.identity)).statusCode, 200)
  t.equal((await query(ctx, holder.headers, unknown)).statusCode, 403)
  t.equal((await query(ctx, bureau('log-malformed'), withWrongCheck(holder.identity))).statusCode, 400)
  t.equal((await query(ctx, bureau('log-malformed'), { ...unknown, extra: unknown.idNumber })).statusCode, 400)
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await query(ctx, bureau('log-limited'), holder.identity)).statusCode)
  t.same(statuses, [200, 200, 200, 429])

  const text = lines.join('\n')
  t.ok(lines.some((l) => JSON.parse(l).req?.url === '/v1/progress-queries'), 'the progress requests were logged')
  t.ok(lines.some((l) => JSON.parse(l).code === 'RATE_LIMITED'), 'the refusals were logged')
  for (const secret of [holder.identity.idNumber, unknown.idNumber, withWrongCheck(holder.identity).idNumber, holder.identity.name, unknown.name]) {
    t.notOk(text.includes(secret), `the log never contains ${maskIdNumber(secret)}`)
  }
  t.notOk(text.includes('44010619800101'), 'not even the area code and birth date')
})

t.test('no GET form of the query, not even with the ID number in the path', async (t) => {
  const ctx = await buildTestApp(t, { config: ROOMY })
  const identity = residentIdentity(31)
  const params = new URLSearchParams(identity)
  for (const url of ['/v1/progress-queries', `/v1/progress-queries?${params}`, `/v1/progress-queries/${identity.idNumber}`]) {
    const res = await ctx.app.inject({ method: 'GET', url, headers: ctx.auth({ role: 'bureau_staff' }) })
    t.equal(res.statusCode, 404, url)
    t.equal(res.json().code, 'ROUTE_NOT_FOUND', url)
  }
})

t.test('an unpaid application past its deadline is listed closed as expired, before any sweep', async (t) => {
  const ctx = await buildTestApp(t, { config: ROOMY })
  const stationId = await createStation(ctx)
  const holder = await registerHolder(ctx, 40)
  const created = (await submit(ctx, holder, applyBody(stationId))).json()
  t.equal(created.payment.expiresAt, '2026-12-01T16:00:00.000Z')
  const ask = () => query(ctx, ctx.auth(holder.citizen), holder.identity)

  ctx.clock.set('2026-12-01T15:59:59Z')
  const justBefore = (await ask()).json() as Progress
  t.match(justBefore.applications[0], { status: 'IN_PROGRESS', stage: 'AWAITING_PAYMENT', payment: { status: 'PENDING' } })
  t.same(justBefore.applications[0]!.timeline.map((e) => e.type), ['SUBMITTED'])

  ctx.clock.set('2026-12-01T16:00:01Z')
  const res = await ask()
  t.equal(res.statusCode, 200)
  const after = res.json() as Progress
  t.match(after.applications[0], {
    id: created.id, status: 'CLOSED', stage: 'EXPIRED_UNPAID', outcome: 'EXPIRED_UNPAID', closedAt: '2026-12-01T16:00:00.000Z',
    payment: { status: 'EXPIRED' }
  })
  t.notOk('paymentPrompt' in after.applications[0]!, 'no prompt to pay an expired code')
  const timeline = after.applications[0]!.timeline
  t.same(timeline.map((e) => e.type), ['SUBMITTED', 'EXPIRED_UNPAID'])
  t.match(timeline.at(-1), { occurredAt: '2026-12-01T16:00:00.000Z', message: /2026-12-02 00:00:00/ })
  t.notMatch(timeline[0]!.message, /尚未进行支付/, 'no longer asks to pay')

  const [row] = await ctx.database.db.select().from(applications).where(and(eq(applications.id, created.id)))
  t.match(row, { status: 'IN_PROGRESS', stage: 'AWAITING_PAYMENT' }, 'no sweep ran: the answer applies the deadline itself')
})

t.test('rate limits: per token, reset after the window, per client address', async (t) => {
  t.test('per token', async (t) => {
    const ctx = await buildTestApp(t, { config: { PROGRESS_QUERY_LIMIT_PER_TOKEN: 3, PROGRESS_QUERY_WINDOW_MS: 1000 } })
    const holder = await registerHolder(ctx, 50)
    const first = ctx.auth({ role: 'bureau_staff', subject: 'bureau-first' })
    const second = ctx.auth({ role: 'bureau_staff', subject: 'bureau-second' })
    for (let i = 0; i < 3; i++) t.equal((await query(ctx, first, holder.identity, '10.0.0.1')).statusCode, 200, `query ${i + 1}`)
    const audits = (await progressAudits(ctx)).length
    const limited = await query(ctx, first, holder.identity, '10.0.0.1')
    t.equal(limited.statusCode, 429)
    t.match(limited.headers['content-type'], PROBLEM_JSON)
    t.match(limited.json(), { status: 429, code: 'RATE_LIMITED' })
    t.equal(limited.headers['retry-after'], '1', 'Retry-After in whole seconds, within the 1 s window')
    t.notOk(limited.body.includes(holder.identity.idNumber))
    t.equal((await progressAudits(ctx)).length, audits, 'a refused query is not run, so not audited')

    t.equal((await query(ctx, second, holder.identity, '10.0.0.2')).statusCode, 200, 'another token is not limited')
    t.equal((await query(ctx, first, holder.identity, '10.0.0.1')).statusCode, 429, 'still limited within the window')

    await new Promise((resolve) => setTimeout(resolve, 1100))
    t.equal((await query(ctx, first, holder.identity, '10.0.0.1')).statusCode, 200, 'allowed again after the window')
  })

  t.test('per client address', async (t) => {
    const ctx = await buildTestApp(t, { config: { PROGRESS_QUERY_LIMIT_PER_IP: 3 } })
    const holder = await registerHolder(ctx, 51)
    const token = (n: number) => ctx.auth({ role: 'bureau_staff', subject: `bureau-ip-${n}` })
    for (let i = 1; i <= 3; i++) t.equal((await query(ctx, token(i), holder.identity, '10.0.0.9')).statusCode, 200, `token ${i}`)
    const limited = await query(ctx, token(4), holder.identity, '10.0.0.9')
    t.equal(limited.statusCode, 429, 'a fresh token from the same address is refused')
    t.equal(limited.json().code, 'RATE_LIMITED')
    t.ok(Number(limited.headers['retry-after']) >= 1)
    t.equal((await query(ctx, token(4), holder.identity, '10.0.0.10')).statusCode, 200, 'another address is not limited')
  })
})

t.test('credentials and languages', async (t) => {
  const ctx = await buildTestApp(t, { config: ROOMY })
  const stationId = await createStation(ctx)
  const holder = await registerHolder(ctx, 60)
  t.equal((await submit(ctx, holder, applyBody(stationId))).statusCode, 201)

  const now = () => Math.floor(ctx.clock.now().getTime() / 1000)
  const sign = (payload: Record<string, unknown>, key: string = DEV_SECRETS.JWT_SECRET) =>
    createSigner({ key, iss: ctx.config.jwt.issuer, aud: ctx.config.jwt.audience, expiresIn: 60_000 })({ iat: now(), ...payload })
  const refused: Array<[string, Headers, string]> = [
    ['no token', {}, 'TOKEN_MISSING'],
    ['garbage token', { authorization: 'Bearer not.a.jwt' }, 'TOKEN_INVALID'],
    ['another signer', { authorization: `Bearer ${sign({ role: 'bureau_staff', sub: 'b' }, 'another-secret-that-is-long-enough-123456')}` }, 'TOKEN_INVALID'],
    ['a role the service does not know', { authorization: `Bearer ${sign({ role: 'payment_platform', sub: 'p' })}` }, 'TOKEN_INVALID'],
    ['a citizen without an identity', { authorization: `Bearer ${sign({ role: 'citizen', sub: 'c' })}` }, 'TOKEN_INVALID'],
    ['station staff without a station', { authorization: `Bearer ${sign({ role: 'station_staff', sub: 's' })}` }, 'TOKEN_INVALID']
  ]
  for (const [what, headers, code] of refused) {
    const res = await query(ctx, headers, holder.identity)
    t.equal(res.statusCode, 401, what)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().code, code, what)
  }
  t.equal((await progressAudits(ctx)).length, 0)

  const zh = (await query(ctx, ctx.auth({ role: 'bureau_staff' }), holder.identity)).json() as Progress
  t.equal(zh.applications[0]!.timeline[0]!.title, '申领信息入库', 'zh-CN by default')
  t.match(zh.applications[0]!.paymentPrompt, /^您提交的优抚卡补换申请尚未进行支付/)
  const en = (await query(ctx, { ...ctx.auth({ role: 'bureau_staff' }), 'accept-language': 'en' }, holder.identity)).json() as Progress
  t.equal(en.applications[0]!.timeline[0]!.title, 'Application recorded')
  t.match(en.applications[0]!.timeline[0]!.message, /Guangdong non-tax payment platform/)
  t.match(en.applications[0]!.paymentPrompt, /payment identification code is \d{20}/)
  const preferred = (await query(ctx, { ...holder.headers, 'accept-language': 'fr;q=1, en-US;q=0.8, zh;q=0.5' }, holder.identity)).json() as Progress
  t.equal(preferred.applications[0]!.timeline[0]!.title, 'Application recorded', 'English preferred over Chinese')
})
