// Mints development tokens; used by POST /v1/dev/tokens and `npm run token`, never by production traffic.
import { createSigner } from 'fast-jwt'
import type { AppConfig } from '../config.js'
import type { Clock } from '../shared/clock.js'
import type { Claims } from './principal.js'

export const DEV_TOKEN_TTL_SECONDS = 12 * 60 * 60

export interface MintedToken { token: string; expiresAt: string }

export function createTokenMinter (jwt: AppConfig['jwt'], clock: Clock) {
  if (jwt.key.kind !== 'secret') throw new Error('tokens can only be minted with JWT_SECRET')
  const sign = createSigner({
    key: jwt.key.secret,
    algorithm: 'HS256',
    iss: jwt.issuer,
    aud: jwt.audience,
    expiresIn: DEV_TOKEN_TTL_SECONDS * 1000
  })
  return function mint (claims: Claims): MintedToken {
    // iat from the injected clock, so exp follows it too.
    const iat = Math.floor(clock.now().getTime() / 1000)
    return {
      token: sign({ ...claims, iat }),
      expiresAt: new Date((iat + DEV_TOKEN_TTL_SECONDS) * 1000).toISOString()
    }
  }
}
