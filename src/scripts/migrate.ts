// `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database under DATA_DIR).
import { loadConfig } from '../config.js'
import { openDatabase } from '../db/client.js'
import { runMigrations } from '../db/migrate.js'

const config = loadConfig()
const database = await openDatabase(config.database)
try {
  await runMigrations(database)
  process.stdout.write(`migrations applied (${config.database.kind} database)\n`)
} finally {
  await database.close()
}
