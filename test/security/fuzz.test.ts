// Fuzzing from the contract: requests derived from the OpenAPI document's schemas, valid and broken, against a seeded
// service. Every answer: no 5xx; every refusal is problem+json with a code and leaves the database as it was.
// FUZZ_RUNS (default 25) runs per operation with a fixed seed (FUZZ_SEED, default 42); `npm run test:fuzz` runs 1000.
import fc from 'fast-check'
import t from 'tap'
import { signPayload } from '../../src/payments/signature.js'
import { buildTestApp, residentIdentity, type TestContext } from '../helper.js'
import { applyBody, createStation, jpegBytes, notify, paymentFor, registerHolder, submit, type Holder } from '../fixtures.js'
import {
  ADMITTED_ROLES, allowedWrites, answerViolations, changedTables, describeCase, fingerprint, INVALID_JSON, loadOperations,
  requestArbitrary, serviceTables, WRONG_CONTENT_TYPES, type FuzzCase, type Operation, type World
} from './fuzz-arbitraries.js'

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 25)
const SEED = Number(process.env.FUZZ_SEED ?? 42)

/** Not fuzzed: operational endpoints outside the API, which take no input. */
const EXCLUDED = (op: Operation) => op.path === '/metrics' || op.path.startsWith('/health/')

const operations = loadOperations()
const fuzzed = operations.filter((op) => !EXCLUDED(op))

// About 50 ms a request with its two fingerprints on the embedded database; leave room for shrinking a failure.
t.setTimeout(Math.max(120_000, 60_000 + NUM_RUNS * fuzzed.length * 150))

t.test('the fuzzer knows who may call every operation of the document', async (t) => {
  t.same(fuzzed.map((op) => op.id).filter((id) => !(id in ADMITTED_ROLES)), [], 'every operation has its roles listed')
  t.same(Object.keys(ADMITTED_ROLES).filter((id) => !fuzzed.some((op) => op.id === id)), [], 'no role entry for an operation that is gone')
  for (const op of fuzzed) {
    t.equal(op.auth === 'bearer', (ADMITTED_ROLES[op.id] ?? []).length > 0, `${op.id}: bearer security in the document matches the role table`)
  }
})

interface Seeded {
  world: World
  /** What the regression inputs need by name. */
  named: { stationA: string; unpaid: string; inProduction: string; warranty: string; unpaidHolder: Holder; uploader: Holder }
}

