// A fresh, migrated PostgreSQL database per script run, dropped at the end; and a small pool for the invariant queries.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { openDatabase } from '../../src/db/client.js'
import { runMigrations } from '../../src/db/migrate.js'
import type { Cleanup } from './checks.js'

export const SERVER_URL = process.env.TEST_DATABASE_URL !== undefined && process.env.TEST_DATABASE_URL !== ''
  ? process.env.TEST_DATABASE_URL
  : 'postgres://postgres@127.0.0.1:5432/postgres'

export function withDatabase (url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

export interface ScriptDatabase {
  name: string
  url: string
  /** Two connections for the checks; never shared with the services. */
  pool: pg.Pool
  query<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>
}

/** Creates `<prefix>_<random>`, applies the committed migrations, and registers the drop. */
export async function createScriptDatabase (prefix: string, cleanup: Cleanup): Promise<ScriptDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 5000 })
  await admin.connect()
  try {
    await admin.query(`create database "${name}"`)
  } finally {
    await admin.end()
  }
  cleanup.add(`drop database ${name}`, async () => {
    const dropper = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 5000 })
    await dropper.connect()
    try {
      await dropper.query(`drop database if exists "${name}" with (force)`)
    } finally {
      await dropper.end()
    }
  })
  const url = withDatabase(SERVER_URL, name)
  const database = await openDatabase({ kind: 'postgres', url, poolMax: 2 })
  try {
    await runMigrations(database)
  } finally {
    await database.close()
  }
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5000, application_name: 'yufu-script-checks' })
  pool.on('error', () => undefined)
  cleanup.add('close the check pool', () => pool.end())
  return {
    name,
    url,
    pool,
    query: async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await pool.query<T>(text, values)).rows
  }
}
