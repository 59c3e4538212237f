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
