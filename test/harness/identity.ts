// Test identities, tokens minted in-process (like `npm run token`) and signed payment notifications.
import { createTokenMinter } from '../../src/auth/tokens.js'
import { loadConfig, type AppConfig } from '../../src/config.js'
import { claimsFor, type DevTokenRequest } from '../../src/dev/claims.js'
import { signPayload } from '../../src/payments/signature.js'
import type { Clock } from '../../src/shared/clock.js'
import { createPiiCipher } from '../../src/shared/pii.js'

export { jpegBytes } from '../fixtures.js'
export { residentIdentity } from '../helper.js'

/** A clock that reads real time plus an offset: the scripts' view of the services' CLOCK_START clocks. */
export function offsetClock (offsetMs: () => number): Clock {
  return { now: () => new Date(Date.now() + offsetMs()) }
}

export interface Credentials {
  config: AppConfig
  token(request: DevTokenRequest): string
  /** The X-Payment-Signature header for a raw body, timestamped by the clock. */
  sign(rawBody: string): string
}

/** Tokens and signatures with the configuration the services load from `env`, at the services' clock. */
export function credentials (env: Record<string, string>, clock: Clock): Credentials {
  const config = loadConfig(env)
  const mint = createTokenMinter(config.jwt, clock)
  const pii = createPiiCipher(config.pii)
  return {
    config,
    token: (request) => mint(claimsFor(request, pii)).token,
    sign: (rawBody) => signPayload(config.paymentWebhookSecret, Math.floor(clock.now().getTime() / 1000), rawBody)
  }
}
