// The one error handler: typed problems, validation failures, framework and database errors become RFC 9457 problem+json.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { isDataException, isDatabaseUnavailable, isSerializationFailure, isUniqueViolation } from '../shared/db-errors.js'
import { safePath } from '../shared/logging.js'
import { ProblemError, problemType, type FieldError, type Problem } from '../shared/problem.js'

interface AjvError { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }

const PARTS: Record<string, FieldError['in']> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' }

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1')

export function toFieldErrors (errors: AjvError[], context: string | undefined): FieldError[] {
  const part = PARTS[context ?? 'body'] ?? 'body'
  const seen = new Set<string>()
  const out: FieldError[] = []
  for (const e of errors) {
    let pointer = e.instancePath
    let message = e.message ?? 'is invalid'
    if (e.keyword === 'required') {
      pointer += `/${escapePointer(String(e.params.missingProperty))}`
      message = 'is required'
    } else if (e.keyword === 'additionalProperties') {
      pointer += `/${escapePointer(String(e.params.additionalProperty))}`
      message = 'is not an allowed field'
    }
    const fieldError = { pointer: pointer === '' ? '/' : pointer, in: part, message }
    const key = `${fieldError.in}${fieldError.pointer}${fieldError.message}`
    if (!seen.has(key)) {
      seen.add(key)
      out.push(fieldError)
    }
  }
  return out
}

const FRAMEWORK_PROBLEMS: Record<string, { status: number; code: string; title: string; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE', title: 'Payload too large', detail: 'The request body is larger than this operation accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', title: 'Unsupported media type', detail: 'This operation does not accept that content type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'MALFORMED_JSON', title: 'Malformed JSON', detail: 'The body is empty but the content type says JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'MALFORMED_JSON', title: 'Malformed JSON', detail: 'The body is not valid JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_CONTENT_LENGTH', title: 'Bad request', detail: 'Content-Length does not match the body' },
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_URL', title: 'Bad request', detail: 'The URL is not well formed' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'URI_TOO_LONG', title: 'URI too long', detail: 'A path parameter is longer than this service accepts' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', title: 'Unsupported media type', detail: 'The content type header is invalid' }
}

export function toProblem (error: FastifyError | ProblemError | Error, request: FastifyRequest): { problem: Problem; headers: Record<string, string> } {
  const base = { instance: safePath(request.url), requestId: String(request.id) }
  if (error instanceof ProblemError) {
    return {
      problem: {
        type: problemType(error.code),
        title: error.title,
        status: error.status,
        code: error.code,
        ...(error.detail === undefined ? {} : { detail: error.detail }),
        ...base,
        ...(error.errors === undefined ? {} : { errors: error.errors }),
        ...error.extensions
      },
      headers: error.headers
    }
  }
  const fastifyError = error as FastifyError
  if (Array.isArray(fastifyError.validation)) {
    return build(400, 'VALIDATION_FAILED', 'Invalid request', 'The request has invalid fields', base,
      { errors: toFieldErrors(fastifyError.validation as unknown as AjvError[], fastifyError.validationContext) })
  }
  if (error instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    const p = FRAMEWORK_PROBLEMS.FST_ERR_CTP_INVALID_JSON_BODY!
    return build(p.status, p.code, p.title, p.detail, base)
  }
  const framework = fastifyError.code === undefined ? undefined : FRAMEWORK_PROBLEMS[fastifyError.code]
  if (framework !== undefined) return build(framework.status, framework.code, framework.title, framework.detail, base)
  if (isDatabaseUnavailable(error)) {
    return { ...build(503, 'DATABASE_UNAVAILABLE', 'Service unavailable', 'The database is unavailable; retry shortly', base), headers: { 'retry-after': '5' } }
  }
  // A backstop: validation should refuse such values first, but a value the database cannot take is the client's, not a 500.
  if (isDataException(error)) return build(400, 'INVALID_VALUE', 'Bad request', 'A value in the request cannot be stored', base)
  if (isUniqueViolation(error)) return build(409, 'CONFLICT', 'Conflict', 'The request conflicts with existing data', base)
  if (isSerializationFailure(error)) {
    return { ...build(409, 'CONCURRENT_UPDATE', 'Conflict', 'A concurrent change won; retry the request', base), headers: { 'retry-after': '1' } }
  }
  const status = fastifyError.statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    return build(status, 'BAD_REQUEST', 'Bad request', 'The request could not be processed', base)
  }
  return build(500, 'INTERNAL_ERROR', 'Internal server error', 'An unexpected error occurred; quote the request id to support', base)
}

function build (status: number, code: string, title: string, detail: string, base: object, extra: object = {}) {
  return { problem: { type: problemType(code), title, status, code, detail, ...base, ...extra } as Problem, headers: {} as Record<string, string> }
}

/** The problem for a route that does not exist (or is switched off, which must look the same). */
export function routeNotFound (): ProblemError {
  return new ProblemError(404, 'ROUTE_NOT_FOUND', 'Not found', { detail: 'No such route' })
}

export function sendProblem (reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(problem.status).headers(headers).type('application/problem+json').send(problem)
}

export default fp(async function errors (app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { problem, headers } = toProblem(error, request)
    if (problem.status >= 500) {
      request.log.error({ err: error, code: problem.code }, 'request failed')
    } else {
      request.log.info({ code: problem.code, status: problem.status }, 'request refused')
    }
    return sendProblem(reply, problem, headers)
  })

  app.setNotFoundHandler((request, reply) => {
    const problem = toProblem(routeNotFound(), request).problem
    return sendProblem(reply, problem)
  })
}, { name: 'errors' })