/** A station, holders in every interesting state, applications unpaid, paid, in production, awaiting approval and cancelled. */
async function seed (ctx: TestContext): Promise<Seeded> {
  const { app } = ctx
  const bureau = ctx.auth({ role: 'bureau_staff' })
  const stationA = await createStation(ctx)
  const stationB = await createStation(ctx, { name: '越秀区退役军人服务站', districtCode: '440104', address: '越秀路2号', latitude: 23.13, longitude: 113.27 })
  const stationOff = await createStation(ctx, { name: '已停用服务站', districtCode: '440111' })
  const off = await app.inject({ method: 'PATCH', url: `/v1/stations/${stationOff}`, headers: bureau, payload: { active: false } })
  if (off.statusCode !== 200) throw new Error(`deactivate: ${off.statusCode} ${off.body}`)

  const unpaidHolder = await registerHolder(ctx, 1)
  const paidHolder = await registerHolder(ctx, 2)
  const cancelHolder = await registerHolder(ctx, 3)
  const uploader = await registerHolder(ctx, 4)
  const noPhoto = await registerHolder(ctx, 5, { photo: false })
  const warrantyHolder = await registerHolder(ctx, 6, { issuedAt: '2026-06-01' })

  const created = async (res: Awaited<ReturnType<typeof submit>>) => {
    if (res.statusCode !== 201) throw new Error(`apply: ${res.statusCode} ${res.body}`)
    return res.json() as { id: string; payment?: { code: string } }
  }
  const unpaid = await created(await submit(ctx, unpaidHolder, applyBody(stationA)))
  const paid = await created(await submit(ctx, paidHolder, applyBody(stationA, { type: 'DAMAGED' })))
  const payment = await notify(ctx, paymentFor(paid.payment!.code, ctx.clock.now()))
  if (payment.statusCode !== 200) throw new Error(`pay: ${payment.statusCode} ${payment.body}`)
  const moved = await app.inject({ method: 'POST', url: `/v1/applications/${paid.id}/stage`, headers: { ...bureau, 'if-match': '*' }, payload: { to: 'IN_PRODUCTION' } })
  if (moved.statusCode !== 200) throw new Error(`move: ${moved.statusCode} ${moved.body}`)
  const cancelled = await created(await submit(ctx, cancelHolder, applyBody(stationB)))
  const cancel = await app.inject({ method: 'POST', url: `/v1/applications/${cancelled.id}/cancel`, headers: cancelHolder.headers })
  if (cancel.statusCode !== 200) throw new Error(`cancel: ${cancel.statusCode} ${cancel.body}`)
  const warranty = await app.inject({
    method: 'POST', url: '/v1/station/applications', headers: ctx.auth({ role: 'station_staff', stationId: stationA }),
    payload: { holderId: warrantyHolder.id, type: 'WARRANTY', oldCardConfirmed: true, photo: { source: 'CARD' }, damage: { causes: ['CHIP_UNREADABLE'] } }
  })
  const warrantyApplication = await created(warranty)
  const photo = await app.inject({ method: 'POST', url: '/v1/photos', headers: { ...uploader.headers, 'content-type': 'image/jpeg' }, payload: jpegBytes() })
  if (photo.statusCode !== 201) throw new Error(`photo: ${photo.statusCode} ${photo.body}`)

  const holders = [unpaidHolder, paidHolder, cancelHolder, uploader, noPhoto, warrantyHolder]
  const world: World = {
    stationIds: [stationA, stationB, stationOff],
    holderIds: holders.map((h) => h.id),
    applicationIds: [unpaid.id, paid.id, cancelled.id, warrantyApplication.id],
    photoIds: [photo.json().photoId],
    paymentCodes: [unpaid.payment!.code, paid.payment!.code, cancelled.payment!.code],
    identities: [...holders.map((h) => h.identity), residentIdentity(900, '未登记')],
    staffStationId: stationA,
    token: ctx.token,
    sign: (raw, skewSeconds = 0) => signPayload(ctx.config.paymentWebhookSecret, Math.floor(ctx.clock.now().getTime() / 1000) + skewSeconds, raw),
    jpeg: (width, height, padTo) => jpegBytes(width, height, padTo)
  }
  return { world, named: { stationA, unpaid: unpaid.id, inProduction: paid.id, warranty: warrantyApplication.id, unpaidHolder, uploader } }
}

let clients = 0

/** Sends one case and returns every property it breaks. Each request comes from its own address, so no rate limit hides a path. */
async function execute (ctx: TestContext, tables: string[], c: FuzzCase): Promise<{ status: number; violations: string[] }> {
  const before = await fingerprint(ctx.database, tables)
  const n = ++clients
  const res = await ctx.app.inject({
    method: c.method as 'GET', url: c.url, headers: c.headers, remoteAddress: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    ...(c.payload === undefined ? {} : { payload: c.payload })
  })
  const violations = answerViolations(c, res)
  if (res.statusCode >= 400) {
    const allowed = allowedWrites(c)
    for (const change of changedTables(before, await fingerprint(ctx.database, tables))) {
      if (!allowed.has(change.table)) violations.push(`refused with ${res.statusCode} but wrote ${change.description}`)
    }
  }
  return { status: res.statusCode, violations }
}

