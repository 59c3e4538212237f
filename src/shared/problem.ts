// RFC 9457 problem details: the one error type domain code throws, and its JSON schema.
import { Type, type Static } from 'typebox'

export const FieldErrorSchema = Type.Object({
  pointer: Type.String({ description: 'JSON Pointer to the failing field, relative to the request part named by `in`' }),
  in: Type.Enum(['body', 'query', 'path', 'header'], {
    description: 'Which part of the request the pointer refers to'
  }),
  message: Type.String({ description: 'What is wrong with the field (never echoes personal data)' })
}, { additionalProperties: false })
export type FieldError = Static<typeof FieldErrorSchema>

export const ProblemSchema = Type.Object({
  type: Type.String({ description: 'URI reference identifying the problem type' }),
  title: Type.String({ description: 'Short, human-readable summary of the problem type' }),
  status: Type.Integer({ description: 'HTTP status code' }),
  code: Type.String({ description: 'Stable machine-readable code; clients branch on this, not on the title' }),
  detail: Type.Optional(Type.String({ description: 'Explanation specific to this occurrence' })),
  instance: Type.Optional(Type.String({ description: 'The request path the problem occurred on' })),
  requestId: Type.Optional(Type.String({ description: 'The request id, also in the X-Request-Id header; quote it to support' })),
  errors: Type.Optional(Type.Array(FieldErrorSchema, { description: 'Every failing field, for validation problems' }))
}, { additionalProperties: true, description: 'RFC 9457 problem details' })
export type Problem = Static<typeof ProblemSchema>

export class ProblemError extends Error {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail: string | undefined
  readonly errors: FieldError[] | undefined
  readonly extensions: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor (status: number, code: string, title: string, options: {
    detail?: string
    errors?: FieldError[]
    extensions?: Record<string, unknown>
    headers?: Record<string, string>
    cause?: unknown
  } = {}) {
    super(options.detail ?? title, { cause: options.cause })
    this.name = 'ProblemError'
    this.status = status
    this.code = code
    this.title = title
    this.detail = options.detail
    this.errors = options.errors
    this.extensions = options.extensions ?? {}
    this.headers = options.headers ?? {}
  }
}

export function problemType (code: string): string {
  return `/problems/${code.toLowerCase().replaceAll('_', '-')}`
}

export function validationProblem (errors: FieldError[], detail = 'The request has invalid fields'): ProblemError {
  return new ProblemError(400, 'VALIDATION_FAILED', 'Invalid request', { detail, errors })
}

export function notFound (code: string, detail: string): ProblemError {
  return new ProblemError(404, code, 'Not found', { detail })
}
