// Log serialisation: database errors lose their parameters, other errors keep their usual shape.
import { pino } from 'pino'
import { Writable } from 'node:stream'
import t from 'tap'
import { loggerOptions, serializeError } from '../../src/shared/logging.js'

t.test('a failed query is logged without its parameters', async (t) => {
  const driver = Object.assign(new Error('invalid input syntax for type uuid: "13800138000"'), { code: '22P02' })
  const wrapped = Object.assign(new Error('Failed query: select 1 where id = $1\nparams: 13800138000'), {
    query: 'select 1 where id = $1', params: ['13800138000'], cause: driver
  })
  const logged = serializeError(wrapped)
  t.same(logged, { type: 'DatabaseError', query: 'select 1 where id = $1', code: '22P02', constraint: undefined })
  t.notOk(JSON.stringify(serializeError(driver)).includes('13800138000'))
})

t.test('other errors keep message and stack', async (t) => {
  const logged = serializeError(new TypeError('boom'))
  t.match(logged, { type: 'TypeError', message: 'boom', stack: /TypeError: boom/ })
})

t.test('the logger redacts personal data at every depth it is configured for', async (t) => {
  const lines: string[] = []
  const logger = pino(loggerOptions('info'), new Writable({ write (c, _e, done) { lines.push(String(c)); done() } }))
  logger.info({ identity: { idNumber: '440104199001011234' }, phone: '13800138000', nested: { phone: '13900139000' } }, 'x')
  const text = lines.join('')
  t.notOk(/440104199001011234|13800138000|13900139000/.test(text))
})

t.test('paths lose query strings and anything that could be a document or phone number, but keep ids', async (t) => {
  const { safePath } = await import('../../src/shared/logging.js')
  t.equal(safePath('/v1/progress-queries/44010619800101030X?x=1'), '/v1/progress-queries/[redacted]')
  t.equal(safePath('/v1/holders/13800138000'), '/v1/holders/[redacted]')
  t.equal(safePath('/v1/applications/5a3e0000-0000-4000-8000-000000000001/timeline'), '/v1/applications/5a3e0000-0000-4000-8000-000000000001/timeline')
  t.equal(safePath('/v1/payments/44010024000012155182'), '/v1/payments/[redacted]')
  t.equal(safePath('/v1/stations'), '/v1/stations')
})
