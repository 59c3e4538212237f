// Benchmark data, inserted with set-based SQL: holders the service can find (real PII encryption and
// identity hashes), their applications, and a million expired unpaid applications for the sweep.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { startOfShanghaiDay, shanghaiDate } from '../../src/domain/calendar.js'
import { mod11_2CheckChar } from '../../src/domain/iso7064.js'
import { identityLookupKey, normalizeIdentity, type Identity } from '../../src/domain/identity.js'
import { composePaymentCode } from '../../src/domain/payment-code.js'
import { CARD_PHOTO_HEIGHT, CARD_PHOTO_WIDTH } from '../../src/domain/jpeg.js'
import { openDatabase } from '../../src/db/client.js'
import { runMigrations } from '../../src/db/migrate.js'
import { SAMPLE_STATIONS } from '../../src/db/sample-data.js'
import { SAMPLE_CARD_PHOTO_JPEG_BASE64 } from '../../src/db/sample-photo.js'
import { sampleStationId } from '../../src/db/seed.js'
import type { PiiCipher } from '../../src/shared/pii.js'

const NAMES = ['陈军', '李明华', '王建国', '张桂兰', '刘志强', '黄丽娟', '周国平', '吴秀英', '欧阳振华', '梁淑芬']
const DAY_MS = 86_400_000

