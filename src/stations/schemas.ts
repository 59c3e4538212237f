// API schemas of pickup stations (退役军人服务站) and the mapping from rows.
import { Type, type Static } from 'typebox'
import { DISTRICT_CODES, GUANGZHOU_DISTRICTS } from '../domain/districts.js'
import type { stations } from '../db/schema.js'
import { InstantSchema, PaginationQuerySchema, UuidSchema } from '../shared/schemas.js'

export const DistrictCodeSchema = Type.Enum(DISTRICT_CODES, {
  description: 'GB/T 2260 code of a Guangzhou district (440103 荔湾 … 440118 增城)'
})

const stationFields = {
  name: Type.String({ minLength: 1, maxLength: 100, description: 'Station name' }),
  districtCode: DistrictCodeSchema,
  address: Type.String({ minLength: 1, maxLength: 200, description: 'Street address, shown to holders when the card is ready' }),
  phone: Type.String({ pattern: '^[0-9+][0-9-]{6,19}$', description: 'Station phone for progress inquiries, e.g. 020-83000000' }),
  latitude: Type.Number({ minimum: -90, maximum: 90, description: 'WGS84 latitude' }),
  longitude: Type.Number({ minimum: -180, maximum: 180, description: 'WGS84 longitude' }),
  active: Type.Boolean({ description: 'Inactive stations cannot be chosen for pickup' })
}

export const CreateStationSchema = Type.Object({
  ...stationFields,
  active: Type.Optional({ ...stationFields.active, default: true })
}, { additionalProperties: false })
export type CreateStation = Static<typeof CreateStationSchema>

export const UpdateStationSchema = Type.Object(
  Object.fromEntries(Object.entries(stationFields).map(([k, v]) => [k, Type.Optional(v)])) as { [K in keyof typeof stationFields]: ReturnType<typeof Type.Optional<typeof stationFields[K]>> },
  { additionalProperties: false, minProperties: 1, description: 'Any subset of the station fields' })
export type UpdateStation = Static<typeof UpdateStationSchema>

export const StationSchema = Type.Object({
  id: UuidSchema,
  ...stationFields,
  districtName: Type.String({ description: 'District name in Chinese, e.g. 天河区' }),
  distanceMeters: Type.Optional(Type.Integer({ description: 'Distance from ?near, in metres (only with ?near)' })),
  createdAt: InstantSchema,
  updatedAt: InstantSchema
}, { additionalProperties: false })
export type StationView = Static<typeof StationSchema>

export const ListStationsQuerySchema = Type.Object({
  near: Type.Optional(Type.String({ maxLength: 60, description: '`<lat>,<lng>`: sort nearest first and add distanceMeters', examples: ['23.1291,113.2644'] })),
  district: Type.Optional(DistrictCodeSchema),
  includeInactive: Type.Optional(Type.Boolean({ default: false, description: 'Also list inactive stations (bureau and admin only; ignored for other roles)' })),
  ...PaginationQuerySchema
})

export const StationParamsSchema = Type.Object({ stationId: UuidSchema })

export function toStationView (row: typeof stations.$inferSelect, distanceMeters?: number): StationView {
  return {
    id: row.id,
    name: row.name,
    districtCode: row.districtCode,
    districtName: GUANGZHOU_DISTRICTS[row.districtCode]?.zh ?? row.districtCode,
    address: row.address,
    phone: row.phone,
    latitude: row.latitude,
    longitude: row.longitude,
    active: row.active,
    ...(distanceMeters === undefined ? {} : { distanceMeters }),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString()
  }
}
