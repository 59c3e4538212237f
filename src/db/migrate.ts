// Applies the committed drizzle-kit migrations, once, even when several replicas start together.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { sql } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import type { PgliteDatabase } from 'drizzle-orm/pglite'
import { rowsOf, type Database } from './client.js'

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url))
// Any constant works; it only has to be the same in every replica.
const MIGRATION_LOCK_KEY = 7_202_428_2

export async function runMigrations (database: Database): Promise<void> {
  if (database.pool === undefined) {
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder: MIGRATIONS_FOLDER })
    return
  }
  const client = await database.pool.connect()
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    try {
      await migratePg(drizzlePg({ client }), { migrationsFolder: MIGRATIONS_FOLDER })
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
    }
  } finally {
    client.release()
  }
}

interface Journal { entries: Array<{ idx: number; when: number; tag: string }> }

let journalCache: Journal | undefined
async function readJournal (): Promise<Journal> {
  journalCache ??= JSON.parse(await readFile(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as Journal
  return journalCache
}

/** True when every committed migration has been applied to this database. */
export async function isMigrated (database: Database): Promise<boolean> {
  const journal = await readJournal()
  const latest = journal.entries.at(-1)
  if (latest === undefined) return true
  const exists = rowsOf<{ present: boolean }>(await database.db.execute(
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`))
  if (exists[0]?.present !== true) return false
  const applied = rowsOf<{ latest: string | null }>(await database.db.execute(
    sql`select max(created_at)::text as latest from drizzle.__drizzle_migrations`))
  return Number(applied[0]?.latest ?? 0) >= latest.when
}
