// Who is calling: the verified token claims, as one discriminated type.
import { Type, type Static } from 'typebox'
import { IdentitySchema, UuidSchema } from '../shared/schemas.js'

export const ROLES = ['citizen', 'station_staff', 'bureau_staff', 'admin'] as const
export type Role = typeof ROLES[number]

const Subject = Type.String({ minLength: 1, maxLength: 200, description: 'Stable id of the person or system (JWT sub)' })

export const CitizenClaimsSchema = Type.Object({
  role: Type.Literal('citizen'), sub: Subject, identity: IdentitySchema
})
export const StationStaffClaimsSchema = Type.Object({
  role: Type.Literal('station_staff'), sub: Subject, stationId: UuidSchema
})
export const BureauClaimsSchema = Type.Object({ role: Type.Literal('bureau_staff'), sub: Subject })
export const AdminClaimsSchema = Type.Object({ role: Type.Literal('admin'), sub: Subject })

export const ClaimsSchema = Type.Union([CitizenClaimsSchema, StationStaffClaimsSchema, BureauClaimsSchema, AdminClaimsSchema])
export type Claims = Static<typeof ClaimsSchema>

export type Principal =
  | { role: 'citizen'; subject: string; identity: Static<typeof IdentitySchema> }
  | { role: 'station_staff'; subject: string; stationId: string }
  | { role: 'bureau_staff'; subject: string }
  | { role: 'admin'; subject: string }

export function toPrincipal (claims: Claims): Principal {
  switch (claims.role) {
    case 'citizen': return { role: 'citizen', subject: claims.sub, identity: claims.identity }
    case 'station_staff': return { role: 'station_staff', subject: claims.sub, stationId: claims.stationId }
    default: return { role: claims.role, subject: claims.sub }
  }
}