/** A valid resident identity for benchmark holder `i`: birth dates from 1940 on, 1,000 holders per birth date. */
export function identityOf (i: number): Identity {
  const birth = new Date(Date.UTC(1940, 0, 1) + Math.floor(i / 1000) * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')
  const body = `440106${birth}${String(i % 1000).padStart(3, '0')}`
  return { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: body + mod11_2CheckChar(body), name: NAMES[i % NAMES.length]! }
}

export function databaseUrl (serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

/** Creates (or re-creates) a database, optionally as a file copy of a template. */
export async function createDatabase (admin: pg.Client, name: string, template?: string): Promise<void> {
  await admin.query(`drop database if exists "${name}" with (force)`)
  await admin.query(template === undefined
    ? `create database "${name}"`
    : `create database "${name}" template "${template}" strategy file_copy`)
}

export async function dropDatabase (admin: pg.Client, name: string): Promise<void> {
  await admin.query(`drop database if exists "${name}" with (force)`)
}

export async function migrate (url: string): Promise<void> {
  const database = await openDatabase({ kind: 'postgres', url, poolMax: 2 })
  try {
    await runMigrations(database)
  } finally {
    await database.close()
  }
}

export interface Base { stationIds: string[]; photoId: string }

/** The sample stations (with their fixed ids) and one card photo every seeded card shares. */
export async function seedBase (client: pg.ClientBase, now: Date): Promise<Base> {
  const stationIds = SAMPLE_STATIONS.map((_, i) => sampleStationId(i))
  for (const [i, s] of SAMPLE_STATIONS.entries()) {
    await client.query(
      'insert into stations (id, name, district_code, address, phone, latitude, longitude, active, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, true, $8, $8)',
      [stationIds[i], s.name, s.districtCode, s.address, s.phone, s.latitude, s.longitude, now])
  }
  const jpeg = Buffer.from(SAMPLE_CARD_PHOTO_JPEG_BASE64, 'base64')
  const { rows } = await client.query<{ id: string }>(
    'insert into photos (jpeg, width, height, bytes, created_at) values ($1, $2, $3, $4, $5) returning id',
    [jpeg, CARD_PHOTO_WIDTH, CARD_PHOTO_HEIGHT, jpeg.length, now])
  return { stationIds, photoId: rows[0]!.id }
}

export interface PoolHolder {
  index: number
  identity: Identity
  identityHash: string
  holderId: string
  cardId: string
  applicationId?: string
  paymentCode?: string
}

const CHUNK = 5000
async function inChunks<T> (items: T[], work: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CHUNK) await work(items.slice(i, i + CHUNK))
}

/** Holders `first` … `first + count - 1`, encrypted and hashed as the holders repository does, each with a current card. */
export async function seedHolders (client: pg.ClientBase, pii: PiiCipher, options: { first: number; count: number; photoId: string; now: Date }): Promise<PoolHolder[]> {
  const holders: PoolHolder[] = []
  for (let n = 0; n < options.count; n++) {
    const index = options.first + n
    const identity = normalizeIdentity(identityOf(index))
    holders.push({ index, identity, identityHash: pii.hash(identityLookupKey(identity)), holderId: randomUUID(), cardId: randomUUID() })
  }
  await inChunks(holders, async (chunk) => {
    const phones = chunk.map((h) => `139${String(h.index).padStart(8, '0')}`)
    await client.query(`
      insert into holders (id, country_region, id_type, id_number_enc, identity_hash, name, phone_enc, phone_hash, created_at, updated_at)
      select id, 'CHN', 'RESIDENT_ID_CARD', id_number_enc, identity_hash, name, phone_enc, phone_hash, $7, $7
      from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) as t(id, id_number_enc, identity_hash, name, phone_enc, phone_hash)`,
    [chunk.map((h) => h.holderId), chunk.map((h) => pii.encrypt(h.identity.idNumber)), chunk.map((h) => h.identityHash),
      chunk.map((h) => h.identity.name), phones.map((p) => pii.encrypt(p)), phones.map((p) => pii.hash(p)), options.now])
    await client.query(`
      insert into cards (id, holder_id, card_number, issued_at, status, photo_id, created_at)
      select id, holder_id, 'B' || lpad(n::text, 8, '0'), '2020-01-01', 'ACTIVE', $4, $5
      from unnest($1::uuid[], $2::uuid[], $3::int[]) as t(id, holder_id, n)`,
    [chunk.map((h) => h.cardId), chunk.map((h) => h.holderId), chunk.map((h) => h.index), options.photoId, options.now])
  })
  return holders
}

/**
 * One LOST application per holder, with its payment and timeline: PAID (SUBMITTED, PAYMENT_RECEIVED) or
 * AWAITING_PAYMENT (SUBMITTED) with a deadline two days ahead. Payment codes are valid ones from a
 * sequence range the service never reaches (year digits `codeYear`).
 */
export async function seedApplications (client: pg.ClientBase, holders: PoolHolder[], options: {
  kind: string; stage: 'PAID' | 'AWAITING_PAYMENT'; codeYear: string; base: Base; now: Date
}): Promise<void> {
  const { now } = options
  let sequence = 1n
  for (const h of holders) {
    h.applicationId = randomUUID()
    let code: string | null = null
    while (code === null) code = composePaymentCode('440100', options.codeYear, sequence++)
    h.paymentCode = code
  }
  const paid = options.stage === 'PAID'
  const createdAt = new Date(now.getTime() - 2 * 3_600_000)
  const paidAt = new Date(now.getTime() - 3_600_000)
  const expiresAt = new Date(now.getTime() + 2 * DAY_MS)
  const stations = options.base.stationIds
  await inChunks(holders, async (chunk) => {
    const ids = chunk.map((h) => h.applicationId!)
    await client.query(`
      insert into applications (id, reference_no, holder_id, type, channel, status, stage, pickup_station_id, old_card_id, photo_source,
                                photo_id, fee_fen, details, expires_at, version, created_at, updated_at)
      select id, 'YFB' || $9 || lpad(n::text, 9, '0'), holder_id, 'LOST', 'SELF', 'IN_PROGRESS', $4, ($5::uuid[])[1 + n % cardinality($5::uuid[])],
             card_id, 'CARD', $6, 2000, '{}', $7, $10, $8, $8
      from unnest($1::uuid[], $2::uuid[], $3::uuid[], $11::int[]) as t(id, holder_id, card_id, n)`,
    [ids, chunk.map((h) => h.holderId), chunk.map((h) => h.cardId), options.stage, stations, options.base.photoId, expiresAt, createdAt,
      options.kind, paid ? 2 : 1, chunk.map((h) => h.index)])
    await client.query(`
      insert into payments (application_id, code, amount_fen, currency, status, expires_at, paid_at, platform_transaction_id, created_at, updated_at)
      select id, code, 2000, 'CNY', $3, $4, $5, case when $5::timestamptz is null then null else 'seed-' || code end, $6, coalesce($5, $6)
      from unnest($1::uuid[], $2::text[]) as t(id, code)`,
    [ids, chunk.map((h) => h.paymentCode!), paid ? 'PAID' : 'PENDING', expiresAt, paid ? paidAt : null, createdAt])
    await client.query(`
      insert into timeline_events (application_id, type, occurred_at, data)
      select id, 'SUBMITTED', $3, jsonb_build_object('paymentCode', code) from unnest($1::uuid[], $2::text[]) as t(id, code)`,
    [ids, chunk.map((h) => h.paymentCode!), createdAt])
    if (paid) {
      await client.query(`
        insert into timeline_events (application_id, type, occurred_at, data)
        select id, 'PAYMENT_RECEIVED', $3, jsonb_build_object('paidAt', $4::text, 'platformTransactionId', 'seed-' || code)
        from unnest($1::uuid[], $2::text[]) as t(id, code)`,
      [ids, chunk.map((h) => h.paymentCode!), paidAt, paidAt.toISOString()])
    }
  })
}

/**
 * `count` unpaid applications whose deadline (the last Asia/Shanghai midnight) has passed, each from its own
 * holder (one in progress per holder), with a PENDING payment and a SUBMITTED event: what the sweeper finds
 * after a busy day. Set-based, with triggers and foreign-key checks off for the load (session_replication_role).
 */
export async function seedExpired (client: pg.ClientBase, count: number, options: { base: Base; now: Date }): Promise<void> {
  const deadline = startOfShanghaiDay(shanghaiDate(options.now))
  const uuid = (prefix: string) => `('${prefix}-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid`
  await client.query('begin')
  await client.query('set local session_replication_role = replica')
  await client.query(`
    insert into holders (id, country_region, id_type, id_number_enc, identity_hash, name, phone_enc, phone_hash, created_at, updated_at)
    select ${uuid('b1000000')}, 'CHN', 'RESIDENT_ID_CARD', 'v1.' || md5('n' || i) || '.' || md5('t' || i) || '.' || left(md5('c' || i), 24),
           encode(sha256(convert_to('bench-expired-' || i, 'UTF8')), 'hex'), '张三', 'v1.' || md5('p' || i) || '.' || md5('q' || i) || '.' || left(md5('r' || i), 16),
           md5('phone' || i) || md5('hash' || i), $2::timestamptz - interval '30 days', $2::timestamptz - interval '30 days'
    from generate_series(1, $1::int) as i`, [count, deadline])
  await client.query(`
    insert into applications (id, reference_no, holder_id, type, channel, status, stage, pickup_station_id, photo_source, fee_fen, details,
                              expires_at, version, created_at, updated_at)
    select ${uuid('b2000000')}, 'YFX' || lpad(i::text, 10, '0'), ${uuid('b1000000')}, 'LOST', 'SELF', 'IN_PROGRESS', 'AWAITING_PAYMENT',
           ($3::uuid[])[1 + i % cardinality($3::uuid[])], 'CARD', 2000, '{}', $2::timestamptz, 1,
           $2::timestamptz - interval '1 day' + (i % 86400) * interval '1 second', $2::timestamptz - interval '1 day' + (i % 86400) * interval '1 second'
    from generate_series(1, $1::int) as i`, [count, deadline, options.base.stationIds])
  await client.query(`
    insert into payments (id, application_id, code, amount_fen, currency, status, expires_at, created_at, updated_at)
    select ${uuid('b3000000')}, ${uuid('b2000000')}, '44010099' || lpad(i::text, 11, '0') || '0', 2000, 'CNY', 'PENDING', $2::timestamptz,
           $2::timestamptz - interval '1 day' + (i % 86400) * interval '1 second', $2::timestamptz - interval '1 day' + (i % 86400) * interval '1 second'
    from generate_series(1, $1::int) as i`, [count, deadline])
  await client.query(`
    insert into timeline_events (application_id, type, occurred_at, data)
    select ${uuid('b2000000')}, 'SUBMITTED', $2::timestamptz - interval '1 day' + (i % 86400) * interval '1 second',
           jsonb_build_object('paymentCode', '44010099' || lpad(i::text, 11, '0') || '0')
    from generate_series(1, $1::int) as i`, [count, deadline])
  await client.query('commit')
}

/** VACUUM ANALYZE of the tables the benchmark touches (autovacuum may be off on the bench server). */
export async function vacuum (client: pg.ClientBase): Promise<void> {
  for (const table of ['holders', 'cards', 'applications', 'payments', 'timeline_events', 'payment_notifications', 'audit_events']) {
    await client.query(`vacuum (analyze) ${table}`)
  }
}
