// Two validators: JSON bodies are strict (no coercion, unknown fields refused); query, path and headers are coerced from text.
// Formats are stricter than Ajv's: whatever passes must also be something PostgreSQL and Date accept.
import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance, FastifySchema } from 'fastify'
import { validationProblem, type FieldError } from '../shared/problem.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i

/** Years a person's documents and payments can have; also keeps every value inside PostgreSQL's range. */
export const MIN_YEAR = 1900
export const MAX_YEAR = 2999

function isDate (value: string): boolean {
  const m = DATE.exec(value)
  if (m === null) return false
  const year = Number(m[1])
  const parsed = new Date(`${value}T00:00:00Z`)
  return year >= MIN_YEAR && year <= MAX_YEAR && !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value
}

function isDateTime (value: string): boolean {
  const m = DATE_TIME.exec(value)
  return m !== null && isDate(`${m[1]}-${m[2]}-${m[3]}`) && !Number.isNaN(Date.parse(value))
}

function createAjv (options: Options): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, ...options })
  addFormats.default(ajv)
  ajv.addFormat('uuid', UUID)
  ajv.addFormat('date', isDate)
  ajv.addFormat('date-time', isDateTime)
  return ajv
}

/**
 * NUL and unpaired surrogates: text PostgreSQL cannot store, or that no client means. Walked with an
 * explicit stack, so a body nested a hundred thousand deep is refused, not a stack overflow.
 */
function unwritableText (root: unknown, found: FieldError[], part: FieldError['in']): void {
  const pending: Array<[unknown, string]> = [[root, '']]
  while (pending.length > 0 && found.length < 20) {
    const [value, pointer] = pending.pop()!
    if (typeof value === 'string') {
      if (value.includes('\u0000') || !value.isWellFormed()) found.push({ pointer: pointer === '' ? '/' : pointer, in: part, message: 'contains a NUL or an unpaired surrogate character' })
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => pending.push([item, `${pointer}/${i}`]))
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) pending.push([item, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`])
    }
  }
}

export function installValidators (app: FastifyInstance): void {
  const body = createAjv({ coerceTypes: false, removeAdditional: false })
  const text = createAjv({ coerceTypes: 'array', removeAdditional: false })
  app.setValidatorCompiler<FastifySchema>(({ schema, httpPart }) =>
    (httpPart === 'body' ? body : text).compile(schema as object))

  app.addHook('preValidation', async (request) => {
    const found: FieldError[] = []
    if (!Buffer.isBuffer(request.body)) unwritableText(request.body, found, 'body')
    unwritableText(request.query, found, 'query')
    unwritableText(request.params, found, 'path')
    if (found.length > 0) throw validationProblem(found)
  })
}
