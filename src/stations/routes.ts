// Pickup stations: anyone signed in lists them (nearest first on request); bureau and admin manage them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditActorOf, recordAudit } from '../audit/record.js'
import { parseLatLng } from '../domain/geo.js'
import { principalOf } from '../plugins/auth.js'
import { decodeCursor, encodeCursor } from '../shared/cursor.js'
import { notFound, validationProblem } from '../shared/problem.js'
import { AUTHENTICATED, bearerSecurity, DEFAULT_PAGE_SIZE, errorResponses, JSON_BODY, pageOf } from '../shared/schemas.js'
import { insertStation, listStations, updateStation } from './repository.js'
import {
  CreateStationSchema, ListStationsQuerySchema, StationParamsSchema, StationSchema, toStationView, UpdateStationSchema
} from './schemas.js'

const MAX_OFFSET = 100_000
const isOffsetCursor = (value: unknown): value is { offset: number } => {
  const offset = (value as { offset?: unknown } | null)?.offset
  return typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0 && offset <= MAX_OFFSET
}

const stationRoutes: FastifyPluginAsyncTypebox = async function stationRoutes (app) {
  app.get('/v1/stations', {
    onRequest: app.authorize(['citizen', 'station_staff', 'bureau_staff', 'admin']),
    schema: {
      tags: ['stations'],
      operationId: 'listStations',
      summary: 'List pickup stations',
      description: 'Veterans service stations where a new card can be picked up (领卡网点). `?near=<lat>,<lng>` sorts nearest first ' +
        'and adds `distanceMeters`; `?district=` filters by GB/T 2260 district code. Active stations only, unless bureau or admin ' +
        'ask for inactive ones too. The list is short reference data; its cursor is an opaque offset.',
      security: bearerSecurity,
      querystring: ListStationsQuerySchema,
      response: {
        200: { ...pageOf(StationSchema, 'Stations, nearest first with ?near, else by district and name'), description: 'A page of stations' },
        ...errorResponses(...AUTHENTICATED, 400)
      }
    }
  }, async (request) => {
    const { near, district, includeInactive = false, limit = DEFAULT_PAGE_SIZE, cursor } = request.query
    const position = near === undefined ? undefined : parseLatLng(near)
    if (position === null) throw validationProblem([{ pointer: '/near', in: 'query', message: 'must be <latitude>,<longitude> in degrees' }])
    const offset = decodeCursor(cursor, isOffsetCursor)?.offset ?? 0
    const role = principalOf(request).role
    const rows = await listStations(app.db, {
      ...(district === undefined ? {} : { district }),
      ...(position === undefined ? {} : { near: position }),
      includeInactive: includeInactive && (role === 'bureau_staff' || role === 'admin'),
      offset,
      limit: limit + 1
    })
    const page = rows.slice(0, limit)
    return {
      items: page.map((r) => toStationView(r.row, r.distanceMeters)),
      nextCursor: rows.length > limit ? encodeCursor({ offset: offset + limit }) : null
    }
  })

  app.post('/v1/stations', {
    onRequest: app.authorize(['bureau_staff', 'admin']),
    schema: {
      tags: ['stations'],
      operationId: 'createStation',
      summary: 'Create a station',
      description: 'Adds a pickup station. Audited.',
      security: bearerSecurity,
      body: CreateStationSchema,
      response: {
        201: { ...StationSchema, description: 'The created station' },
        ...errorResponses(...AUTHENTICATED, ...JSON_BODY)
      }
    }
  }, async (request, reply) => {
    const now = app.clock.now()
    const actor = auditActorOf(request)
    const row = await app.db.transaction(async (tx) => {
      const created = await insertStation(tx, request.body, now)
      await recordAudit(tx, actor, now, { action: 'STATION_CREATED', targetType: 'station', targetId: created.id, after: toStationView(created) })
      return created
    })
    return reply.code(201).header('location', `/v1/stations/${row.id}`).send(toStationView(row))
  })

  app.patch('/v1/stations/:stationId', {
    onRequest: app.authorize(['bureau_staff', 'admin']),
    schema: {
      tags: ['stations'],
      operationId: 'updateStation',
      summary: 'Update a station',
      description: 'Changes any subset of a station\'s fields; `active: false` withdraws it from pickup. Audited with before and after.',
      security: bearerSecurity,
      params: StationParamsSchema,
      body: UpdateStationSchema,
      response: {
        200: { ...StationSchema, description: 'The updated station' },
        ...errorResponses(...AUTHENTICATED, ...JSON_BODY, 404)
      }
    }
  }, async (request) => {
    const now = app.clock.now()
    const actor = auditActorOf(request)
    const result = await app.db.transaction(async (tx) => {
      const updated = await updateStation(tx, request.params.stationId, request.body, now)
      if (updated !== null) {
        await recordAudit(tx, actor, now, {
          action: 'STATION_UPDATED', targetType: 'station', targetId: updated.after.id,
          before: toStationView(updated.before), after: toStationView(updated.after)
        })
      }
      return updated
    })
    if (result === null) throw notFound('STATION_NOT_FOUND', 'No station with this id')
    return toStationView(result.after)
  })
}

export default stationRoutes
