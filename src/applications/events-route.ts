// GET /v1/applications/{id}/events: the timeline as Server-Sent Events, live from whichever replica commits.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { and, eq, gt } from 'drizzle-orm'
import { Type } from 'typebox'
import { timelineEvents } from '../db/schema.js'
import { effectiveState } from '../domain/lifecycle.js'
import { pickLocale } from '../domain/timeline-messages.js'
import { createHoldersRepository } from '../holders/repository.js'
import { principalOf } from '../plugins/auth.js'
import { AUTHENTICATED, bearerSecurity, errorResponses } from '../shared/schemas.js'
import { loadVisibleApplication } from './access.js'
import { loadApplication, type ApplicationRecord } from './repository.js'
import { ApplicationParamsSchema, toApplicationView, toTimeline } from './schemas.js'

const eventsRoute: FastifyPluginAsyncTypebox = async function eventsRoute (app) {
  const holders = createHoldersRepository(app.pii)

  app.get('/v1/applications/:applicationId/events', {
    onRequest: app.authorize(['citizen', 'station_staff', 'bureau_staff', 'admin']),
    schema: {
      tags: ['applications'],
      operationId: 'streamApplicationEvents',
      summary: 'Live progress (Server-Sent Events)',
      description: 'A `text/event-stream` for the application\'s holder, staff of its station, bureau and admin (404 for anyone else). ' +
        'First `event: snapshot` with `{ application, timeline }`; then one `event: timeline` per new timeline event as it is ' +
        'committed on any replica (PostgreSQL LISTEN/NOTIFY), `id:` the event id, data `{ event, status, stage }`; a `: heartbeat` ' +
        'comment every SSE_HEARTBEAT_MS (15 s). Reconnect with `Last-Event-ID` to get only the events after that id, without a ' +
        'snapshot. The stream ends with `event: close` when the server shuts down; reconnect then. Texts follow Accept-Language.',
      security: bearerSecurity,
      params: ApplicationParamsSchema,
      headers: Type.Object({
        'last-event-id': Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'Resume after this event id' })),
        'accept-language': Type.Optional(Type.String({ description: 'zh-CN (default) or en' }))
      }),
      response: {
        200: {
          description: 'The event stream',
          content: { 'text/event-stream': { schema: Type.String({ description: 'Server-Sent Events: snapshot, timeline, close; heartbeat comments' }) } }
        },
        ...errorResponses(...AUTHENTICATED, 400, 404)
      }
    }
  }, async (request, reply) => {
    const locale = pickLocale(request.headers['accept-language'])
    const first = await loadVisibleApplication(app.db, holders, principalOf(request), request.params.applicationId)
    const applicationId = first.application.id
    const resumeFrom = request.headers['last-event-id']
    let lastId = resumeFrom === undefined ? 0 : Number(resumeFrom)

    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      ...reply.getHeaders() as Record<string, string>,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    let open = true
    const write = (text: string) => { if (open) res.write(text) }
    const send = (event: string, data: unknown, id?: number) =>
      write(`event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`)

    const render = (record: ApplicationRecord, rows: Array<typeof timelineEvents.$inferSelect>) => {
      const now = app.clock.now()
      const a = record.application
      const state = effectiveState({ status: a.status, stage: a.stage, outcome: a.outcome, expiresAt: a.expiresAt, paymentStatus: record.payment?.status ?? null }, now)
      const events = toTimeline(record, rows, now, locale).filter((e) => /^\d+$/.test(e.id))
      return { events, status: state.status, stage: state.stage }
    }

    // Everything goes out through one chain, snapshot first, so events go out once each and in order,
    // however notifications bunch up.
    let catchingUp: Promise<void> = (async () => {
      if (resumeFrom !== undefined) return
      const rows = await app.db.select().from(timelineEvents).where(eq(timelineEvents.applicationId, applicationId)).orderBy(timelineEvents.id)
      const record = (await loadApplication(app.db, applicationId))!
      send('snapshot', { application: toApplicationView(record, app.clock.now(), app.paymentPlatform, locale), timeline: toTimeline(record, rows, app.clock.now(), locale) })
      lastId = rows.reduce((max, r) => Math.max(max, r.id), 0)
    })().catch((error: unknown) => request.log.warn({ err: error }, 'live stream snapshot failed'))
    const catchUp = () => {
      catchingUp = catchingUp.then(async () => {
        if (!open) return
        const rows = await app.db.select().from(timelineEvents)
          .where(and(eq(timelineEvents.applicationId, applicationId), gt(timelineEvents.id, lastId))).orderBy(timelineEvents.id)
        if (rows.length === 0) return
        const record = (await loadApplication(app.db, applicationId))!
        const { events, status, stage } = render(record, rows)
        for (const event of events) {
          send('timeline', { event, status, stage }, Number(event.id))
          lastId = Number(event.id)
        }
      }).catch((error: unknown) => request.log.warn({ err: error }, 'live stream could not catch up; will on the next event'))
    }

    const unsubscribe = app.timelineHub.subscribe(applicationId, (eventId) => { if (eventId === null || eventId > lastId) catchUp() })
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), app.config.sseHeartbeatMs)
    const close = () => {
      if (!open) return
      open = false
      clearInterval(heartbeat)
      unsubscribe()
      stopOnShutdown()
    }
    const stopOnShutdown = app.timelineHub.onShutdown(() => {
      send('close', { reason: 'server shutting down; reconnect with Last-Event-ID' })
      close()
      res.end()
    })
    request.raw.on('close', close)

    // Whatever was committed after Last-Event-ID, or between the snapshot and subscribing, goes out now.
    catchUp()
  })
}

export default eventsRoute
