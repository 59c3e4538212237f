// Migrations apply on both engines and are idempotent; audit rows cannot be changed; sample data seeds once.
import { sql } from 'drizzle-orm'
import t from 'tap'
import { rowsOf } from '../../src/db/client.js'
import { isMigrated, runMigrations } from '../../src/db/migrate.js'
import { SAMPLE_HOLDERS, SAMPLE_STATIONS } from '../../src/db/sample-data.js'
import { seedSampleData } from '../../src/db/seed.js'
import { auditEvents, holders, stations } from '../../src/db/schema.js'
import { ManualClock } from '../../src/shared/clock.js'
import { createPiiCipher } from '../../src/shared/pii.js'
import { testConfig, testDatabase } from '../helper.js'

t.test('migrations are applied, and applying them again changes nothing', async (t) => {
  const { database } = await testDatabase(t)
  t.equal(await isMigrated(database), true)
  await runMigrations(database)
  const tables = rowsOf<{ table_name: string }>(await database.db.execute(
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`)).map((r) => r.table_name)
  t.same(tables, ['applications', 'audit_events', 'cards', 'holders', 'idempotency_keys', 'notification_outbox', 'payment_notifications', 'payments', 'photos', 'stations', 'timeline_events'])
})

t.test('the database refuses to update, delete or truncate audit rows', async (t) => {
  const { database } = await testDatabase(t)
  const { db } = database
  await db.insert(auditEvents).values({
    occurredAt: new Date('2026-12-01T00:00:00Z'), actorId: 'bureau-1', actorRole: 'bureau_staff',
    action: 'HOLDER_VIEWED', targetType: 'holder', targetId: 'h1', requestId: 'r1'
  })
  await t.rejects(db.update(auditEvents).set({ actorId: 'someone-else' }), { cause: { message: /cannot be changed or deleted/ } })
  await t.rejects(db.delete(auditEvents), { cause: { message: /cannot be changed or deleted/ } })
  await t.rejects(db.execute(sql`truncate audit_events`), { cause: { message: /cannot be changed or deleted/ } })
  const rows = await db.select().from(auditEvents)
  t.equal(rows.length, 1)
  t.equal(rows[0]!.actorId, 'bureau-1')
})

t.test('sample data: every district, fictional holders, loaded once', async (t) => {
  const { database } = await testDatabase(t)
  const config = testConfig()
  const pii = createPiiCipher(config.pii)
  const clock = new ManualClock()
  t.same(await seedSampleData(database.db, pii, clock), { stations: SAMPLE_STATIONS.length, holders: SAMPLE_HOLDERS.length })
  t.same(await seedSampleData(database.db, pii, clock), { stations: 0, holders: 0 }, 'a second run adds nothing')

  const districts = new Set((await database.db.select().from(stations)).map((s) => s.districtCode))
  t.same([...districts].sort(), ['440103', '440104', '440105', '440106', '440111', '440112', '440113', '440114', '440115', '440117', '440118'])
  t.ok(SAMPLE_STATIONS.every((s) => s.name.endsWith('（示例）')), 'sample stations are labelled')
  const stored = await database.db.select().from(holders)
  t.equal(stored.length, SAMPLE_HOLDERS.length)
  for (const holder of SAMPLE_HOLDERS) {
    t.notOk(JSON.stringify(stored).includes(holder.identity.idNumber), 'ID numbers are not stored in plain text')
  }
})
