// Stations: listing for every role (nearest first, district filter, inactive, paging) and management by bureau and admin.
import { randomUUID } from 'node:crypto'
import { and, count, eq } from 'drizzle-orm'
import t from 'tap'
import { auditEvents, stations } from '../../src/db/schema.js'
import { buildTestApp, PROBLEM_JSON, residentIdentity } from '../helper.js'

interface StationBody { name: string; districtCode: string; address: string; phone: string; latitude: number; longitude: number; active?: boolean }
interface StationItem extends StationBody { id: string; districtName: string; active: boolean; distanceMeters?: number; createdAt: string; updatedAt: string }
interface FieldErr { pointer: string; in: string; message: string }

// Haversine in whole metres, written independently of the service so the SQL distance is checked against it.
function haversine (lat1: number, lng1: number, lat2: number, lng2: number): number {
  const r = (d: number) => d * Math.PI / 180
  const h = Math.sin(r(lat2 - lat1) / 2) ** 2 + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin(r(lng2 - lng1) / 2) ** 2
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h))
}

t.test('stations', async (t) => {
  const ctx = await buildTestApp(t)
  const { app } = ctx
  const db = ctx.database.db
  const bureau = ctx.auth({ role: 'bureau_staff' })
  const admin = ctx.auth({ role: 'admin' })
  const citizen = ctx.auth({ role: 'citizen', identity: residentIdentity(1) })

  const stationCount = async () => Number((await db.select({ n: count() }).from(stations))[0]!.n)
  const auditCount = async () => Number((await db.select({ n: count() }).from(auditEvents))[0]!.n)

  // Fixtures at known coordinates in four districts, plus an inactive one.
  const fixtures: Record<string, StationBody> = {
    tianhe: { name: '天河区退役军人服务站', districtCode: '440106', address: '天河路1号', phone: '020-38000001', latitude: 23.1375, longitude: 113.3245 },
    yuexiu: { name: '越秀区退役军人服务站', districtCode: '440104', address: '府前路1号', phone: '020-83000002', latitude: 23.1291, longitude: 113.2644 },
    haizhu: { name: '海珠区退役军人服务站', districtCode: '440105', address: '江南大道1号', phone: '020-84000003', latitude: 23.0838, longitude: 113.3172 },
    panyu: { name: '番禺区退役军人服务站', districtCode: '440113', address: '市桥街1号', phone: '020-84800004', latitude: 22.9375, longitude: 113.3842 },
    closed: { name: '南沙区旧服务站', districtCode: '440115', address: '南沙街1号', phone: '020-39000005', latitude: 22.8016, longitude: 113.5252, active: false }
  }
  const ids: Record<string, string> = {}
  for (const [key, body] of Object.entries(fixtures)) {
    const res = await app.inject({ method: 'POST', url: '/v1/stations', headers: admin, payload: body })
    t.equal(res.statusCode, 201, `fixture ${key} created`)
    ids[key] = res.json().id
  }
  const staff = ctx.auth({ role: 'station_staff', stationId: ids.tianhe! })

  const list = async (query: string, headers: Record<string, string> = bureau) => {
    const res = await app.inject({ method: 'GET', url: `/v1/stations${query}`, headers })
    return { res, body: res.json() as { items: StationItem[]; nextCursor: string | null } }
  }

  t.test('every role can list; no token is 401', async (t) => {
    const activeIds = [ids.tianhe, ids.yuexiu, ids.haizhu, ids.panyu].sort()
    for (const [role, headers] of [['citizen', citizen], ['station_staff', staff], ['bureau_staff', bureau], ['admin', admin]] as const) {
      const { res, body } = await list('', headers)
      t.equal(res.statusCode, 200, `${role} lists`)
      t.same(body.items.map((s) => s.id).sort(), activeIds, `${role} sees the active stations`)
      t.equal(body.nextCursor, null)
    }
    const res = await app.inject({ method: 'GET', url: '/v1/stations' })
    t.equal(res.statusCode, 401)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().code, 'TOKEN_MISSING')
  })

  t.test('items carry the station fields; no distanceMeters without near', async (t) => {
    const { body } = await list('?district=440106')
    t.equal(body.items.length, 1)
    const item = body.items[0]!
    t.match(item, { ...fixtures.tianhe, id: ids.tianhe, districtName: '天河区', active: true })
    t.notOk('distanceMeters' in item, 'no distanceMeters without near')
    t.ok(body.items.every((s) => !('distanceMeters' in s)))
    const all = await list('')
    t.ok(all.body.items.length > 1)
    t.ok(all.body.items.every((s) => !('distanceMeters' in s)), 'none of the unsorted list has distanceMeters')
  })

  t.test('?near sorts nearest first and adds distanceMeters', async (t) => {
    // A point in Yuexiu, close to the Yuexiu station.
    const here = { lat: 23.1300, lng: 113.2600 }
    const { res, body } = await list(`?near=${here.lat},${here.lng}`, citizen)
    t.equal(res.statusCode, 200, `near answers 200 (got ${res.body})`)
    if (res.statusCode !== 200) return
    t.same(body.items.map((s) => s.id), [ids.yuexiu, ids.tianhe, ids.haizhu, ids.panyu], 'nearest first')
    const distances = body.items.map((s) => s.distanceMeters)
    for (let i = 0; i < body.items.length; i++) {
      const s = body.items[i]!
      t.ok(Number.isInteger(s.distanceMeters), `${s.name} has an integer distance`)
      t.ok(Math.abs(s.distanceMeters! - haversine(here.lat, here.lng, s.latitude, s.longitude)) <= 2, `${s.name} distance is the great-circle distance`)
      if (i > 0) t.ok(distances[i]! >= distances[i - 1]!, 'distances increase')
    }
    // Plausible magnitudes: Yuexiu station about half a kilometre, Panyu some 25 km.
    t.ok(distances[0]! > 300 && distances[0]! < 700, `yuexiu is ${distances[0]} m away`)
    t.ok(distances[3]! > 20_000 && distances[3]! < 30_000, `panyu is ${distances[3]} m away`)

    const atTianhe = await list(`?near=${fixtures.tianhe!.latitude},${fixtures.tianhe!.longitude}`, bureau)
    t.equal(atTianhe.body.items[0]!.id, ids.tianhe)
    t.equal(atTianhe.body.items[0]!.distanceMeters, 0, 'standing at the station is 0 m')

    const combined = await list(`?near=${here.lat},${here.lng}&district=440113`)
    t.same(combined.body.items?.map((s) => s.id), [ids.panyu], 'near combines with district')
    t.type(combined.body.items?.[0]?.distanceMeters, 'number')

    // Paging works nearest first too.
    const near = `?near=${here.lat},${here.lng}&limit=3`
    const first = await list(near, citizen)
    t.same(first.body.items?.map((s) => s.id), [ids.yuexiu, ids.tianhe, ids.haizhu])
    t.type(first.body.nextCursor, 'string')
    const second = await list(`${near}&cursor=${encodeURIComponent(String(first.body.nextCursor))}`, citizen)
    t.same(second.body.items?.map((s) => s.id), [ids.panyu])
    t.equal(second.body.nextCursor, null)
  })

  t.test('malformed near is 400 in the query', async (t) => {
    for (const near of ['abc', '91,113', '23.1', '23.1,181', '23.1,113.3,5', '0x1A,113', '']) {
      const res = await app.inject({ method: 'GET', url: `/v1/stations?near=${encodeURIComponent(near)}`, headers: bureau })
      t.equal(res.statusCode, 400, `near=${near} is 400`)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      const body = res.json()
      t.equal(body.code, 'VALIDATION_FAILED')
      t.equal(body.errors[0].in, 'query', `near=${near} is reported in the query`)
    }
  })

  t.test('?district filters; unknown district code is 400', async (t) => {
    const { res, body } = await list('?district=440106', citizen)
    t.equal(res.statusCode, 200)
    t.same(body.items.map((s) => s.id), [ids.tianhe])
    t.ok(body.items.every((s) => s.districtCode === '440106'))
    const haizhu = await list('?district=440105', citizen)
    t.same(haizhu.body.items.map((s) => s.id), [ids.haizhu])
    const empty = await list('?district=440117', citizen)
    t.same(empty.body, { items: [], nextCursor: null }, 'a district without stations is an empty list')

    for (const district of ['999999', '110101', 'tianhe']) {
      const bad = await app.inject({ method: 'GET', url: `/v1/stations?district=${district}`, headers: citizen })
      t.equal(bad.statusCode, 400, `district=${district} is 400`)
      t.same(bad.json().errors.map((e: FieldErr) => [e.in, e.pointer]), [['query', '/district']])
    }
  })

  t.test('inactive stations: hidden from citizens and staff, listed for bureau and admin on request', async (t) => {
    for (const [role, headers] of [['citizen', citizen], ['station_staff', staff]] as const) {
      const { res, body } = await list('?includeInactive=true', headers)
      t.equal(res.statusCode, 200)
      t.notOk(body.items.some((s) => s.id === ids.closed), `${role} does not see the inactive station`)
      t.equal(body.items.length, 4)
    }
    for (const [role, headers] of [['bureau_staff', bureau], ['admin', admin]] as const) {
      const without = await list('', headers)
      t.notOk(without.body.items.some((s) => s.id === ids.closed), `${role} does not see it by default`)
      const { body } = await list('?includeInactive=true', headers)
      const closed = body.items.find((s) => s.id === ids.closed)
      t.ok(closed, `${role} sees the inactive station with includeInactive=true`)
      t.equal(closed?.active, false)
      t.equal(body.items.length, 5)
    }
  })

  t.test('pagination follows nextCursor without overlap; a garbage cursor is 400', async (t) => {
    const full = await list('?includeInactive=true&limit=100', admin)
    const expected = full.body.items.map((s) => s.id)
    t.equal(expected.length, 5)

    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = `?includeInactive=true&limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
      const { res, body } = await list(query, admin)
      t.equal(res.statusCode, 200)
      pages++
      t.ok(body.items.length <= 2)
      if (pages < 3) {
        t.equal(body.items.length, 2, `page ${pages} is full`)
        t.type(body.nextCursor, 'string', `page ${pages} has a nextCursor`)
      } else {
        t.equal(body.items.length, 1, 'last page has the remainder')
        t.equal(body.nextCursor, null, 'last page has nextCursor null')
      }
      seen.push(...body.items.map((s) => s.id))
      cursor = body.nextCursor
    } while (cursor !== null && pages < 10)
    t.equal(pages, 3)
    t.equal(new Set(seen).size, seen.length, 'no station appears twice')
    t.same(seen, expected, 'the pages together are the whole list in order')


    for (const garbage of ['garbage', Buffer.from('{"offset":-1}').toString('base64url'), Buffer.from('[1]').toString('base64url')]) {
      const res = await app.inject({ method: 'GET', url: `/v1/stations?cursor=${garbage}`, headers: bureau })
      t.equal(res.statusCode, 400, `cursor ${garbage} is 400`)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      t.equal(res.json().code, 'INVALID_CURSOR')
    }
  })

  const newStation: StationBody = {
    name: '白云区退役军人服务站', districtCode: '440111', address: '白云大道1号', phone: '020-86000006', latitude: 23.1579, longitude: 113.2733
  }

  t.test('POST by bureau and admin: 201, Location, row and audit', async (t) => {
    for (const [role, headers] of [['bureau_staff', bureau], ['admin', admin]] as const) {
      const payload = { ...newStation, name: `${newStation.name}(${role})` }
      const requestId = `req-create-${role}`
      const res = await app.inject({ method: 'POST', url: '/v1/stations', headers: { ...headers, 'x-request-id': requestId }, payload })
      t.equal(res.statusCode, 201, `${role} creates`)
      const body = res.json()
      t.match(body, { ...payload, id: String, districtName: '白云区', active: true, createdAt: '2026-12-01T02:00:00.000Z', updatedAt: '2026-12-01T02:00:00.000Z' })
      t.equal(res.headers.location, `/v1/stations/${body.id}`)
      t.equal(res.headers['x-request-id'], requestId)

      const [row] = await db.select().from(stations).where(eq(stations.id, body.id))
      t.ok(row, 'row is stored')
      t.match(row, { ...payload, active: true })

      const audits = await db.select().from(auditEvents).where(eq(auditEvents.targetId, body.id))
      t.equal(audits.length, 1, 'one audit row')
      t.match(audits[0], { action: 'STATION_CREATED', targetType: 'station', actorRole: role, actorStationId: null, before: null, requestId })
      t.equal(audits[0]!.requestId, res.headers['x-request-id'])
      t.equal(audits[0]!.occurredAt.toISOString(), '2026-12-01T02:00:00.000Z')
      t.match(audits[0]!.after, { id: body.id, name: payload.name, districtCode: '440111' })
    }
    // A generated request id is recorded too.
    const res = await app.inject({ method: 'POST', url: '/v1/stations', headers: bureau, payload: { ...newStation, name: '生成请求号站', active: false } })
    t.equal(res.statusCode, 201)
    t.equal(res.json().active, false, 'active may be given on create')
    const [audit] = await db.select().from(auditEvents).where(eq(auditEvents.targetId, res.json().id))
    t.type(res.headers['x-request-id'], 'string')
    t.equal(audit?.requestId, res.headers['x-request-id'])
  })

  t.test('POST by citizen, station staff or without token writes nothing', async (t) => {
    const before = { stations: await stationCount(), audits: await auditCount() }
    for (const [role, headers] of [['citizen', citizen], ['station_staff', staff]] as const) {
      const res = await app.inject({ method: 'POST', url: '/v1/stations', headers, payload: newStation })
      t.equal(res.statusCode, 403, `${role} is 403`)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      t.equal(res.json().code, 'FORBIDDEN_ROLE')
    }
    const anonymous = await app.inject({ method: 'POST', url: '/v1/stations', payload: newStation })
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.json().code, 'TOKEN_MISSING')
    t.equal(await stationCount(), before.stations, 'no station written')
    t.equal(await auditCount(), before.audits, 'no audit written')
  })

  t.test('POST with a malformed body is 400 listing the fields, and writes nothing', async (t) => {
    const before = { stations: await stationCount(), audits: await auditCount() }
    const { address: _address, ...withoutAddress } = newStation
    const cases: Array<[string, Record<string, unknown>, string[]]> = [
      ['missing fields', { name: '缺字段站' }, ['/districtCode', '/address', '/phone', '/latitude', '/longitude']],
      ['missing address', withoutAddress, ['/address']],
      ['latitude as a string', { ...newStation, latitude: '23.1' }, ['/latitude']],
      ['unknown field', { ...newStation, manager: '王五' }, ['/manager']],
      ['phone with letters', { ...newStation, phone: '020-CALLNOW' }, ['/phone']],
      ['name over 100 characters', { ...newStation, name: '站'.repeat(101) }, ['/name']],
      ['latitude out of range', { ...newStation, latitude: 91 }, ['/latitude']],
      ['unknown district', { ...newStation, districtCode: '440199' }, ['/districtCode']],
      ['several at once', { ...newStation, name: '', longitude: '113', active: 'yes' }, ['/name', '/longitude', '/active']]
    ]
    for (const [label, payload, pointers] of cases) {
      const res = await app.inject({ method: 'POST', url: '/v1/stations', headers: bureau, payload })
      t.equal(res.statusCode, 400, `${label}: 400`)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      const body = res.json()
      t.equal(body.code, 'VALIDATION_FAILED', `${label}: VALIDATION_FAILED`)
      const listed = new Set(body.errors.map((e: FieldErr) => e.pointer))
      for (const p of pointers) t.ok(listed.has(p), `${label}: ${p} is listed`)
      t.ok(body.errors.every((e: FieldErr) => e.in === 'body'))
      t.ok(body.errors.every((e: FieldErr) => pointers.includes(e.pointer)), `${label}: only failing fields are listed`)
    }
    // Exactly 100 characters is fine (boundary), and is then counted below.
    const ok = await app.inject({ method: 'POST', url: '/v1/stations', headers: bureau, payload: { ...newStation, name: '站'.repeat(100) } })
    t.equal(ok.statusCode, 201, '100 characters is accepted')
    t.equal(await stationCount(), before.stations + 1, 'only the valid station was written')
    t.equal(await auditCount(), before.audits + 1)
  })

  t.test('PATCH updates a subset; deactivating hides it from citizens; audited with before and after', async (t) => {
    const created = await app.inject({ method: 'POST', url: '/v1/stations', headers: bureau, payload: { ...newStation, name: '待修改站', districtCode: '440117' } })
    const id: string = created.json().id
    t.same((await list('?district=440117', citizen)).body.items.map((s) => s.id), [id], 'listed while active')

    ctx.clock.set(new Date('2026-12-01T03:00:00Z'))
    t.teardown(() => ctx.clock.set(new Date('2026-12-01T02:00:00Z')))
    const res = await app.inject({ method: 'PATCH', url: `/v1/stations/${id}`, headers: { ...admin, 'x-request-id': 'req-patch-1' }, payload: { active: false, phone: '020-87000007' } })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.match(body, { id, name: '待修改站', districtCode: '440117', address: newStation.address, active: false, phone: '020-87000007', createdAt: '2026-12-01T02:00:00.000Z', updatedAt: '2026-12-01T03:00:00.000Z' })

    const [row] = await db.select().from(stations).where(eq(stations.id, id))
    t.match(row, { active: false, phone: '020-87000007', name: '待修改站', latitude: newStation.latitude })
    t.equal(row!.updatedAt.toISOString(), '2026-12-01T03:00:00.000Z')

    t.same((await list('?district=440117', citizen)).body.items, [], 'gone from the citizen list')
    t.same((await list('?district=440117&includeInactive=true', citizen)).body.items, [], 'even with includeInactive')
    t.same((await list('?district=440117&includeInactive=true', bureau)).body.items.map((s) => s.id), [id], 'bureau still sees it')

    const [audit] = await db.select().from(auditEvents).where(and(eq(auditEvents.targetId, id), eq(auditEvents.action, 'STATION_UPDATED')))
    t.ok(audit, 'STATION_UPDATED audit row')
    t.match(audit, { targetType: 'station', actorRole: 'admin', requestId: 'req-patch-1' })
    t.match(audit!.before, { id, active: true, phone: newStation.phone })
    t.match(audit!.after, { id, active: false, phone: '020-87000007' })

    const rename = await app.inject({ method: 'PATCH', url: `/v1/stations/${id}`, headers: bureau, payload: { name: '新名字站', active: true } })
    t.equal(rename.statusCode, 200)
    t.match(rename.json(), { name: '新名字站', active: true, phone: '020-87000007' }, 'untouched fields are kept')
    t.same((await list('?district=440117', citizen)).body.items.map((s) => s.name), ['新名字站'], 'back in the citizen list')
    const updates = await db.select().from(auditEvents).where(and(eq(auditEvents.targetId, id), eq(auditEvents.action, 'STATION_UPDATED')))
    t.equal(updates.length, 2)
  })

  t.test('PATCH refusals', async (t) => {
    const id = ids.haizhu!
    const [original] = await db.select().from(stations).where(eq(stations.id, id))
    const audits = await auditCount()

    const empty = await app.inject({ method: 'PATCH', url: `/v1/stations/${id}`, headers: bureau, payload: {} })
    t.equal(empty.statusCode, 400, 'empty body is 400')
    t.equal(empty.json().code, 'VALIDATION_FAILED')

    const badField = await app.inject({ method: 'PATCH', url: `/v1/stations/${id}`, headers: bureau, payload: { latitude: '23.0', extra: true } })
    t.equal(badField.statusCode, 400)
    t.same(badField.json().errors.map((e: FieldErr) => e.pointer).sort(), ['/extra', '/latitude'])

    const unknown = await app.inject({ method: 'PATCH', url: `/v1/stations/${randomUUID()}`, headers: bureau, payload: { active: false } })
    t.equal(unknown.statusCode, 404)
    t.match(unknown.headers['content-type'], PROBLEM_JSON)
    t.equal(unknown.json().code, 'STATION_NOT_FOUND')

    const notUuid = await app.inject({ method: 'PATCH', url: '/v1/stations/not-a-uuid', headers: bureau, payload: { active: false } })
    t.equal(notUuid.statusCode, 400)
    t.same(notUuid.json().errors.map((e: FieldErr) => [e.in, e.pointer]), [['path', '/stationId']])

    for (const [role, headers] of [['citizen', citizen], ['station_staff', ctx.auth({ role: 'station_staff', stationId: id })]] as const) {
      const res = await app.inject({ method: 'PATCH', url: `/v1/stations/${id}`, headers, payload: { active: false } })
      t.equal(res.statusCode, 403, `${role} is 403`)
      t.equal(res.json().code, 'FORBIDDEN_ROLE')
    }
    const anonymous = await app.inject({ method: 'PATCH', url: `/v1/stations/${id}`, payload: { active: false } })
    t.equal(anonymous.statusCode, 401)

    const [after] = await db.select().from(stations).where(eq(stations.id, id))
    t.same(after, original, 'the station is unchanged')
    t.equal(await auditCount(), audits, 'no audit written by refused updates')
  })
})
