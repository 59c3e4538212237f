// Holder registry: registration (validation, masking, encryption at rest, duplicates, photos) and audited look-ups.
import { randomUUID } from 'node:crypto'
import { and, count, eq } from 'drizzle-orm'
import t from 'tap'
import { auditEvents, cards, holders, photos } from '../../src/db/schema.js'
import { buildTestApp, PROBLEM_JSON, residentIdentity } from '../helper.js'
import { jpegBytes } from '../fixtures.js'

interface FieldErr { pointer: string; in: string; message: string }

const CARD_PHOTO = jpegBytes(358, 441)
const PHONE = '13800138000'

t.test('holders', async (t) => {
  const ctx = await buildTestApp(t)
  const { app } = ctx
  const db = ctx.database.db
  const bureau = ctx.auth({ role: 'bureau_staff' })
  const admin = ctx.auth({ role: 'admin' })
  const citizen = ctx.auth({ role: 'citizen', identity: residentIdentity(999) })
  const stationId = randomUUID()
  const staff = ctx.auth({ role: 'station_staff', stationId })

  const countOf = async (table: typeof holders | typeof cards | typeof photos | typeof auditEvents) =>
    Number((await db.select({ n: count() }).from(table))[0]!.n)
  const counts = async () => ({ holders: await countOf(holders), cards: await countOf(cards), photos: await countOf(photos), audits: await countOf(auditEvents) })

  let nextSeq = 100
  const registration = (overrides: { identity?: Record<string, unknown>; phone?: unknown; card?: Record<string, unknown> } = {}) => ({
    identity: overrides.identity ?? residentIdentity(nextSeq++),
    phone: overrides.phone ?? PHONE,
    card: overrides.card ?? { cardNumber: 'A12345678', issuedAt: '2026-06-30' }
  })
  // Every ID number sent, so the audit trail can be searched for any of them.
  const sentIdNumbers = new Set<string>()
  const register = (payload: unknown, headers: Record<string, string> = bureau) => {
    const idNumber = (payload as { identity?: { idNumber?: unknown } }).identity?.idNumber
    if (typeof idNumber === 'string') sentIdNumbers.add(idNumber)
    return app.inject({ method: 'POST', url: '/v1/holders', headers, payload: payload as Record<string, unknown> })
  }

  let registeredId = ''
  let registeredIdNumber = ''

  t.test('registration answers 201 masked and stores personal data encrypted', async (t) => {
    const identity = residentIdentity(1, '张三丰')
    registeredIdNumber = identity.idNumber
    const res = await register(registration({ identity, card: { cardNumber: 'A12345678', issuedAt: '2026-06-30' } }), { ...bureau, 'x-request-id': 'req-register-1' })
    t.equal(res.statusCode, 201)
    const body = res.json()
    registeredId = body.id
    const expectedIdMask = `44*****${identity.idNumber.slice(-2)}`
    t.match(identity.idNumber, /^\d{17}[\dX]$/)
    t.same(body, {
      id: body.id,
      identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumberMasked: expectedIdMask, nameMasked: '张*丰' },
      phoneMasked: '138****8000',
      card: { cardNumberMasked: 'A*****8', issuedAt: '2026-06-30', status: 'ACTIVE', warrantyEndsOn: '2027-06-30', hasPhoto: false },
      createdAt: '2026-12-01T02:00:00.000Z',
      updatedAt: '2026-12-01T02:00:00.000Z'
    })
    t.match(body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    t.equal(res.headers.location, `/v1/holders/${body.id}`)
    t.notOk(res.body.includes(identity.idNumber), 'the response does not contain the ID number')
    t.notOk(res.body.includes(PHONE), 'the response does not contain the phone')
    t.notOk(res.body.includes('张三丰'), 'the response does not contain the full name')

    const [row] = await db.select().from(holders).where(eq(holders.id, body.id))
    t.ok(row, 'holder row stored')
    t.match(row, { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', name: '张三丰' })
    t.notOk(row!.idNumberEnc.includes(identity.idNumber), 'id_number_enc is not the plain number')
    t.notOk(row!.phoneEnc.includes(PHONE), 'phone_enc is not the plain phone')
    t.ok(row!.idNumberEnc.length > 0 && row!.phoneEnc.length > 0)
    t.match(row!.identityHash, /^[0-9a-f]{64}$/, 'identity_hash is 64 hex characters')
    const serialized = JSON.stringify(row)
    t.notOk(serialized.includes(identity.idNumber), 'no column holds the plain ID number')
    t.notOk(serialized.includes(PHONE), 'no column holds the plain phone')
    t.notOk(serialized.includes(identity.idNumber.slice(0, 14)), 'not even the area code and birth date in clear')

    const cardRows = await db.select().from(cards).where(eq(cards.holderId, body.id))
    t.equal(cardRows.length, 1)
    t.match(cardRows[0], { cardNumber: 'A12345678', issuedAt: '2026-06-30', status: 'ACTIVE', photoId: null })

    const [audit] = await db.select().from(auditEvents).where(and(eq(auditEvents.targetId, body.id), eq(auditEvents.action, 'HOLDER_REGISTERED')))
    t.ok(audit, 'HOLDER_REGISTERED audit row')
    t.match(audit, { targetType: 'holder', actorRole: 'bureau_staff', actorStationId: null, requestId: 'req-register-1' })
    t.equal(audit!.requestId, res.headers['x-request-id'])
    const after = JSON.stringify(audit!.after)
    t.match(audit!.after, { id: body.id, identity: { idNumberMasked: expectedIdMask, nameMasked: '张*丰' }, phoneMasked: '138****8000' })
    t.notOk(after.includes(identity.idNumber), 'the audit row does not hold the ID number')
    t.notOk(after.includes(PHONE), 'the audit row does not hold the phone')
    t.notOk(JSON.stringify(audit).includes(identity.idNumber), 'nor anywhere else in the audit row')
  })

  t.test('admin may register too; card issued today (Asia/Shanghai) is accepted', async (t) => {
    const res = await register(registration({ card: { cardNumber: 'B98765432', issuedAt: '2026-12-01' } }), admin)
    t.equal(res.statusCode, 201)
    t.match(res.json().card, { issuedAt: '2026-12-01', warrantyEndsOn: '2027-12-01', cardNumberMasked: 'B*****2' })
    // Leap day: the warranty ends on 1 March the next year.
    const leap = await register(registration({ card: { cardNumber: 'C11112222', issuedAt: '2024-02-29' } }), admin)
    t.equal(leap.statusCode, 201)
    t.equal(leap.json().card.warrantyEndsOn, '2025-03-01')
  })

  t.test('a wrong check character is 400 on /identity/idNumber and does not echo the number', async (t) => {
    const before = await counts()
    const valid = residentIdentity(2)
    const last = valid.idNumber.slice(-1)
    const wrong = { ...valid, idNumber: valid.idNumber.slice(0, 17) + (last === '0' ? '1' : '0') }
    const res = await register(registration({ identity: wrong }))
    t.equal(res.statusCode, 400)
    t.match(res.headers['content-type'], PROBLEM_JSON)
    const body = res.json()
    t.equal(body.code, 'VALIDATION_FAILED')
    const error = body.errors.find((e: FieldErr) => e.pointer === '/identity/idNumber')
    t.ok(error, 'the ID number is the failing field')
    t.equal(error?.in, 'body')
    t.match(error?.message, /check character/i)
    t.notOk(res.body.includes(wrong.idNumber), 'the body does not contain the ID number')
    t.notOk(res.body.includes(wrong.idNumber.slice(0, 17)), 'nor its first 17 characters')
    t.same(await counts(), before, 'nothing written')
  })

  t.test('a resident ID card must be from CHN', async (t) => {
    const before = await counts()
    const res = await register(registration({ identity: { ...residentIdentity(3), countryRegion: 'HKG' } }))
    t.equal(res.statusCode, 400)
    const body = res.json()
    t.equal(body.code, 'VALIDATION_FAILED')
    t.ok(body.errors.some((e: FieldErr) => e.pointer === '/identity/countryRegion'), 'countryRegion is the failing field')
    t.same(await counts(), before, 'nothing written')
  })

  t.test('a registered identity is 409, whatever the name and phone', async (t) => {
    const identity = residentIdentity(4, '李四')
    const first = await register(registration({ identity }))
    t.equal(first.statusCode, 201)
    const before = await counts()
    const again = await register(registration({ identity: { ...identity, name: '王五' }, phone: '13900139000', card: { cardNumber: 'Z99999999', issuedAt: '2026-01-01' } }))
    t.equal(again.statusCode, 409)
    t.match(again.headers['content-type'], PROBLEM_JSON)
    t.equal(again.json().code, 'IDENTITY_ALREADY_REGISTERED')
    t.notOk(again.body.includes(identity.idNumber), 'the conflict does not echo the ID number')
    t.same(await counts(), before, 'nothing written by the duplicate (no holder, card or audit)')
    const rows = await db.select().from(holders).where(eq(holders.name, '李四'))
    t.equal(rows.length, 1, 'exactly one holder row for the identity')
    t.equal((await db.select().from(holders).where(eq(holders.name, '王五'))).length, 0)
  })

  t.test('a lowercase x check character is the same identity', async (t) => {
    let seq = 0
    while (seq < 1000 && !residentIdentity(seq).idNumber.endsWith('X')) seq++
    t.ok(seq < 1000, `found an identity ending in X (seq ${seq})`)
    const upper = residentIdentity(seq, '赵六')
    t.match(upper.idNumber, /X$/)
    const first = await register(registration({ identity: upper }))
    t.equal(first.statusCode, 201)
    t.equal(first.json().identity.idNumberMasked, `44*****${upper.idNumber.slice(-2)}`)
    const lower = { ...upper, idNumber: upper.idNumber.slice(0, 17) + 'x' }
    const res = await register(registration({ identity: lower }))
    t.equal(res.statusCode, 409)
    t.equal(res.json().code, 'IDENTITY_ALREADY_REGISTERED')
    t.equal((await db.select().from(holders).where(eq(holders.name, '赵六'))).length, 1)
  })

  t.test('concurrent registrations of one identity: one 201, the rest 409', async (t) => {
    const identity = residentIdentity(5, '钱七')
    const before = await counts()
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      register(registration({ identity, card: { cardNumber: `D0000000${i}`, issuedAt: '2026-03-01' } }))))
    const statuses = results.map((r) => r.statusCode).sort()
    t.same(statuses, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409])
    t.ok(results.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'IDENTITY_ALREADY_REGISTERED'))
    const winner = results.find((r) => r.statusCode === 201)!.json()
    const rows = await db.select().from(holders).where(eq(holders.name, '钱七'))
    t.equal(rows.length, 1, 'one holder row')
    t.equal(rows[0]?.id, winner.id)
    t.equal((await db.select().from(cards).where(eq(cards.holderId, winner.id))).length, 1, 'one card row')
    const after = await counts()
    t.equal(after.holders, before.holders + 1)
    t.equal(after.cards, before.cards + 1)
    t.equal(after.audits, before.audits + 1, 'one HOLDER_REGISTERED audit row')
  })

  t.test('card issue date: future is 422, impossible date is 400', async (t) => {
    const before = await counts()
    const future = await register(registration({ card: { cardNumber: 'E12345678', issuedAt: '2026-12-02' } }))
    t.equal(future.statusCode, 422)
    t.match(future.headers['content-type'], PROBLEM_JSON)
    t.equal(future.json().code, 'CARD_ISSUE_DATE_IN_FUTURE')

    const impossible = await register(registration({ card: { cardNumber: 'E12345678', issuedAt: '2026-02-30' } }))
    t.equal(impossible.statusCode, 400)
    t.equal(impossible.json().code, 'VALIDATION_FAILED')
    t.same(impossible.json().errors.map((e: FieldErr) => e.pointer), ['/card/issuedAt'])

    const wrongShape = await register(registration({ card: { cardNumber: 'E12345678', issuedAt: '2026/06/30' } }))
    t.equal(wrongShape.statusCode, 400)
    t.same(await counts(), before, 'nothing written')

    // At 2026-11-30T17:00Z it is already 1 December in Shanghai, but 2 December is still tomorrow.
    ctx.clock.set('2026-11-30T17:00:00Z')
    t.teardown(() => ctx.clock.set('2026-12-01T02:00:00Z'))
    const shanghaiToday = await register(registration({ card: { cardNumber: 'E12345679', issuedAt: '2026-12-01' } }))
    t.equal(shanghaiToday.statusCode, 201, 'today in Shanghai is not the future even while it is still 30 November in UTC')
    const tomorrow = await register(registration({ card: { cardNumber: 'E12345679', issuedAt: '2026-12-02' } }))
    t.equal(tomorrow.statusCode, 422)
    ctx.clock.set('2026-11-30T15:59:59Z')
    const beforeMidnight = await register(registration({ card: { cardNumber: 'E12345670', issuedAt: '2026-12-01' } }))
    t.equal(beforeMidnight.statusCode, 422, 'one second before midnight in Shanghai, 1 December is still the future')
    t.equal(beforeMidnight.json().code, 'CARD_ISSUE_DATE_IN_FUTURE')
  })

  t.test('card photo', async (t) => {
    t.test('a 358×441 JPEG is stored', async (t) => {
      const before = await counts()
      const res = await register(registration({ card: { cardNumber: 'F12345678', issuedAt: '2026-06-30', photoJpegBase64: CARD_PHOTO.toString('base64') } }))
      t.equal(res.statusCode, 201)
      t.equal(res.json().card.hasPhoto, true)
      const [card] = await db.select().from(cards).where(eq(cards.holderId, res.json().id))
      t.type(card?.photoId, 'string', 'the card points at a photo')
      const [photo] = await db.select().from(photos).where(eq(photos.id, card!.photoId!))
      t.ok(photo, 'photo row stored')
      t.match(photo, { width: 358, height: 441, bytes: CARD_PHOTO.length })
      t.ok(Buffer.from(photo!.jpeg).equals(CARD_PHOTO), 'the stored bytes are the uploaded bytes')
      t.equal((await counts()).photos, before.photos + 1)

      const view = await app.inject({ method: 'GET', url: `/v1/holders/${res.json().id}`, headers: bureau })
      t.equal(view.json().card.hasPhoto, true, 'the look-up shows the photo is on file')
    })

    const refused: Array<[string, string, string]> = [
      ['100×100', jpegBytes(100, 100).toString('base64'), 'DIMENSIONS'],
      ['441×358 (rotated)', jpegBytes(441, 358).toString('base64'), 'DIMENSIONS'],
      ['PNG', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]).toString('base64'), 'FORMAT'],
      ['70,000 bytes', jpegBytes(358, 441, 70_000).toString('base64'), 'SIZE'],
      ['not base64', '!!!', 'FORMAT'],
      ['empty', '', 'FORMAT']
    ]
    for (const [label, photoJpegBase64, requirement] of refused) {
      t.test(`${label} is 422 ${requirement}`, async (t) => {
        const before = await counts()
        const res = await register(registration({ card: { cardNumber: 'G12345678', issuedAt: '2026-06-30', photoJpegBase64 } }))
        t.equal(res.statusCode, 422)
        t.match(res.headers['content-type'], PROBLEM_JSON)
        t.match(res.json(), { code: 'PHOTO_REQUIREMENTS_NOT_MET', requirement })
        t.same(await counts(), before, 'nothing written')
      })
    }

    t.test('exactly the maximum size is accepted', async (t) => {
      t.equal(ctx.config.photoMaxBytes, 61_440)
      const res = await register(registration({ card: { cardNumber: 'H12345678', issuedAt: '2026-06-30', photoJpegBase64: jpegBytes(358, 441, 61_440).toString('base64') } }))
      t.equal(res.statusCode, 201)
      const over = await register(registration({ card: { cardNumber: 'H12345678', issuedAt: '2026-06-30', photoJpegBase64: jpegBytes(358, 441, 61_441).toString('base64') } }))
      t.equal(over.statusCode, 422)
      t.equal(over.json().requirement, 'SIZE')
    })
  })

  t.test('only bureau and admin register', async (t) => {
    const before = await counts()
    for (const [role, headers] of [['citizen', citizen], ['station_staff', staff]] as const) {
      const res = await register(registration(), headers)
      t.equal(res.statusCode, 403, `${role} is 403`)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      t.equal(res.json().code, 'FORBIDDEN_ROLE')
    }
    const anonymous = await app.inject({ method: 'POST', url: '/v1/holders', payload: registration() })
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.json().code, 'TOKEN_MISSING')
    const badToken = await app.inject({ method: 'POST', url: '/v1/holders', headers: { authorization: 'Bearer not.a.token' }, payload: registration() })
    t.equal(badToken.statusCode, 401)
    t.equal(badToken.json().code, 'TOKEN_INVALID')
    t.same(await counts(), before, 'nothing written')
  })

  t.test('malformed bodies are 400 listing the pointers', async (t) => {
    const before = await counts()
    const valid = registration()
    const { card: _card, ...withoutCard } = valid
    const cases: Array<[string, unknown, string[]]> = [
      ['phone 12345', { ...valid, phone: '12345' }, ['/phone']],
      ['unknown top-level field', { ...valid, nickname: '老张' }, ['/nickname']],
      ['missing card', withoutCard, ['/card']],
      ['idNumber as a number', { ...valid, identity: { ...valid.identity, idNumber: 440106198001011 } }, ['/identity/idNumber']],
      ['unknown identity field', { ...valid, identity: { ...valid.identity, gender: 'M' } }, ['/identity/gender']],
      ['lowercase card number', { ...valid, card: { cardNumber: 'a12345678', issuedAt: '2026-06-30' } }, ['/card/cardNumber']],
      ['several at once', { ...valid, phone: 13800138000, extra: true, card: { issuedAt: '2026-06-30' } }, ['/phone', '/extra', '/card/cardNumber']]
    ]
    for (const [label, payload, pointers] of cases) {
      const res = await register(payload)
      t.equal(res.statusCode, 400, `${label}: 400`)
      const body = res.json()
      t.equal(body.code, 'VALIDATION_FAILED')
      const listed = body.errors.map((e: FieldErr) => e.pointer)
      for (const p of pointers) t.ok(listed.includes(p), `${label}: ${p} is listed`)
      t.ok(listed.every((p: string) => pointers.includes(p)), `${label}: only failing fields are listed (${listed.join(', ')})`)
      t.ok(body.errors.every((e: FieldErr) => e.in === 'body'))
      t.notOk(res.body.includes(PHONE), `${label}: the phone is not echoed`)
    }
    t.same(await counts(), before, 'nothing written')
  })

  t.test('GET /v1/holders/{id}: staff see the holder masked; every look-up is audited', async (t) => {
    t.ok(registeredId !== '', 'a holder was registered earlier')
    for (const [role, headers, expectedStation] of [
      ['station_staff', staff, stationId], ['bureau_staff', bureau, null], ['admin', admin, null]
    ] as const) {
      const requestId = `req-view-${role}`
      const res = await app.inject({ method: 'GET', url: `/v1/holders/${registeredId}`, headers: { ...headers, 'x-request-id': requestId } })
      t.equal(res.statusCode, 200, `${role} may look up`)
      t.match(res.json(), {
        id: registeredId,
        identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumberMasked: `44*****${registeredIdNumber.slice(-2)}`, nameMasked: '张*丰' },
        phoneMasked: '138****8000',
        card: { cardNumberMasked: 'A*****8', issuedAt: '2026-06-30', status: 'ACTIVE', warrantyEndsOn: '2027-06-30', hasPhoto: false }
      })
      t.notOk(res.body.includes(registeredIdNumber), 'no plain ID number')
      t.notOk(res.body.includes(PHONE), 'no plain phone')
      const audits = await db.select().from(auditEvents).where(eq(auditEvents.requestId, requestId))
      t.equal(audits.length, 1, `${role}'s look-up is audited once`)
      t.match(audits[0], { action: 'HOLDER_VIEWED', targetType: 'holder', targetId: registeredId, actorRole: role, actorStationId: expectedStation })
      t.equal(audits[0]!.actorStationId, expectedStation)
    }
    const views = await db.select().from(auditEvents).where(and(eq(auditEvents.action, 'HOLDER_VIEWED'), eq(auditEvents.targetId, registeredId)))
    t.equal(views.length, 3, 'three look-ups, three audit rows')
  })

  t.test('GET refusals write no audit', async (t) => {
    const before = await countOf(auditEvents)
    const asCitizen = await app.inject({ method: 'GET', url: `/v1/holders/${registeredId}`, headers: citizen })
    t.equal(asCitizen.statusCode, 403)
    t.equal(asCitizen.json().code, 'FORBIDDEN_ROLE')
    const anonymous = await app.inject({ method: 'GET', url: `/v1/holders/${registeredId}` })
    t.equal(anonymous.statusCode, 401)
    const unknown = await app.inject({ method: 'GET', url: `/v1/holders/${randomUUID()}`, headers: bureau })
    t.equal(unknown.statusCode, 404)
    t.match(unknown.headers['content-type'], PROBLEM_JSON)
    t.equal(unknown.json().code, 'HOLDER_NOT_FOUND')
    const notUuid = await app.inject({ method: 'GET', url: '/v1/holders/12345', headers: staff })
    t.equal(notUuid.statusCode, 400)
    t.same(notUuid.json().errors.map((e: FieldErr) => [e.in, e.pointer]), [['path', '/holderId']])
    t.equal(await countOf(auditEvents), before, 'no audit rows for refused look-ups')
  })

  t.test('no audit row of a registration holds a plain ID number or phone', async (t) => {
    const registered = await db.select().from(auditEvents).where(eq(auditEvents.action, 'HOLDER_REGISTERED'))
    t.equal(registered.length, await countOf(holders), 'one HOLDER_REGISTERED row per holder')
    t.ok(sentIdNumbers.size >= registered.length)
    for (const row of registered) {
      const after = JSON.stringify(row.after)
      for (const idNumber of sentIdNumbers) t.notOk(after.toUpperCase().includes(idNumber.toUpperCase()), `audit ${row.id} does not hold a sent ID number`)
      t.notOk(after.includes(PHONE), `audit ${row.id} has no plain phone`)
      t.notOk(/\d{17}[\dXx]/.test(after), `audit ${row.id} has no 18-character ID number`)
      t.notOk(/1[3-9]\d{9}/.test(after), `audit ${row.id} has no 11-digit phone`)
      t.match(row.after, { phoneMasked: /^\d{3}\*{4}\d{4}$/, identity: { idNumberMasked: /^.{2}\*{5}.{2}$/ } })
    }
  })
})