t.test('fuzzing from the contract', async (t) => {
  const ctx = await buildTestApp(t, { config: { PROGRESS_QUERY_LIMIT_PER_TOKEN: 100_000, PROGRESS_QUERY_LIMIT_PER_IP: 1_000_000 } })
  const { world } = await seed(ctx)
  const tables = await serviceTables(ctx.database)
  t.ok(tables.length >= 11, `fingerprinting ${tables.length} tables: ${tables.join(', ')}`)

  t.test('the fingerprint sees a write and nothing else', async (t) => {
    const before = await fingerprint(ctx.database, tables)
    await ctx.app.inject({ method: 'GET', url: '/v1/stations', headers: ctx.auth({ role: 'admin' }) })
    t.same(changedTables(before, await fingerprint(ctx.database, tables)), [], 'a read changes nothing')
    const patched = await ctx.app.inject({ method: 'PATCH', url: `/v1/stations/${world.stationIds[1]}`, headers: ctx.auth({ role: 'admin' }), payload: { phone: '020-12345678' } })
    t.equal(patched.statusCode, 200)
    t.same(changedTables(before, await fingerprint(ctx.database, tables)).map((c) => c.table), ['audit_events', 'stations'], 'an update and its audit row are seen')
  })

  for (const op of fuzzed) {
    t.test(`${op.id}: ${op.method} ${op.path}`, async (t) => {
      const seen = new Map<string, number>()
      try {
        await fc.assert(fc.asyncProperty(requestArbitrary(op, world, ctx.clock.now()), async (c) => {
          const { status, violations } = await execute(ctx, tables, c)
          const key = `${c.focus}→${status}`
          seen.set(key, (seen.get(key) ?? 0) + 1)
          if (violations.length > 0) throw new Error(violations.join('\n'))
        }), { numRuns: NUM_RUNS, seed: SEED, timeout: 15_000 })
        t.pass(`${NUM_RUNS} requests, seed ${SEED}`)
      } catch (error) {
        // fast-check keeps what the property threw as the cause; its message has the shrunk counterexample and the seed/path to replay.
        const cause = (error as Error).cause
        const violations = cause instanceof Error ? cause.message : String(cause)
        const request = /Counterexample: \[(.*)/.exec((error as Error).message)?.[1] ?? ''
        t.fail(`${op.id}: ${violations.split('\n')[0]} ← ${request}`, { violations, fastCheck: (error as Error).message })
      }
      t.comment([...seen.entries()].sort().map(([k, v]) => `${k} ×${v}`).join(', '))
    })
  }

  t.test('invalid JSON and wrong content types are 400/415 problem+json for every operation with a body', async (t) => {
    const withBody = fuzzed.filter((op) => op.body !== undefined)
    t.ok(withBody.length >= 10, `${withBody.length} operations take a body`)
    for (const op of withBody) {
      const role = (ADMITTED_ROLES[op.id] ?? [])[0]
      const credentials: Record<string, string> = role === undefined ? {}
        : ctx.auth(role === 'citizen' ? { role, identity: world.identities[0]! } : role === 'station_staff' ? { role, stationId: world.staffStationId } : { role })
      const ids: Record<string, string> = { stationId: world.stationIds[0]!, holderId: world.holderIds[0]!, applicationId: world.applicationIds[0]!, code: world.paymentCodes[0]! }
      const url = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => ids[name] ?? 'x')
      const send = async (kind: string, contentType: string, payload: string | Buffer, expected: number) => {
        const signed = op.auth === 'signature'
        const c: FuzzCase = {
          operationId: op.id, focus: 'raw-body', label: kind, method: op.method, url, payload, signed, idempotencyKey: false,
          headers: { ...credentials, 'content-type': contentType, 'if-match': '*', ...(signed ? { 'x-payment-signature': world.sign(payload.toString()) } : {}) }
        }
        const { status, violations } = await execute(ctx, tables, c)
        t.same(violations, [], `${op.id} ${kind}: no violation`)
        t.equal(status, expected, `${op.id} ${kind} → ${expected}`, { case: describeCase(c) })
      }
      if (op.body?.contentType === 'application/json') {
        for (const text of [...INVALID_JSON, '']) await send(`invalid JSON ${JSON.stringify(text.slice(0, 20))}`, 'application/json', text, 400)
        for (const w of WRONG_CONTENT_TYPES) await send(`content-type ${w.contentType}`, w.contentType, w.payload('{}'), 415)
      } else {
        for (const w of [...WRONG_CONTENT_TYPES.filter((w) => w.contentType !== 'image/jpeg'), { contentType: 'application/json', payload: () => '{}' }]) {
          await send(`content-type ${w.contentType}`, w.contentType, w.payload('{}'), 415)
        }
      }
    }
  })
})

