// POST /v1/photos: raw JPEG bytes checked from the bytes themselves, who may upload, and who may use an upload.
import { randomUUID } from 'node:crypto'
import { count, eq } from 'drizzle-orm'
import t from 'tap'
import { applications, photos } from '../../src/db/schema.js'
import { buildTestApp, PROBLEM_JSON, residentIdentity, type TestContext } from '../helper.js'
import { createStation, jpegBytes } from '../fixtures.js'

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x01, 0x66])

/** Registers a holder with a card (no photo on file); answers the citizen's authorization header. */
async function registerHolder (ctx: TestContext, seq: number): Promise<{ authorization: string }> {
  const identity = residentIdentity(seq, '欧阳明')
  const res = await ctx.app.inject({
    method: 'POST', url: '/v1/holders', headers: ctx.auth({ role: 'bureau_staff' }),
    payload: { identity, phone: '13800138000', card: { cardNumber: 'A12345678', issuedAt: '2025-06-30' } }
  })
  if (res.statusCode !== 201) throw new Error(`holder not registered: ${res.statusCode} ${res.body}`)
  return ctx.auth({ role: 'citizen', identity })
}

t.test('photo uploads', async (t) => {
  const ctx = await buildTestApp(t)
  const { app } = ctx
  const db = ctx.database.db
  const stationId = await createStation(ctx)
  const citizen = await registerHolder(ctx, 1)
  const otherCitizen = await registerHolder(ctx, 2)
  const staff = ctx.auth({ role: 'station_staff', stationId, subject: 'staff-0042' })

  const photoCount = async () => Number((await db.select({ n: count() }).from(photos))[0]!.n)
  const upload = (payload: Buffer | string, headers: Record<string, string> = citizen, contentType = 'image/jpeg') =>
    app.inject({ method: 'POST', url: '/v1/photos', headers: { ...headers, 'content-type': contentType }, payload })
  const apply = (headers: Record<string, string>, photo: Record<string, unknown>) => app.inject({
    method: 'POST', url: '/v1/applications', headers, payload: { type: 'LOST', pickupStationId: stationId, oldCardConfirmed: true, photo }
  })

  let citizenPhotoId = ''
  let staffPhotoId = ''

  t.test('a 358×441 JPEG is stored, marked with its uploader', async (t) => {
    const before = await photoCount()
    const bytes = jpegBytes(358, 441, 4096)
    const res = await upload(bytes)
    t.equal(res.statusCode, 201)
    const body = res.json()
    t.same(body, { photoId: body.photoId, width: 358, height: 441, bytes: 4096 })
    t.match(body.photoId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    citizenPhotoId = body.photoId
    t.equal(await photoCount(), before + 1, 'one row added')
    const [row] = await db.select().from(photos).where(eq(photos.id, body.photoId))
    t.ok(row, 'photos row stored')
    t.match(row, { width: 358, height: 441, bytes: 4096 })
    t.ok(row!.jpeg.equals(bytes), 'the stored bytes are the uploaded bytes')
    t.type(row!.uploadedBy, 'string')
    t.match(row!.uploadedBy, /^citizen:/, 'uploaded_by names the citizen')
  })

  t.test('station staff may upload too', async (t) => {
    const res = await upload(jpegBytes(358, 441), staff)
    t.equal(res.statusCode, 201)
    t.match(res.json(), { width: 358, height: 441, bytes: jpegBytes(358, 441).length })
    staffPhotoId = res.json().photoId
    const [row] = await db.select().from(photos).where(eq(photos.id, staffPhotoId))
    t.equal(row?.uploadedBy, 'station_staff:staff-0042')
  })

  t.test('refused uploads write nothing', async (t) => {
    const cases: Array<[string, () => ReturnType<typeof upload>, number, string, string | undefined]> = [
      ['PNG bytes declared as image/jpeg', () => upload(PNG), 422, 'PHOTO_REQUIREMENTS_NOT_MET', 'FORMAT'],
      ['100×100 JPEG', () => upload(jpegBytes(100, 100)), 422, 'PHOTO_REQUIREMENTS_NOT_MET', 'DIMENSIONS'],
      ['441×358 JPEG (rotated)', () => upload(jpegBytes(441, 358)), 422, 'PHOTO_REQUIREMENTS_NOT_MET', 'DIMENSIONS'],
      ['a valid header padded to 70,000 bytes', () => upload(jpegBytes(358, 441, 70_000)), 422, 'PHOTO_REQUIREMENTS_NOT_MET', 'SIZE'],
      ['over 1 MiB', () => upload(jpegBytes(358, 441, 1024 * 1024 + 1)), 413, 'PAYLOAD_TOO_LARGE', undefined],
      ['declared image/png', () => upload(PNG, citizen, 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE', undefined],
      ['bureau staff', () => upload(jpegBytes(358, 441), ctx.auth({ role: 'bureau_staff' })), 403, 'FORBIDDEN_ROLE', undefined],
      ['admin', () => upload(jpegBytes(358, 441), ctx.auth({ role: 'admin' })), 403, 'FORBIDDEN_ROLE', undefined],
      ['no token', () => upload(jpegBytes(358, 441), {}), 401, 'TOKEN_MISSING', undefined]
    ]
    for (const [label, request, status, code, requirement] of cases) {
      const before = await photoCount()
      const res = await request()
      t.equal(res.statusCode, status, `${label}: ${status}`)
      t.match(res.headers['content-type'], PROBLEM_JSON, `${label}: problem+json`)
      t.equal(res.json().code, code, `${label}: ${code}`)
      if (requirement !== undefined) t.equal(res.json().requirement, requirement, `${label}: requirement ${requirement}`)
      t.equal(await photoCount(), before, `${label}: nothing written`)
    }
  })

  // Known bug in src/photos/routes.ts: the app-wide JSON parser still applies to this route and its validator accepts
  // anything, so a JSON body reaches the photo check (422, or 500 for `null`), and a JSON array of JPEG bytes is stored.
  t.test('a body declared application/json is 415 and writes nothing', async (t) => {
    const header = [...jpegBytes(358, 441)]
    const bodies: Array<[string, string]> = [
      ['an object', JSON.stringify({ photo: jpegBytes(358, 441).toString('base64') })],
      ['an array of JPEG bytes', JSON.stringify(header)],
      ['null', 'null']
    ]
    for (const [label, payload] of bodies) {
      const before = await photoCount()
      const res = await upload(payload, citizen, 'application/json')
      t.equal(res.statusCode, 415, `${label}: 415`)
      t.match(res.headers['content-type'], PROBLEM_JSON, `${label}: problem+json`)
      t.equal(res.json().code, 'UNSUPPORTED_MEDIA_TYPE', `${label}: UNSUPPORTED_MEDIA_TYPE`)
      t.equal(await photoCount(), before, `${label}: nothing written`)
    }
  })

  t.test('exactly the maximum size is accepted, one byte more is SIZE', async (t) => {
    t.equal(ctx.config.photoMaxBytes, 61_440)
    const ok = await upload(jpegBytes(358, 441, 61_440))
    t.equal(ok.statusCode, 201)
    t.equal(ok.json().bytes, 61_440)
    const over = await upload(jpegBytes(358, 441, 61_441))
    t.equal(over.statusCode, 422)
    t.equal(over.json().requirement, 'SIZE')
  })

  t.test('an upload is used by its uploader only', async (t) => {
    t.ok(citizenPhotoId !== '' && staffPhotoId !== '', 'photos were uploaded earlier')
    const applicationsBefore = Number((await db.select({ n: count() }).from(applications))[0]!.n)

    const refusals: Array<[string, Record<string, string>, string]> = [
      ['another citizen using the photo', otherCitizen, citizenPhotoId],
      ['a citizen using station staff\'s upload', otherCitizen, staffPhotoId],
      ['a photo id that does not exist', otherCitizen, randomUUID()]
    ]
    for (const [label, headers, photoId] of refusals) {
      const res = await apply(headers, { source: 'UPLOAD', photoId })
      t.equal(res.statusCode, 422, `${label}: 422`)
      t.match(res.headers['content-type'], PROBLEM_JSON)
      t.equal(res.json().code, 'PHOTO_NOT_FOUND', `${label}: PHOTO_NOT_FOUND`)
    }
    t.equal(Number((await db.select({ n: count() }).from(applications))[0]!.n), applicationsBefore, 'no application written')

    const res = await apply(citizen, { source: 'UPLOAD', photoId: citizenPhotoId })
    t.equal(res.statusCode, 201, 'the uploader may apply with it')
    const [row] = await db.select().from(applications).where(eq(applications.id, res.json().id))
    t.match(row, { photoSource: 'UPLOAD', photoId: citizenPhotoId })
  })
})
