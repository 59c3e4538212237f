// The entry point: configuration, logger, listen, and graceful shutdown. Everything else is in buildApp.
import closeWithGrace from 'close-with-grace'
import { pino, transport } from 'pino'
import { buildApp } from './app.js'
import { startExpirySweeper } from './applications/expiry.js'
import { createLogSmsSender, dispatchOutbox } from './notifications/outbox.js'
import { startPeriodic } from './shared/periodic.js'
import { ConfigError, loadConfig } from './config.js'
import { shiftedClock, systemClock } from './shared/clock.js'
import { loggerOptions } from './shared/logging.js'

async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(78) // EX_CONFIG
    }
    throw error
  }

  // Pretty logs for a person at a terminal; JSON lines for everything else.
  const logger = pino(loggerOptions(config.logLevel),
    process.stdout.isTTY ? transport({ target: 'pino-pretty', options: { translateTime: 'SYS:standard' } }) : undefined)

  const clock = config.clockStart === undefined ? systemClock : shiftedClock(config.clockStart, systemClock, new Date(performance.timeOrigin))
  const app = await buildApp(config, { logger, clock })
  const sweeper = startExpirySweeper(app, config.expirySweepIntervalMs)
  const sender = createLogSmsSender(logger)
  const dispatcher = startPeriodic('sms-outbox', config.outboxDispatchIntervalMs, logger, async () => {
    await dispatchOutbox(app.db, { sender, pii: app.pii, now: () => app.clock.now(), log: logger })
  })
  closeWithGrace({ delay: config.shutdownGraceMs, logger }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err }, 'shutting down after an error')
    else logger.info({ signal }, 'shutting down')
    await Promise.all([sweeper.stop(), dispatcher.stop()])
    await app.close()
  })

  await app.listen({ host: config.host, port: config.port })
  logger.info({
    database: config.database.kind,
    devTokens: config.devTokens,
    startupMs: Math.round(process.uptime() * 1000)
  }, 'ready')
}

await main()