/** Inputs the fuzzer found, kept as fixed cases so they are tried on every run whatever the seed (one line each: what is odd). */
function regressions (w: Seeded['world'], n: Seeded['named'], auth: TestContext['auth']): Array<Omit<FuzzCase, 'focus' | 'operationId' | 'signed' | 'idempotencyKey'> & { signed?: boolean }> {
  const bureau = auth({ role: 'bureau_staff' })
  const staff = auth({ role: 'station_staff', stationId: n.stationA })
  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const notification = (overrides: Record<string, unknown>) => JSON.stringify({
    notificationId: `n-${JSON.stringify(overrides).length}`, paymentCode: w.paymentCodes[0], amountFen: 2000, paidAt: '2026-12-01T01:00:00Z', platformTransactionId: 'txn-regression', ...overrides
  })
  const signed = (raw: string) => ({ method: 'POST', url: '/v1/payment-notifications', headers: { 'content-type': 'application/json', 'x-payment-signature': w.sign(raw) }, payload: raw, signed: true })
  return [
    { label: 'malformed percent-encoding in a path parameter', method: 'GET', url: '/v1/applications/%ZZ', headers: bureau },
    { label: 'path parameter longer than maxParamLength (200)', method: 'GET', url: `/v1/holders/${'a'.repeat(201)}`, headers: bureau },
    { label: 'urn:uuid: id in the path (format uuid admits it, PostgreSQL does not)', method: 'GET', url: `/v1/holders/urn:uuid:${w.holderIds[0]}`, headers: bureau },
    { label: 'urn:uuid: id in a body', method: 'POST', url: '/v1/applications', headers: n.uploader.headers, payload: JSON.stringify(applyBody(`urn:uuid:${n.stationA}`, { type: 'DAMAGED' })) },
    { label: 'date 0000-01-01 (format date admits it, PostgreSQL has no year 0)', method: 'POST', url: '/v1/holders', headers: bureau, payload: JSON.stringify({ identity: residentIdentity(901), phone: '13000000000', card: { cardNumber: 'A0A0A0', issuedAt: '0000-01-01' } }) },
    { label: 'NUL in a text field', method: 'POST', url: '/v1/stations', headers: bureau, payload: JSON.stringify({ name: 'a\u0000b', districtCode: '440106', address: 'x', phone: '020-83000000', latitude: 23, longitude: 113 }) },
    { label: 'NUL in a note kept as JSON', method: 'POST', url: `/v1/applications/${n.inProduction}/stage`, headers: { ...bureau, 'if-match': '*' }, payload: JSON.stringify({ to: 'READY_FOR_PICKUP', note: '\u0000' }) },
    { label: 'NUL in a rejection reason', method: 'POST', url: `/v1/applications/${n.warranty}/warranty-decision`, headers: bureau, payload: JSON.stringify({ approve: false, reason: '\u0000' }) },
    { label: 'NUL in a query filter', method: 'GET', url: '/v1/audit-events?actorId=%00', headers: bureau },
    { label: 'leap second (date-time admits :60, Date does not)', method: 'GET', url: '/v1/audit-events?from=2016-12-31T23:59:60Z', headers: bureau },
    { label: 'year 0000 instant', method: 'GET', url: '/v1/audit-events?from=0000-01-01T00:00:00Z', headers: bureau },
    { label: 'cursor offset beyond bigint', method: 'GET', url: `/v1/stations?cursor=${cursor({ offset: 1e308 })}`, headers: bureau },
    { label: 'cursor id of 36 dashes', method: 'GET', url: `/v1/me/applications?cursor=${cursor({ createdAt: '2026-12-01T00:00:00Z', id: '-'.repeat(36) })}`, headers: n.unpaidHolder.headers },
    { label: 'cursor instant beyond PostgreSQL\'s range', method: 'GET', url: `/v1/station/applications?cursor=${cursor({ createdAt: '+275760-09-13T00:00:00.000Z', id: n.unpaid })}`, headers: staff },
    { label: 'signed notification paid at a leap second', ...signed(notification({ paidAt: '2016-12-31T23:59:60Z' })) },
    { label: 'signed notification paid in year 0000', ...signed(notification({ paidAt: '0000-01-01T00:00:00Z' })) },
    { label: 'signed notification with NUL in a string field', ...signed(notification({ platformTransactionId: 'a\u0000b' })) },
    { label: 'signed notification with a NUL byte in its raw body', ...signed('{"notificationId":"\u0000"') }
  ]
}

t.test('inputs fuzzing found stay fixed', async (t) => {
  const ctx = await buildTestApp(t)
  const { world, named } = await seed(ctx)
  const tables = await serviceTables(ctx.database)
  for (const r of regressions(world, named, ctx.auth)) {
    const c: FuzzCase = { operationId: 'regression', focus: 'regression', signed: false, idempotencyKey: false, ...r }
    if (c.payload !== undefined) c.headers = { 'content-type': 'application/json', ...c.headers }
    const { status, violations } = await execute(ctx, tables, c)
    t.same(violations, [], `${r.label} → ${status}`, { case: describeCase(c) })
  }
})
