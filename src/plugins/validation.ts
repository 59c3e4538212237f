// Two validators: JSON bodies are strict (no coercion, unknown fields refused); query, path and headers are coerced from text.
import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance, FastifySchema } from 'fastify'

function createAjv (options: Options): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, ...options })
  addFormats.default(ajv)
  return ajv
}

export function installValidators (app: FastifyInstance): void {
  const body = createAjv({ coerceTypes: false, removeAdditional: false })
  const text = createAjv({ coerceTypes: 'array', removeAdditional: false })
  app.setValidatorCompiler<FastifySchema>(({ schema, httpPart }) =>
    (httpPart === 'body' ? body : text).compile(schema as object))
}
