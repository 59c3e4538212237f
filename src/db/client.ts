// Opens the database: a pg pool for PostgreSQL, or embedded PGlite; both behind one Drizzle `Db` type.
import { mkdir } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core'
import type { ExtractTablesWithRelations } from 'drizzle-orm'
import pg from 'pg'
import type { Logger } from 'pino'
import { listenPglite, listenPostgres, type Listener, type ListenHandlers } from './listen.js'
import * as schema from './schema.js'

export type Schema = typeof schema
export type Db = PgDatabase<PgQueryResultHKT, Schema>
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>
/** Anything that runs queries: the database or a transaction. Pass `tx` down inside a transaction. */
export type Executor = Db | Tx

/** Rows of a raw `db.execute`: pg and PGlite both answer `{ rows }`, which Drizzle's shared type leaves unknown. */
export function rowsOf<T> (result: unknown): T[] {
  return (result as { rows: T[] }).rows
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolMax: number }
  | { kind: 'embedded'; dataDir: string }

export interface Database {
  readonly kind: DatabaseTarget['kind']
  readonly db: Db
  /** Round trip to the server; throws when it is unreachable. */
  ping(): Promise<void>
  close(): Promise<void>
  /** LISTEN on a channel with one connection for the whole process. */
  listen(channel: string, handlers: ListenHandlers): Promise<Listener>
  /** The pg pool, for the few things Drizzle does not do (advisory locks). */
  readonly pool?: pg.Pool
  readonly pglite?: PGlite
}

// Timestamps and dates are parsed by Drizzle per column; keep pg from turning `date` into local Dates.
pg.types.setTypeParser(pg.types.builtins.DATE, (value: string) => value)

export async function openDatabase (target: DatabaseTarget, log?: Pick<Logger, 'warn'>): Promise<Database> {
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: target.url,
      max: target.poolMax,
      // Fail fast when the server is down, so requests answer 503 instead of hanging.
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 30_000,
      application_name: 'yufu-card-service'
    })
    // An idle client losing its server must not crash the process; the pool replaces it.
    pool.on('error', (error) => log?.warn({ err: { message: error.message, code: (error as { code?: string }).code } }, 'idle database connection lost'))
    // pg-pool listens for errors only on idle clients; a connection lost inside a transaction would
    // otherwise be an uncaught exception. Its query fails anyway (503), and the pool drops the client.
    pool.on('connect', (client) => { client.on('error', () => undefined) })
    const db = drizzlePg({ client: pool, schema }) as unknown as Db
    return {
      kind: 'postgres',
      db,
      pool,
      ping: async () => { await pool.query('select 1') },
      listen: async (channel, handlers) => listenPostgres(target.url, channel, handlers, log),
      close: async () => { await pool.end() }
    }
  }

  if (!target.dataDir.startsWith('memory://')) await mkdir(target.dataDir, { recursive: true })
  const pglite = new PGlite(target.dataDir)
  await pglite.waitReady
  const db = drizzlePglite({ client: pglite, schema }) as unknown as Db
  return {
    kind: 'embedded',
    db,
    pglite,
    ping: async () => { await db.execute(sql`select 1`) },
    listen: (channel, handlers) => listenPglite(pglite, channel, handlers),
    close: async () => { if (!pglite.closed) await pglite.close() }
  }
}
