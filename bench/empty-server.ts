// The framework's limit: a Fastify route that does nothing, in its own process (PORT from the environment).
/* eslint-disable no-restricted-properties -- a benchmark helper process, configured by its parent through the environment */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/', async () => ({}))
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
process.once('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
