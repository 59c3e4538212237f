// What building a Drizzle query on every call costs, next to the alternatives, for the statement the service
// runs most (applications repository loadApplication: application + station + payment by id).
// Node CPU and wall time per query, one connection, against its own throw-away database.
// Usage: npx tsx bench/query-building.ts   (BENCH_DATABASE_URL as for bench/run.ts)
/* eslint-disable no-restricted-properties, no-restricted-syntax -- a benchmark script: reads its environment and the wall clock directly */
import { eq, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import * as schema from '../src/db/schema.js'
import { applications, payments, stations } from '../src/db/schema.js'
import { loadConfig } from '../src/config.js'
import { createPiiCipher } from '../src/shared/pii.js'
import { createDatabase, databaseUrl, dropDatabase, migrate, seedApplications, seedBase, seedHolders } from './lib/seed.js'
import { RECORD_BY_ID } from './lib/sql.js'

const server = databaseUrl(process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', 'postgres')
const name = `bench_${process.pid}_query_building`
const admin = new pg.Client({ connectionString: server })
await admin.connect()
await createDatabase(admin, name)
const url = databaseUrl(server, name)
try {
  await migrate(url)
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  const client = await pool.connect()
  const now = new Date()
  const base = await seedBase(client, now)
  const holders = await seedHolders(client, createPiiCipher(loadConfig({}).pii), { first: 0, count: 1, photoId: base.photoId, now })
  await seedApplications(client, holders, { kind: 'Q', stage: 'PAID', codeYear: '97', base, now })
  client.release()
  const id = holders[0]!.applicationId!

  const db = drizzle({ client: pool, schema })
  const select = (applicationId: unknown) => db.select({ application: applications, payment: payments, station: stations }).from(applications)
    .innerJoin(stations, eq(stations.id, applications.pickupStationId)).leftJoin(payments, eq(payments.applicationId, applications.id))
    .where(eq(applications.id, applicationId as string)).limit(1)
  const unnamed = select(sql.placeholder('id')).prepare('')
  const named = select(sql.placeholder('id')).prepare('load_application')
  const variants: Record<string, () => Promise<unknown>> = {
    'Drizzle, query built on every call (the service today)': () => select(id),
    'Drizzle, built once with .prepare() (unnamed statement)': () => unnamed.execute({ id }),
    'Drizzle, built once with .prepare(name) (named: parsed once per connection)': () => named.execute({ id }),
    'raw pg, the same SQL text (the benchmark\'s baseline)': () => pool.query({ text: RECORD_BY_ID, values: [id, 1], rowMode: 'array' })
  }
  const n = 3000
  for (let pass = 0; pass < 2; pass++) {
    for (const [label, run] of Object.entries(variants)) {
      for (let i = 0; i < 300; i++) await run()
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      for (let i = 0; i < n; i++) await run()
      const cpu = process.cpuUsage(cpu0)
      if (pass === 1) process.stdout.write(`${label}: ${((cpu.user + cpu.system) / n).toFixed(0)} µs of Node CPU and ${((performance.now() - t0) * 1000 / n).toFixed(0)} µs wall per query\n`)
    }
  }
  await pool.end()
} finally {
  await dropDatabase(admin, name)
  await admin.end()
}
