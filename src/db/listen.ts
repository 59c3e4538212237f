// LISTEN with one connection per process: PostgreSQL through a dedicated client that reconnects, PGlite in-process.
import type { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import type { Logger } from 'pino'

export interface Listener { close(): Promise<void> }

export interface ListenHandlers {
  onMessage(payload: string): void
  /** After a lost connection is back: notifications in the gap are lost, so subscribers must catch up. */
  onReconnect(): void
}

const RETRY_MS = [100, 500, 1000, 2000, 5000]

/** A dedicated connection (not from the pool) that LISTENs, and comes back by itself when the server does. */
export function listenPostgres (url: string, channel: string, handlers: ListenHandlers, log?: Pick<Logger, 'warn'>): Listener {
  let client: pg.Client | undefined
  let closed = false
  let attempts = 0
  let everConnected = false
  let retry: NodeJS.Timeout | undefined

  const connect = async (): Promise<void> => {
    if (closed) return
    const next = new pg.Client({ connectionString: url, application_name: 'yufu-card-service-listener' })
    next.on('notification', (message) => { if (message.channel === channel) handlers.onMessage(message.payload ?? '') })
    next.on('error', () => undefined) // followed by 'end', which reconnects
    next.on('end', () => {
      if (closed || client !== next) return
      client = undefined
      scheduleRetry()
    })
    try {
      await next.connect()
      await next.query(`LISTEN ${channel}`)
      client = next
      if (everConnected) handlers.onReconnect()
      everConnected = true
      attempts = 0
      if (closed) await next.end()
    } catch (error) {
      await next.end().catch(() => undefined)
      log?.warn({ err: { message: (error as Error).message } }, 'LISTEN connection failed; retrying')
      scheduleRetry()
    }
  }
  const scheduleRetry = () => {
    if (closed) return
    retry = setTimeout(() => { void connect() }, RETRY_MS[Math.min(attempts++, RETRY_MS.length - 1)])
    retry.unref()
  }
  void connect()
  return {
    async close () {
      closed = true
      clearTimeout(retry)
      await client?.end().catch(() => undefined)
    }
  }
}

export async function listenPglite (pglite: PGlite, channel: string, handlers: ListenHandlers): Promise<Listener> {
  const unlisten = await pglite.listen(channel, handlers.onMessage)
  return { close: async () => { if (!pglite.closed) await unlisten() } }
}
