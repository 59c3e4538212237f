// GET /v1/audit-events: the trail of staff actions, filtered and paginated; and audit rows the database will not let anyone change.
import { randomBytes } from 'node:crypto'
import { asc, desc, eq } from 'drizzle-orm'
import pg from 'pg'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/client.js'
import { auditEvents } from '../../src/db/schema.js'
import { encodeCursor } from '../../src/shared/cursor.js'
import { buildTestApp, PROBLEM_JSON, testConfig, testDatabase } from '../helper.js'
import { createStation, registerHolder } from '../fixtures.js'

interface AuditItem {
  id: string
  occurredAt: string
  actor: { id: string; role: string; stationId: string | null }
  action: string
  target: { type: string; id: string }
  before: unknown
  after: unknown
  requestId: string | null
}

t.test('the audit trail: newest first, filters, pagination, access', async (t) => {
  const ctx = await buildTestApp(t)
  const { app, clock, database: { db } } = ctx
  const bureau = () => ctx.auth({ role: 'bureau_staff', subject: 'bureau-li' })
  const admin = () => ctx.auth({ role: 'admin', subject: 'admin-wang' })

  // 10:00 Shanghai: the bureau sets up a station and registers two holders.
  const t0 = clock.now()
  const stationRes = await app.inject({
    method: 'POST', url: '/v1/stations', headers: { ...bureau(), 'x-request-id': 'req-station-create-1' },
    payload: { name: '荔湾区退役军人服务站', districtCode: '440103', address: '荔湾路5号', phone: '020-81000000', latitude: 23.12, longitude: 113.24 }
  })
  t.equal(stationRes.statusCode, 201)
  const stationId = stationRes.json().id as string
  clock.advance(60_000)
  // The fixtures act as the bureau; make that the named bureau staff member.
  const registrar: typeof ctx = { ...ctx, auth: (request) => request.role === 'bureau_staff' ? bureau() : ctx.auth(request) }
  const holderA = await registerHolder(registrar, 1)
  const holderB = await registerHolder(registrar, 2)

  // 11:00: station staff look up holder A twice and holder B once; the admin changes the station.
  clock.advance(60 * 60 * 1000)
  const t1 = clock.now()
  const staff = () => ctx.auth({ role: 'station_staff', stationId, subject: 'staff-zhao' })
  for (const id of [holderA.id, holderB.id, holderA.id]) {
    t.equal((await app.inject({ method: 'GET', url: `/v1/holders/${id}`, headers: staff() })).statusCode, 200)
    clock.advance(1000)
  }
  const patched = await app.inject({ method: 'PATCH', url: `/v1/stations/${stationId}`, headers: admin(), payload: { phone: '020-81000001' } })
  t.equal(patched.statusCode, 200)
  // 12:00: the admin looks up holder B; another station is created.
  clock.advance(60 * 60 * 1000)
  const t2 = clock.now()
  t.equal((await app.inject({ method: 'GET', url: `/v1/holders/${holderB.id}`, headers: admin() })).statusCode, 200)
  const otherStation = await createStation(registrar, { name: '黄埔区退役军人服务站', districtCode: '440112' })
  // A look-up of someone who does not exist is not an audited look-up of a person.
  t.equal((await app.inject({ method: 'GET', url: '/v1/holders/00000000-0000-4000-8000-000000000000', headers: staff() })).statusCode, 404)

  const stored = await db.select().from(auditEvents).orderBy(desc(auditEvents.id))
  t.same(stored.map((r) => r.action), [
    'STATION_CREATED', 'HOLDER_VIEWED', 'STATION_UPDATED', 'HOLDER_VIEWED', 'HOLDER_VIEWED', 'HOLDER_VIEWED',
    'HOLDER_REGISTERED', 'HOLDER_REGISTERED', 'STATION_CREATED'
  ], 'every action audited once, and nothing else')

  const list = async (query: string, headers = bureau()) => {
    const res = await app.inject({ method: 'GET', url: `/v1/audit-events${query}`, headers })
    t.equal(res.statusCode, 200, `GET /v1/audit-events${query}`)
    return res.json() as { items: AuditItem[]; nextCursor: string | null }
  }
  const ids = (items: AuditItem[]) => items.map((i) => i.id)
  const allIds = stored.map((r) => String(r.id))

  t.test('bureau and admin read the whole trail, newest first', async (t) => {
    for (const headers of [bureau(), admin()]) {
      const page = await list('', headers)
      t.same(ids(page.items), allIds)
      t.equal(page.nextCursor, null)
      const times = page.items.map((i) => Date.parse(i.occurredAt))
      t.same(times, [...times].sort((a, b) => b - a), 'occurredAt never increases down the list')
    }
    const page = await list('')
    const created = page.items.at(-1)!
    t.match(created, {
      occurredAt: t0.toISOString(), actor: { id: 'bureau-li', role: 'bureau_staff', stationId: null },
      action: 'STATION_CREATED', target: { type: 'station', id: stationId }, before: null, after: { id: stationId, name: '荔湾区退役军人服务站' },
      requestId: 'req-station-create-1'
    })
    const update = page.items.find((i) => i.action === 'STATION_UPDATED')!
    t.match(update, { actor: { id: 'admin-wang', role: 'admin', stationId: null }, before: { phone: '020-81000000' }, after: { phone: '020-81000001' } })
    const view = page.items.find((i) => i.action === 'HOLDER_VIEWED' && i.actor.id === 'staff-zhao')!
    t.match(view.actor, { role: 'station_staff', stationId })
    t.type(view.requestId, 'string')
    // Audit rows are read by people: personal data is masked in them.
    const text = JSON.stringify(page)
    for (const h of [holderA, holderB]) {
      t.notOk(text.includes(h.identity.idNumber), 'no ID number in the trail')
      t.notOk(text.includes(h.identity.name), 'no full name in the trail')
    }
    t.notOk(/138\d{8}/.test(text), 'no phone number in the trail')
  })

  t.test('filters', async (t) => {
    const byStaff = await list('?actorId=staff-zhao')
    t.same(byStaff.items.map((i) => [i.action, i.target.id]), [['HOLDER_VIEWED', holderA.id], ['HOLDER_VIEWED', holderB.id], ['HOLDER_VIEWED', holderA.id]])
    t.ok(byStaff.items.every((i) => i.actor.id === 'staff-zhao'))
    t.same((await list('?actorId=nobody')).items, [])

    const aboutA = await list(`?targetType=holder&targetId=${holderA.id}`)
    t.same(aboutA.items.map((i) => i.action), ['HOLDER_VIEWED', 'HOLDER_VIEWED', 'HOLDER_REGISTERED'])
    t.ok(aboutA.items.every((i) => i.target.type === 'holder' && i.target.id === holderA.id))
    t.same((await list(`?targetType=station&targetId=${holderA.id}`)).items, [], 'type and id together')
    t.same((await list('?targetType=station')).items.map((i) => i.target.id), [otherStation, stationId, stationId])

    const views = await list('?action=HOLDER_VIEWED')
    t.equal(views.items.length, 4)
    t.ok(views.items.every((i) => i.action === 'HOLDER_VIEWED'))
    t.same((await list(`?action=HOLDER_VIEWED&actorId=admin-wang&targetId=${holderB.id}`)).items.map((i) => i.occurredAt), [t2.toISOString()], 'filters combine')

    // from is inclusive, to exclusive.
    const morning = await list(`?to=${encodeURIComponent(t1.toISOString())}`)
    t.same(morning.items.map((i) => i.action), ['HOLDER_REGISTERED', 'HOLDER_REGISTERED', 'STATION_CREATED'])
    const fromT1 = await list(`?from=${encodeURIComponent(t1.toISOString())}`)
    t.equal(fromT1.items.length, 6)
    t.equal(fromT1.items.at(-1)!.occurredAt, t1.toISOString(), 'an event exactly at from is included')
    const window = await list(`?from=${encodeURIComponent(t1.toISOString())}&to=${encodeURIComponent(t2.toISOString())}`)
    t.same(window.items.map((i) => i.action), ['STATION_UPDATED', 'HOLDER_VIEWED', 'HOLDER_VIEWED', 'HOLDER_VIEWED'], 'an event exactly at to is excluded')
    t.same((await list(`?from=${encodeURIComponent(t1.toISOString())}&to=${encodeURIComponent(t1.toISOString())}`)).items, [], 'an empty range')
    // Offsets are instants: t2 written in Shanghai time selects the same events.
    const t2Shanghai = new Date(t2.getTime() + 8 * 60 * 60 * 1000).toISOString().replace('Z', '+08:00')
    const fromT2 = await list(`?from=${encodeURIComponent(t2.toISOString())}`)
    t.equal(fromT2.items.length, 2)
    t.same(ids((await list(`?from=${encodeURIComponent(t2Shanghai)}`)).items), ids(fromT2.items))

    const reversed = await app.inject({ method: 'GET', url: `/v1/audit-events?from=${encodeURIComponent(t2.toISOString())}&to=${encodeURIComponent(t1.toISOString())}`, headers: bureau() })
    t.equal(reversed.statusCode, 400)
    t.match(reversed.headers['content-type'], PROBLEM_JSON)
    t.ok(reversed.json().errors.some((e: { pointer: string }) => e.pointer === '/from'))
    for (const bad of ['?from=yesterday', '?to=2026-12-01', '?limit=0', '?limit=101', '?limit=two']) {
      t.equal((await app.inject({ method: 'GET', url: `/v1/audit-events${bad}`, headers: bureau() })).statusCode, 400, bad)
    }
  })

  t.test('pagination covers everything once', async (t) => {
    for (const limit of [1, 2, 4, 9, 10]) {
      const seen: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const page: { items: AuditItem[]; nextCursor: string | null } = await list(`?limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`)
        t.ok(page.items.length <= limit)
        if (page.nextCursor !== null) t.equal(page.items.length, limit, 'only the last page is short')
        seen.push(...ids(page.items))
        cursor = page.nextCursor
        pages++
      } while (cursor !== null && pages < 20)
      t.same(seen, allIds, `limit ${limit}: every event once, newest first`)
      t.equal(pages, Math.max(1, Math.ceil(allIds.length / limit)), `limit ${limit}: no empty trailing page`)
    }
    // With a filter, pages stay within it.
    const first = await list('?action=HOLDER_VIEWED&limit=3')
    t.equal(first.items.length, 3)
    t.not(first.nextCursor, null)
    const rest = await list(`?action=HOLDER_VIEWED&limit=3&cursor=${first.nextCursor}`)
    t.equal(rest.items.length, 1)
    t.equal(rest.nextCursor, null)
    t.same([...ids(first.items), ...ids(rest.items)], ids((await list('?action=HOLDER_VIEWED')).items))

    for (const garbage of ['garbage', 'bm9wZQ', encodeCursor({ id: 'x' }), encodeCursor({ createdAt: '2026-12-01', id: 'y' }), Buffer.from('[1]').toString('base64url')]) {
      const res = await app.inject({ method: 'GET', url: `/v1/audit-events?cursor=${garbage}`, headers: bureau() })
      t.equal(res.statusCode, 400, `cursor ${garbage}`)
      t.equal(res.json().code, 'INVALID_CURSOR')
    }
  })

  t.test('only the bureau and admins read it, and nobody changes it through the API', async (t) => {
    for (const headers of [holderA.headers, staff(), ctx.auth({ role: 'station_staff', stationId: otherStation })]) {
      const res = await app.inject({ method: 'GET', url: '/v1/audit-events', headers })
      t.equal(res.statusCode, 403)
      t.match(res.headers['content-type'], PROBLEM_JSON)
    }
    t.equal((await app.inject({ method: 'GET', url: '/v1/audit-events' })).statusCode, 401)
    t.equal((await app.inject({ method: 'GET', url: '/v1/audit-events', headers: { authorization: 'Bearer nope' } })).statusCode, 401)
    const id = allIds[0]!
    for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
      const res = await app.inject({ method, url: `/v1/audit-events/${id}`, headers: admin(), payload: {} })
      t.ok([404, 405].includes(res.statusCode), `${method} /v1/audit-events/${id}: ${res.statusCode}`)
    }
    t.ok([404, 405].includes((await app.inject({ method: 'DELETE', url: '/v1/audit-events', headers: admin() })).statusCode))
    t.equal((await db.select().from(auditEvents)).length, allIds.length, 'reading the trail is not itself audited, and nothing was removed')
  })
})

