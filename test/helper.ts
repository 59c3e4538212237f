// Test harness: a fresh database per test file and an app built through the real factory.
// Database order: TEST_DATABASE_URL, else a testcontainers PostgreSQL when an engine answers, else embedded PGlite.
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import pg from 'pg'
import type { Test } from 'tap'
import { buildApp, type App } from '../src/app.js'
import { createTokenMinter } from '../src/auth/tokens.js'
import { loadConfig, type AppConfig } from '../src/config.js'
import { openDatabase, type Database } from '../src/db/client.js'
import { MIGRATIONS_FOLDER, runMigrations } from '../src/db/migrate.js'
import { claimsFor, type DevTokenRequest } from '../src/dev/claims.js'
import { ManualClock } from '../src/shared/clock.js'
import { createPiiCipher } from '../src/shared/pii.js'

export type TestDatabaseKind = 'postgres' | 'container' | 'embedded'

let containerUrl: Promise<string | undefined> | undefined

/** A PostgreSQL URL from a container, once per test process, or undefined when no engine answers. */
async function containerDatabaseUrl (): Promise<string | undefined> {
  containerUrl ??= (async () => {
    const { getContainerRuntimeClient } = await import('testcontainers')
    try {
      await getContainerRuntimeClient()
    } catch {
      return undefined
    }
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
    const container = await new PostgreSqlContainer('postgres:16-alpine').start()
    process.once('exit', () => { void container.stop() })
    return container.getConnectionUri()
  })()
  return containerUrl
}

async function migrationsFingerprint (): Promise<string> {
  const hash = createHash('sha256')
  for (const file of (await readdir(MIGRATIONS_FOLDER)).filter((f) => f.endsWith('.sql')).sort()) {
    hash.update(file).update(await readFile(`${MIGRATIONS_FOLDER}/${file}`))
  }
  return hash.digest('hex').slice(0, 12)
}

function withDatabase (url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

/**
 * Creates a database for one test file from a migrated template (made once per migration set,
 * under an advisory lock so parallel files do not race), and drops it at teardown.
 */
async function postgresTestDatabase (t: Test, serverUrl: string): Promise<{ database: Database; url: string }> {
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  const template = `yufu_test_template_${await migrationsFingerprint()}`
  const name = `yufu_test_${process.pid}_${randomBytes(4).toString('hex')}`
  try {
    await admin.query('select pg_advisory_lock(7202428)')
    try {
      const exists = await admin.query('select 1 from pg_database where datname = $1', [template])
      if (exists.rowCount === 0) {
        await admin.query(`create database "${template}"`)
        const templateDb = await openDatabase({ kind: 'postgres', url: withDatabase(serverUrl, template), poolMax: 1 })
        await runMigrations(templateDb)
        await templateDb.close()
      }
      await admin.query(`create database "${name}" template "${template}"`)
    } finally {
      await admin.query('select pg_advisory_unlock(7202428)')
    }
  } finally {
    await admin.end()
  }
  const url = withDatabase(serverUrl, name)
  const database = await openDatabase({ kind: 'postgres', url, poolMax: 10 })
  t.teardown(async () => {
    await database.close()
    const dropper = new pg.Client({ connectionString: serverUrl })
    await dropper.connect()
    await dropper.query(`drop database if exists "${name}" with (force)`)
    await dropper.end()
  })
  return { database, url }
}

export interface TestDatabase {
  database: Database
  kind: TestDatabaseKind
  /** The connection string of this file's own database (PostgreSQL only). */
  url?: string
}

export async function testDatabase (t: Test): Promise<TestDatabase> {
  const explicit = process.env.TEST_DATABASE_URL
  const url = explicit !== undefined && explicit !== '' ? explicit : await containerDatabaseUrl()
  if (url !== undefined) {
    const { database, url: ownUrl } = await postgresTestDatabase(t, url)
    return { database, kind: explicit ? 'postgres' : 'container', url: ownUrl }
  }
  const database = await openDatabase({ kind: 'embedded', dataDir: 'memory://' })
  await runMigrations(database)
  t.teardown(() => database.close())
  return { database, kind: 'embedded' }
}

export function testConfig (overrides: Parameters<typeof loadConfig>[1] = {}): AppConfig {
  return loadConfig({}, {
    NODE_ENV: 'test',
    DATA_DIR: 'memory://',
    MIGRATE_ON_START: false,
    SEED_SAMPLE_DATA: false,
    DEV_TOKENS: true,
    LOG_LEVEL: 'silent',
    ...overrides
  })
}

export interface TestContext {
  app: App
  database: Database
  kind: TestDatabaseKind
  clock: ManualClock
  config: AppConfig
  token(request: DevTokenRequest): string
  /** Authorization header for a role, ready to spread into `headers`. */
  auth(request: DevTokenRequest): { authorization: string }
}

export async function buildTestApp (t: Test, options: { config?: Parameters<typeof loadConfig>[1]; clock?: ManualClock } = {}): Promise<TestContext> {
  const { database, kind } = await testDatabase(t)
  const config = testConfig(options.config)
  const clock = options.clock ?? new ManualClock('2026-12-01T02:00:00Z')
  const app = await buildApp(config, { clock, database, logger: false })
  t.teardown(() => app.close())
  const mint = createTokenMinter(config.jwt, clock)
  const pii = createPiiCipher(config.pii)
  const token = (request: DevTokenRequest) => mint(claimsFor(request, pii)).token
  return { app, database, kind, clock, config, token, auth: (request) => ({ authorization: `Bearer ${token(request)}` }) }
}

/** A valid resident identity for tests, with a correct MOD 11-2 check character. */
export function residentIdentity (seq: number, name = '张三丰'): { countryRegion: 'CHN'; idType: 'RESIDENT_ID_CARD'; idNumber: string; name: string } {
  const body = `44010619800101${String(seq % 1000).padStart(3, '0')}`
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = [...body].reduce((acc, d, i) => acc + Number(d) * weights[i]!, 0)
  return { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: body + '10X98765432'[sum % 11]!, name }
}

export const PROBLEM_JSON = 'application/problem+json'
