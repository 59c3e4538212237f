// Shared services every capability needs: configuration, the clock, the personal-data cipher and the payment platform.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { AppConfig } from '../config.js'
import type { Clock } from '../shared/clock.js'
import type { PaymentPlatform } from '../payments/platform.js'
import { createPiiCipher, type PiiCipher } from '../shared/pii.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: AppConfig
    clock: Clock
    pii: PiiCipher
    paymentPlatform: PaymentPlatform
  }
}

export default fp(async function context (app: FastifyInstance, opts: { config: AppConfig; clock: Clock; paymentPlatform: PaymentPlatform }) {
  app.decorate('config', opts.config)
  app.decorate('clock', opts.clock)
  app.decorate('pii', createPiiCipher(opts.config.pii))
  app.decorate('paymentPlatform', opts.paymentPlatform)
}, { name: 'context' })
