// Real concurrency: parallel submissions for one holder, parallel retries with one Idempotency-Key,
// abandoned idempotency leases, and sweepers racing over the same expired applications.
import { and, count, eq, inArray, like, sql } from 'drizzle-orm'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { sweepExpired } from '../../src/applications/expiry.js'
import { expireDue } from '../../src/applications/repository.js'
import { applications, idempotencyKeys, payments, timelineEvents } from '../../src/db/schema.js'
import { IDEMPOTENCY_TTL_MS, requestFingerprint } from '../../src/plugins/idempotency.js'
import { buildTestApp, residentIdentity, testConfig } from '../helper.js'
import { jpegBytes } from '../fixtures.js'

const CARD_PHOTO_BASE64 = jpegBytes(358, 441).toString('base64')

/** An assertion message: the expected status, or the body that explains why it was not. */
const outcome = (res: { statusCode: number; body: string }, expected: number) =>
  res.statusCode === expected ? `answered ${expected}` : `answered ${res.statusCode}: ${res.body}`
const PARALLEL = 20

/** The JWT's `sub`, read from its payload (no verification needed: we minted it). */
function subjectOf (authorization: string): string {
  const payload = authorization.replace(/^Bearer /, '').split('.')[1]!
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub: string }).sub
}


t.test('concurrency', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, clock } = ctx
  const db = ctx.database.db
  const bureau = () => ctx.auth({ role: 'bureau_staff' })

  async function newStation (name: string): Promise<string> {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/stations',
      headers: bureau(),
      payload: { name, districtCode: '440106', address: '天河路1号', phone: '020-38000001', latitude: 23.1375, longitude: 113.3245 }
    })
    if (res.statusCode !== 201) throw new Error(`station creation failed: ${res.statusCode} ${res.body}`)
    return res.json().id
  }
  const stationId = await newStation('天河区退役军人服务站')
  const otherStationId = await newStation('越秀区退役军人服务站')

  let nextSeq = 1
  async function newHolder (): Promise<{ id: string; citizen: () => { authorization: string } }> {
    const identity = residentIdentity(nextSeq++, '李四')
    const res = await app.inject({
      method: 'POST',
      url: '/v1/holders',
      headers: bureau(),
      payload: { identity, phone: '13800138000', card: { cardNumber: 'A12345678', issuedAt: '2025-06-30', photoJpegBase64: CARD_PHOTO_BASE64 } }
    })
    if (res.statusCode !== 201) throw new Error(`holder registration failed: ${res.statusCode} ${res.body}`)
    return { id: res.json().id, citizen: () => ctx.auth({ role: 'citizen', identity }) }
  }

  const body = (pickupStationId = stationId) => ({ type: 'LOST', pickupStationId, oldCardConfirmed: true, photo: { source: 'CARD' } })
  const apply = (headers: Record<string, string>, payload: Record<string, unknown> = body()) =>
    app.inject({ method: 'POST', url: '/v1/applications', headers, payload })

  const holderCounts = async (holderId: string) => {
    const apps = await db.select({ id: applications.id }).from(applications).where(eq(applications.holderId, holderId))
    const ids = apps.map((a) => a.id)
    const paymentCount = ids.length === 0 ? 0 : Number((await db.select({ n: count() }).from(payments).where(inArray(payments.applicationId, ids)))[0]!.n)
    const submitted = ids.length === 0
      ? 0
      : Number((await db.select({ n: count() }).from(timelineEvents)
        .where(and(inArray(timelineEvents.applicationId, ids), eq(timelineEvents.type, 'SUBMITTED'))))[0]!.n)
    return { ids, applications: ids.length, payments: paymentCount, submitted }
  }

  t.test(`${PARALLEL} parallel submissions for one holder: one application, ${PARALLEL - 1} conflicts naming it`, async (t) => {
    clock.set('2026-12-01T02:00:00Z')
    const holder = await newHolder()
    const headers = holder.citizen()
    const answers = await Promise.all(Array.from({ length: PARALLEL }, () => apply(headers)))
    const statuses = answers.map((r) => r.statusCode)
    const created = answers.filter((r) => r.statusCode === 201)
    const conflicts = answers.filter((r) => r.statusCode === 409)
    t.equal(created.length, 1, `exactly one 201 (statuses: ${statuses.join(',')})`)
    t.equal(conflicts.length, PARALLEL - 1, 'every other answer is 409')
    const createdId: string = created[0]!.json().id
    t.match(createdId, /^[0-9a-f-]{36}$/)
    for (const conflict of conflicts) {
      const problem = conflict.json()
      t.equal(problem.code, 'APPLICATION_IN_PROGRESS')
      t.equal(problem.applicationId, createdId, 'the conflict names the created application')
    }

    const stored = await holderCounts(holder.id)
    t.same(stored.ids, [createdId])
    t.equal(stored.applications, 1)
    t.equal(stored.payments, 1)
    t.equal(stored.submitted, 1)
  })

  t.test(`${PARALLEL} parallel submissions over an expired, unswept application: the conflicts name the new one`, async (t) => {
    const holder = await newHolder()
    clock.set('2026-12-01T15:59:30Z')
    const old = await apply(holder.citizen())
    t.equal(old.statusCode, 201, outcome(old, 201))
    const oldId: string = old.json().id
    clock.set('2026-12-01T16:00:01Z')
    const headers = holder.citizen()
    const answers = await Promise.all(Array.from({ length: PARALLEL }, () => apply(headers)))
    const statuses = answers.map((r) => r.statusCode)
    const created = answers.filter((r) => r.statusCode === 201)
    const conflicts = answers.filter((r) => r.statusCode === 409)
    t.equal(created.length, 1, `exactly one 201 (statuses: ${statuses.join(',')})`)
    t.equal(conflicts.length, PARALLEL - 1, 'every other answer is 409')
    const createdId: string = created[0]!.json().id
    t.not(createdId, oldId)
    const named = conflicts.map((r) => r.json().applicationId as string)
    t.same(named.filter((id) => id !== createdId), [], 'no conflict names the expired application')

    const [expired] = await db.select().from(applications).where(eq(applications.id, oldId))
    t.match(expired, { status: 'CLOSED', stage: 'EXPIRED_UNPAID' })
    const stored = await holderCounts(holder.id)
    t.equal(stored.applications, 2)
    t.equal(stored.submitted, 2)
    const expiryEvents = await db.select({ n: count() }).from(timelineEvents)
      .where(and(eq(timelineEvents.applicationId, oldId), eq(timelineEvents.type, 'EXPIRED_UNPAID')))
    t.equal(Number(expiryEvents[0]!.n), 1)
  })

  t.test('applying again while a sweeper is closing the expired application', {
    skip: ctx.kind === 'embedded' ? 'needs two connections' : false
  }, async (t) => {
    const holder = await newHolder()
    clock.set('2026-12-02T15:59:30Z')
    const old = await apply(holder.citizen())
    t.equal(old.statusCode, 201, outcome(old, 201))
    const oldId: string = old.json().id
    clock.set('2026-12-02T16:00:01Z')

    // A sweeper's batch that has closed the application but not committed yet.
    let release!: () => void
    const released = new Promise<void>((resolve) => { release = resolve })
    let signalLocked!: () => void
    const locked = new Promise<void>((resolve) => { signalLocked = resolve })
    const sweeping = app.db.transaction(async (tx) => {
      const closed = await expireDue(tx, clock.now(), { limit: 500 })
      signalLocked()
      await released
      return closed
    })
    await locked
    const submitting = apply(holder.citizen())
    await new Promise((resolve) => setTimeout(resolve, 200))
    release()
    const [closed, res] = await Promise.all([sweeping, submitting])
    t.ok(closed >= 1, 'the sweeper closed it')
    t.equal(res.statusCode, 201, outcome(res, 201))
    t.not(res.json().applicationId ?? res.json().id, oldId, 'the answer is not about the expired application')
  })

  t.test(`${PARALLEL} parallel submissions with one Idempotency-Key`, async (t) => {
    clock.set('2026-12-01T02:00:00Z')
    const holder = await newHolder()
    const key = 'idem-parallel-0001'
    const headers = { ...holder.citizen(), 'idempotency-key': key }
    const answers = await Promise.all(Array.from({ length: PARALLEL }, () => apply(headers)))
    const statuses = answers.map((r) => r.statusCode)
    const created = answers.filter((r) => r.statusCode === 201)
    const inFlight = answers.filter((r) => r.statusCode === 409)
    t.equal(created.length + inFlight.length, PARALLEL, `only 201 and 409 (statuses: ${statuses.join(',')})`)
    t.ok(created.length >= 1, 'at least one 201')
    for (const r of inFlight) {
      t.equal(r.json().code, 'IDEMPOTENCY_KEY_IN_FLIGHT')
      t.equal(r.headers['retry-after'], '1')
    }
    const createdId: string = created[0]!.json().id
    t.ok(created.every((r) => r.json().id === createdId), 'every 201 is the same application')
    t.ok(created.every((r) => r.body === created[0]!.body), 'with the same body')
    const original = created.find((r) => r.headers['idempotent-replayed'] === undefined)
    t.ok(original, 'one of them actually ran the request')
    t.equal(created.filter((r) => r.headers['idempotent-replayed'] === undefined).length, 1, 'and only one')

    const stored = await holderCounts(holder.id)
    t.same(stored.ids, [createdId], 'one application in the database')
    t.equal(stored.payments, 1)
    t.equal(stored.submitted, 1)
    const keyRows = await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key))
    t.equal(keyRows.length, 1)
    t.match(keyRows[0], { state: 'COMPLETED', responseStatus: 201 })

    clock.advance(60_000)
    const replay = await apply({ ...holder.citizen(), 'idempotency-key': key })
    t.equal(replay.statusCode, 201)
    t.equal(replay.headers['idempotent-replayed'], 'true')
    t.equal(replay.body, original!.body, 'the first answer, byte for byte')
    t.equal(replay.headers.location, `/v1/applications/${createdId}`)
    t.equal(replay.headers.etag, original!.headers.etag)

    const reused = await apply({ ...holder.citizen(), 'idempotency-key': key }, body(otherStationId))
    t.equal(reused.statusCode, 422)
    t.equal(reused.json().code, 'IDEMPOTENCY_KEY_REUSED')

    // The key lives 24 hours from its first use: one second before, it still binds the first body.
    clock.set(new Date(Date.parse('2026-12-01T02:00:00Z') + IDEMPOTENCY_TTL_MS - 1000))
    const stillBound = await apply({ ...holder.citizen(), 'idempotency-key': key }, body(otherStationId))
    t.equal(stillBound.statusCode, 422)
    t.equal(stillBound.json().code, 'IDEMPOTENCY_KEY_REUSED')
    t.equal((await holderCounts(holder.id)).applications, 1, 'nothing created meanwhile')

    // 24 hours and a second later the key is free. The first application expired unpaid at
    // 2026-12-01T16:00Z, so the new request is processed normally and creates a new application.
    clock.set(new Date(Date.parse('2026-12-01T02:00:00Z') + IDEMPOTENCY_TTL_MS + 1000))
    const fresh = await apply({ ...holder.citizen(), 'idempotency-key': key }, body(otherStationId))
    t.equal(fresh.statusCode, 201, outcome(fresh, 201))
    t.equal(fresh.headers['idempotent-replayed'], undefined, 'not a replay')
    t.not(fresh.json().id, createdId)
    t.equal(fresh.json().pickupStation.id, otherStationId)
    const [row] = await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key))
    t.equal(row!.fingerprint, requestFingerprint('POST', '/v1/applications', body(otherStationId)), 'the key now binds the new body')
    const [first] = await db.select().from(applications).where(eq(applications.id, createdId))
    t.equal(first!.stage, 'EXPIRED_UNPAID', 'the first one was closed as expired')
  })

  t.test('an abandoned in-flight key is taken over once its lease has passed', async (t) => {
    clock.set('2026-12-03T02:00:00Z')
    const now = clock.now()
    const scopeOf = (headers: { authorization: string }) => `citizen:${subjectOf(headers.authorization)}`
    const fingerprint = requestFingerprint('POST', '/v1/applications', body())

    const stale = await newHolder()
    const staleHeaders = stale.citizen()
    await db.insert(idempotencyKeys).values({
      scope: scopeOf(staleHeaders),
      key: 'idem-stale-lease',
      fingerprint,
      state: 'IN_FLIGHT',
      lockedUntil: new Date(now.getTime() - 1000),
      createdAt: new Date(now.getTime() - 120_000),
      expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS - 120_000)
    })
    const takeover = await apply({ ...staleHeaders, 'idempotency-key': 'idem-stale-lease' })
    t.equal(takeover.statusCode, 201, outcome(takeover, 201))
    t.equal(takeover.headers['idempotent-replayed'], undefined)
    t.equal((await holderCounts(stale.id)).applications, 1)
    const [taken] = await db.select().from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, scopeOf(staleHeaders)), eq(idempotencyKeys.key, 'idem-stale-lease')))
    t.match(taken, { state: 'COMPLETED', responseStatus: 201 })
    const replay = await apply({ ...staleHeaders, 'idempotency-key': 'idem-stale-lease' })
    t.equal(replay.statusCode, 201)
    t.equal(replay.headers['idempotent-replayed'], 'true')
    t.equal(replay.json().id, takeover.json().id)

    const live = await newHolder()
    const liveHeaders = live.citizen()
    await db.insert(idempotencyKeys).values({
      scope: scopeOf(liveHeaders),
      key: 'idem-live-lease',
      fingerprint,
      state: 'IN_FLIGHT',
      lockedUntil: new Date(now.getTime() + 30_000),
      createdAt: new Date(now.getTime() - 30_000),
      expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS - 30_000)
    })
    const blocked = await apply({ ...liveHeaders, 'idempotency-key': 'idem-live-lease' })
    t.equal(blocked.statusCode, 409)
    t.equal(blocked.json().code, 'IDEMPOTENCY_KEY_IN_FLIGHT')
    t.equal(blocked.headers['retry-after'], '1')
    t.equal((await holderCounts(live.id)).applications, 0, 'nothing was created')
    const [untouched] = await db.select().from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, scopeOf(liveHeaders)), eq(idempotencyKeys.key, 'idem-live-lease')))
    t.match(untouched, { state: 'IN_FLIGHT' })
    t.same(untouched!.lockedUntil, new Date(now.getTime() + 30_000), 'the lease was not extended')

    // Once that lease passes too, a retry takes it over.
    clock.advance(30_000)
    const later = await apply({ ...live.citizen(), 'idempotency-key': 'idem-live-lease' })
    t.equal(later.statusCode, 201, outcome(later, 201))
  })

  t.test('two sweepers over 1,000 expired applications close each exactly once', async (t) => {
    const total = 1000
    clock.set('2026-12-10T02:00:00Z')
    // Whatever earlier subtests left unpaid is past due by now: clear it, so the counts below are the bulk only.
    await sweepExpired(app)

    const created = new Date('2026-12-09T02:00:00Z')
    const deadline = new Date('2026-12-09T16:00:00Z')
    await db.execute(sql`
      insert into holders (id, country_region, id_type, id_number_enc, identity_hash, name, phone_enc, phone_hash, created_at, updated_at)
      select md5('bulk-holder-' || i)::uuid, 'CHN', 'RESIDENT_ID_CARD', 'bulk-enc-' || i, md5('bulk-identity-' || i) || md5('x' || i),
             '批量', 'bulk-phone-' || i, md5('bulk-phone-' || i), ${created}, ${created}
      from generate_series(1, ${total}) as i`)
    await db.execute(sql`
      insert into applications (id, reference_no, holder_id, type, channel, status, stage, pickup_station_id, photo_source, fee_fen,
                                expires_at, created_at, updated_at)
      select md5('bulk-application-' || i)::uuid, 'BULK' || lpad(i::text, 6, '0'), md5('bulk-holder-' || i)::uuid, 'LOST', 'SELF',
             'IN_PROGRESS', 'AWAITING_PAYMENT', ${stationId}::uuid, 'CARD', 2000, ${deadline}, ${created}, ${created}
      from generate_series(1, ${total}) as i`)
    await db.execute(sql`
      insert into payments (application_id, code, amount_fen, status, expires_at, created_at, updated_at)
      select md5('bulk-application-' || i)::uuid, '9' || lpad(i::text, 19, '0'), 2000, 'PENDING', ${deadline}, ${created}, ${created}
      from generate_series(1, ${total}) as i`)
    const bulk = like(applications.referenceNo, 'BULK%')
    t.equal(Number((await db.select({ n: count() }).from(applications).where(and(bulk, eq(applications.status, 'IN_PROGRESS'))))[0]!.n), total, 'bulk inserted')

    // A second app instance on the same database, as a second replica would be.
    const replica = await buildApp(testConfig(), { database: ctx.database, clock, logger: false })
    t.teardown(() => replica.close())

    const started = performance.now()
    const [a, b] = await Promise.all([sweepExpired(app, 100), sweepExpired(replica, 100)])
    t.comment(`sweepers closed ${a} + ${b} in ${Math.round(performance.now() - started)} ms (${ctx.kind})`)
    t.equal(a + b, total, 'the two counts add up to exactly the number due')

    const closed = await db.select({ n: count() }).from(applications)
      .where(and(bulk, eq(applications.status, 'CLOSED'), eq(applications.stage, 'EXPIRED_UNPAID'), eq(applications.outcome, 'EXPIRED_UNPAID'),
        eq(applications.closedAt, deadline), eq(applications.version, 2)))
    t.equal(Number(closed[0]!.n), total, 'every application closed, once (version bumped once)')
    const expired = await db.select({ n: count() }).from(payments).where(and(like(payments.code, '9%'), eq(payments.status, 'EXPIRED')))
    t.equal(Number(expired[0]!.n), total, 'every payment expired')
    const events = await db.select({ n: count(), distinctApps: sql<number>`count(distinct ${timelineEvents.applicationId})::int` })
      .from(timelineEvents).innerJoin(applications, eq(applications.id, timelineEvents.applicationId))
      .where(and(bulk, eq(timelineEvents.type, 'EXPIRED_UNPAID')))
    t.equal(Number(events[0]!.n), total, 'exactly one EXPIRED_UNPAID event each')
    t.equal(Number(events[0]!.distinctApps), total, 'for every application')

    t.equal(await sweepExpired(app, 100), 0, 'a third sweep finds nothing')
    t.equal(await sweepExpired(replica, 100), 0, 'nor does the replica')
  })
})
