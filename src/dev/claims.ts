// Turns a development token request into JWT claims; shared by POST /v1/dev/tokens and `npm run token`.
import { Type, type Static } from 'typebox'
import type { Claims } from '../auth/principal.js'
import { identityLookupKey, normalizeIdentity } from '../domain/identity.js'
import type { PiiCipher } from '../shared/pii.js'
import { IdentitySchema, InstantSchema, UuidSchema } from '../shared/schemas.js'

const SubjectSchema = Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._:@-]+$', description: 'Staff member id (JWT sub); a development default when omitted' }))

export const DevTokenRequestSchema = Type.Union([
  Type.Object({ role: Type.Literal('citizen', { description: 'A holder signed in through the app' }), identity: IdentitySchema }, { additionalProperties: false, title: 'Citizen' }),
  Type.Object({ role: Type.Literal('station_staff', { description: 'Staff of one service station' }), stationId: UuidSchema, subject: SubjectSchema }, { additionalProperties: false, title: 'Station staff' }),
  Type.Object({ role: Type.Literal('bureau_staff', { description: 'City bureau staff' }), subject: SubjectSchema }, { additionalProperties: false, title: 'Bureau staff' }),
  Type.Object({ role: Type.Literal('admin', { description: 'Operator' }), subject: SubjectSchema }, { additionalProperties: false, title: 'Admin' })
], { description: 'Which role the token is for, with the claims that role needs' })
export type DevTokenRequest = Static<typeof DevTokenRequestSchema>

export const DevTokenSchema = Type.Object({
  token: Type.String({ description: 'Bearer JWT' }),
  expiresAt: InstantSchema
}, { additionalProperties: false })

export function claimsFor (request: DevTokenRequest, pii: PiiCipher): Claims {
  switch (request.role) {
    case 'citizen': {
      const identity = normalizeIdentity(request.identity)
      // The subject must not reveal the ID number, so it is derived with the keyed hash.
      return { role: 'citizen', sub: `citizen:${pii.hash(identityLookupKey(identity)).slice(0, 24)}`, identity }
    }
    case 'station_staff':
      return { role: 'station_staff', sub: request.subject ?? `dev-staff@${request.stationId.slice(0, 8)}`, stationId: request.stationId }
    default:
      return { role: request.role, sub: request.subject ?? `dev-${request.role.replace('_', '-')}` }
  }
}
