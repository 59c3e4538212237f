// A JSON HTTP client on fetch that records every answer (or transport error) for the scripts' tallies; raw node:http for fault tests.
import { request as httpRequest } from 'node:http'
import type { Service } from './services.js'

export interface Answer {
  service: string
  method: string
  path: string
  /** 0 when no HTTP answer came back (connection refused or reset, timeout). */
  status: number
  headers: Headers
  // Parsed JSON when the answer is JSON or problem+json, else the text.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any
  contentType: string
  ms: number
  /** Transport error, when status is 0. */
  error?: string
  startedAt: number
}

export interface CallOptions {
  token?: string
  body?: unknown
  /** Sent as is (already serialised), with the JSON content type unless headers say otherwise. */
  rawBody?: string
  headers?: Record<string, string>
  timeoutMs?: number
}

function transportError (error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'TIMEOUT'
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(error)
}

export class HttpClient {
  readonly answers: Answer[] = []
  /** Whether to keep every answer (tallies) or none. */
  record = true

  async call (service: Pick<Service, 'name' | 'url'>, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    let body: string | undefined
    if (options.rawBody !== undefined) body = options.rawBody
    else if (options.body !== undefined) body = JSON.stringify(options.body)
    if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json'
    const startedAt = performance.now()
    let answer: Answer
    try {
      const res = await fetch(`${service.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) })
      const text = await res.text()
      const contentType = res.headers.get('content-type') ?? ''
      let parsed: unknown = text
      if (/json/.test(contentType) && text !== '') {
        try { parsed = JSON.parse(text) } catch { parsed = text }
      }
      answer = { service: service.name, method, path, status: res.status, headers: res.headers, body: parsed, contentType, ms: performance.now() - startedAt, startedAt }
    } catch (error) {
      answer = { service: service.name, method, path, status: 0, headers: new Headers(), body: undefined, contentType: '', ms: performance.now() - startedAt, error: transportError(error), startedAt }
    }
    if (this.record) this.answers.push(answer)
    return answer
  }

  /** Answers grouped by status, for the report. */
  statusCounts (answers: readonly Answer[] = this.answers): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const a of answers) {
      const key = a.status === 0 ? `error:${a.error}` : String(a.status)
      counts[key] = (counts[key] ?? 0) + 1
    }
    return counts
  }
}

/** Route shape for reports: ids and codes replaced, so answers group by operation. */
export function routeOf (answer: Pick<Answer, 'method' | 'path'>): string {
  return `${answer.method} ${answer.path.split('?')[0]!.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, ':id').replace(/\/[0-9]{20}/g, '/:code')}`
}

export function summarise (answers: readonly Answer[]): string {
  return answers.slice(0, 5).map((a) => `${a.service} ${a.method} ${a.path} → ${a.status === 0 ? a.error : a.status} ${a.status === 0 ? '' : JSON.stringify(a.body).slice(0, 300)}`).join(' | ')
}

export interface RawAnswer {
  status: number
  body: string
  /** The connection's fate when no complete answer came back (ECONNRESET, socket hang up, TIMEOUT). */
  error?: string
  /** performance.now() when the request body was fully written to the socket. */
  sentAt: number
  answeredAt: number
}

/**
 * One request on its own connection (no keep-alive pool), with node:http, so a reset or a half answer
 * is seen as exactly that; `onSent` fires once the whole request is on the wire.
 */
export function rawRequest (url: string, method: string, path: string, options: { headers?: Record<string, string>; body?: string; timeoutMs?: number; onSent?: () => void } = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let sentAt = Number.NaN
    let settled = false
    const done = (answer: Omit<RawAnswer, 'sentAt' | 'answeredAt'>) => {
      if (settled) return
      settled = true
      resolve({ ...answer, sentAt, answeredAt: performance.now() })
    }
    const request = httpRequest(`${url}${path}`, {
      method,
      agent: false,
      headers: { ...options.headers, ...(options.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(options.body)) }) },
      timeout: options.timeoutMs ?? 15_000
    }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => done({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      response.on('aborted', () => done({ status: 0, body: '', error: 'ABORTED_MID_ANSWER' }))
      response.on('error', (error: NodeJS.ErrnoException) => done({ status: 0, body: '', error: error.code ?? error.message }))
    })
    request.on('timeout', () => { request.destroy(); done({ status: 0, body: '', error: 'TIMEOUT' }) })
    request.on('error', (error: NodeJS.ErrnoException) => done({ status: 0, body: '', error: error.code ?? error.message }))
    request.on('finish', () => { sentAt = performance.now(); options.onSent?.() })
    request.end(options.body)
  })
}
