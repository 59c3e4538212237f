// Idempotency-Key for creating endpoints (IETF httpapi draft), stored in PostgreSQL so every replica agrees.
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { and, eq, lte, sql } from 'drizzle-orm'
import { idempotencyKeys } from '../db/schema.js'
import { ProblemError, validationProblem } from '../shared/problem.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Honour Idempotency-Key on this route. */
    idempotent?: boolean
  }
}

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000
/** How long a key stays claimed by a request that never finished (a crashed replica) before a retry may run. */
export const IN_FLIGHT_LEASE_MS = 60 * 1000
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/
const REPLAYED_HEADERS = ['content-type', 'location', 'etag']

const claims = new WeakMap<FastifyRequest, { scope: string; key: string }>()

/** Object keys sorted at every depth, so the same JSON in another key order is the same request. */
function canonical (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
  }
  return value
}

export function requestFingerprint (method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(canonical(body ?? null))}`).digest('hex')
}

export default fp(async function idempotency (app: FastifyInstance) {
  const inFlight = () => new ProblemError(409, 'IDEMPOTENCY_KEY_IN_FLIGHT', 'Request in progress', {
    detail: 'A request with this Idempotency-Key is still being processed; retry shortly', headers: { 'retry-after': '1' }
  })

  async function claim (scope: string, key: string, fingerprint: string, now: Date): Promise<'claimed' | typeof idempotencyKeys.$inferSelect> {
    const inserted = await app.db.insert(idempotencyKeys).values({
      scope, key, fingerprint, state: 'IN_FLIGHT', createdAt: now,
      lockedUntil: new Date(now.getTime() + IN_FLIGHT_LEASE_MS),
      expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS)
    }).onConflictDoNothing().returning({ key: idempotencyKeys.key })
    if (inserted.length === 1) return 'claimed'
    const [existing] = await app.db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)))
    if (existing === undefined) return claim(scope, key, fingerprint, now) // deleted between the two statements
    return existing
  }

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config.idempotent !== true) return
    const header = request.headers['idempotency-key']
    if (header === undefined) return
    if (typeof header !== 'string' || !KEY_FORMAT.test(header)) {
      throw validationProblem([{ pointer: '/idempotency-key', in: 'header', message: 'must be 1 to 255 visible ASCII characters' }])
    }
    const principal = request.principal
    const scope = principal === null ? 'anonymous' : `${principal.role}:${principal.subject}`
    const fingerprint = requestFingerprint(request.method, request.url.split('?')[0] ?? '', request.body)
    const now = app.clock.now()

    let existing = await claim(scope, header, fingerprint, now)
    if (existing !== 'claimed' && existing.expiresAt.getTime() <= now.getTime()) {
      // An expired key is free again: the draft's keys live 24 hours.
      await app.db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, header), lte(idempotencyKeys.expiresAt, now)))
      existing = await claim(scope, header, fingerprint, now)
    }
    if (existing === 'claimed') {
      claims.set(request, { scope, key: header })
      return
    }
    if (existing.fingerprint !== fingerprint) {
      throw new ProblemError(422, 'IDEMPOTENCY_KEY_REUSED', 'Idempotency key reused', { detail: 'This Idempotency-Key was used for a different request' })
    }
    if (existing.state === 'IN_FLIGHT') {
      if (existing.lockedUntil.getTime() > now.getTime()) throw inFlight()
      const taken = await app.db.update(idempotencyKeys).set({ lockedUntil: new Date(now.getTime() + IN_FLIGHT_LEASE_MS) })
        .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, header), eq(idempotencyKeys.state, 'IN_FLIGHT'), lte(idempotencyKeys.lockedUntil, now)))
        .returning({ key: idempotencyKeys.key })
      if (taken.length === 0) throw inFlight()
      claims.set(request, { scope, key: header })
      return
    }
    return reply.code(existing.responseStatus!).headers({ ...existing.responseHeaders, 'idempotent-replayed': 'true' }).send(existing.responseBody)
  })

  app.addHook('onSend', async (request, reply, payload) => {
    const claimed = claims.get(request)
    if (claimed === undefined) return payload
    claims.delete(request)
    const where = and(eq(idempotencyKeys.scope, claimed.scope), eq(idempotencyKeys.key, claimed.key))
    try {
      if (reply.statusCode >= 500) {
        // Nothing was decided: let a retry run the request again.
        await app.db.delete(idempotencyKeys).where(where)
      } else {
        const headers = Object.fromEntries(REPLAYED_HEADERS.flatMap((h) => {
          const value = reply.getHeader(h)
          return value === undefined ? [] : [[h, String(value)]]
        }))
        await app.db.update(idempotencyKeys).set({
          state: 'COMPLETED', responseStatus: reply.statusCode, responseHeaders: headers,
          responseBody: typeof payload === 'string' ? payload : String(payload ?? '')
        }).where(where)
      }
    } catch (error) {
      request.log.warn({ err: error }, 'could not record the idempotent response; a retry will wait for the lease to pass')
    }
    return payload
  })
}, { name: 'idempotency', dependencies: ['db', 'context'] })

/** Removes expired keys; run by the background sweeper. */
export async function purgeExpiredKeys (app: Pick<FastifyInstance, 'db'>, now: Date, limit = 1000): Promise<number> {
  const deleted = await app.db.execute(sql`delete from idempotency_keys where ctid in (select ctid from idempotency_keys where expires_at <= ${now} limit ${limit})`)
  return (deleted as unknown as { rowCount?: number; affectedRows?: number }).rowCount ?? (deleted as unknown as { affectedRows?: number }).affectedRows ?? 0
}
