// Makes the database available as app.database / app.db, and closes it with the app when the app owns it.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Database, Db } from '../db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    database: Database
    db: Db
  }
}

export default fp(async function db (app: FastifyInstance, opts: { database: Database; owned: boolean }) {
  app.decorate('database', opts.database)
  app.decorate('db', opts.database.db)
  if (opts.owned) app.addHook('onClose', async () => { await opts.database.close() })
}, { name: 'db' })