t.test('the service\'s own database user cannot change or delete audit rows', async (t) => {
  const { kind, url } = await testDatabase(t)
  if (kind === 'embedded' || url === undefined) {
    t.plan(0, 'needs PostgreSQL roles: the embedded database has a single superuser (set TEST_DATABASE_URL)')
    return
  }
  const role = `yufu_app_${randomBytes(4).toString('hex')}`
  const superuser = new pg.Client({ connectionString: url })
  await superuser.connect()
  const closers: Array<() => Promise<unknown>> = []
  // One teardown, in order: the app and the role's connections, then the role's grants, then the role itself
  // (from the server's own database, in case this file's database is already gone).
  t.teardown(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined)
    await superuser.query(`drop owned by ${role}`).catch(() => undefined)
    await superuser.end().catch(() => undefined)
    const server = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? url })
    await server.connect()
    await server.query(`drop role if exists ${role}`).finally(() => server.end())
  })
  await superuser.query(`create role ${role} login nosuperuser`)
  // What a service account needs to run the service, and no more.
  await superuser.query(`grant select, insert, update, delete on all tables in schema public to ${role}`)
  await superuser.query(`grant usage, select on all sequences in schema public to ${role}`)
  await superuser.query(`grant truncate on audit_events to ${role}`)

  const roleUrl = new URL(url)
  roleUrl.username = role
  roleUrl.password = ''
  const asService = await openDatabase({ kind: 'postgres', url: roleUrl.toString(), poolMax: 2 })
  closers.push(() => asService.close())
  const [who] = (await asService.pool!.query('select current_user as name, usesuper from pg_user where usename = current_user')).rows
  t.same(who, { name: role, usesuper: false }, 'connected as the non-superuser role')

  // The service, running as that role, writes audit rows as it works.
  const app = await buildApp(testConfig(), { database: asService, logger: false })
  closers.push(() => app.close())
  const token = (await app.inject({ method: 'POST', url: '/v1/dev/tokens', payload: { role: 'bureau_staff', subject: 'bureau-audit' } })).json().token as string
  const created = await app.inject({
    method: 'POST', url: '/v1/stations', headers: { authorization: `Bearer ${token}` },
    payload: { name: '南沙区退役军人服务站', districtCode: '440115', address: '南沙路7号', phone: '020-84000000', latitude: 22.8, longitude: 113.53 }
  })
  t.equal(created.statusCode, 201, created.body)
  const rows = await asService.db.select().from(auditEvents).orderBy(asc(auditEvents.id))
  t.equal(rows.length, 1)
  t.match(rows[0], { action: 'STATION_CREATED', actorId: 'bureau-audit' })
  const before = JSON.stringify(rows)

  const refused = /audit_events rows cannot be changed or deleted/
  await t.rejects(asService.pool!.query(`update audit_events set actor_id = 'someone-else'`), { message: /UPDATE refused/ }, 'UPDATE refused')
  await t.rejects(asService.pool!.query('delete from audit_events'), { message: /DELETE refused/ }, 'DELETE refused')
  await t.rejects(asService.pool!.query('truncate audit_events'), { message: /TRUNCATE refused/ }, 'TRUNCATE refused')
  await t.rejects(asService.db.update(auditEvents).set({ action: 'NOTHING' }).where(eq(auditEvents.id, rows[0]!.id)), { cause: { message: refused } }, 'through Drizzle too')
  await t.rejects(asService.db.delete(auditEvents).where(eq(auditEvents.id, rows[0]!.id)), { cause: { message: refused } })
  // Nor can the role switch the protection off.
  await t.rejects(asService.pool!.query('alter table audit_events disable trigger audit_events_no_update_delete'), { message: /must be owner/ })
  await t.rejects(asService.pool!.query('drop trigger audit_events_no_update_delete on audit_events'), { message: /must be owner/ })
  await t.rejects(asService.pool!.query('set session_replication_role = replica'), { message: /permission denied/ })

  t.equal(JSON.stringify(await asService.db.select().from(auditEvents).orderBy(asc(auditEvents.id))), before, 'the rows are as written')
  // The role can still do its job: other tables change as usual.
  t.equal((await asService.pool!.query(`update stations set phone = '020-84000001'`)).rowCount, 1)
})
