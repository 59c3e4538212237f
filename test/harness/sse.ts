// A raw node:http Server-Sent Events client: what arrived, in order, and how the stream ended.
import { request as httpRequest, type ClientRequest } from 'node:http'

export interface SseMessage { event: string; id?: string; data: string; at: number }

export interface SseStream {
  status: Promise<number>
  messages: SseMessage[]
  heartbeats: number
  /** Set when the response ended cleanly (the server closed the stream). */
  endedAt?: number
  /** Set when the connection broke instead (reset, aborted). */
  error?: string
  /** Resolves when the stream is over, either way. */
  finished: Promise<void>
  /** Resolves with the first message of this event type, or undefined after `timeoutMs`. */
  waitFor(event: string, timeoutMs: number, predicate?: (m: SseMessage) => boolean): Promise<SseMessage | undefined>
  close(): void
}

export function openSse (url: string, path: string, headers: Record<string, string>): SseStream {
  const messages: SseMessage[] = []
  const waiters = new Set<() => void>()
  let resolveStatus: (status: number) => void = () => undefined
  let resolveFinished: () => void = () => undefined
  const stream: SseStream = {
    status: new Promise((resolve) => { resolveStatus = resolve }),
    messages,
    heartbeats: 0,
    finished: new Promise((resolve) => { resolveFinished = resolve }),
    waitFor (event, timeoutMs, predicate = () => true) {
      const find = () => messages.find((m) => m.event === event && predicate(m))
      return new Promise((resolve) => {
        const found = find()
        if (found !== undefined) { resolve(found); return }
        const check = () => {
          const hit = find()
          if (hit !== undefined || stream.endedAt !== undefined || stream.error !== undefined) {
            waiters.delete(check)
            clearTimeout(timer)
            resolve(hit)
          }
        }
        const timer = setTimeout(() => { waiters.delete(check); resolve(undefined) }, timeoutMs)
        waiters.add(check)
      })
    },
    close: () => { request.destroy() }
  }
  const wake = () => { for (const waiter of [...waiters]) waiter() }
  const finish = (error?: string) => {
    if (stream.endedAt !== undefined || stream.error !== undefined) return
    if (error === undefined) stream.endedAt = performance.now()
    else stream.error = error
    wake()
    resolveFinished()
  }
  const request: ClientRequest = httpRequest(`${url}${path}`, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, (response) => {
    resolveStatus(response.statusCode ?? 0)
    response.setEncoding('utf8')
    let buffer = ''
    response.on('data', (chunk: string) => {
      buffer += chunk
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const message: SseMessage = { event: 'message', data: '', at: performance.now() }
        let comment = false
        const data: string[] = []
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) { comment = true; continue }
          const colon = line.indexOf(':')
          const field = colon < 0 ? line : line.slice(0, colon)
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'event') message.event = value
          else if (field === 'id') message.id = value
          else if (field === 'data') data.push(value)
        }
        if (comment && data.length === 0 && message.id === undefined) { stream.heartbeats++; continue }
        message.data = data.join('\n')
        messages.push(message)
      }
      wake()
    })
    response.on('end', () => finish())
    response.on('aborted', () => finish('ABORTED'))
    response.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message))
  })
  request.on('error', (error: NodeJS.ErrnoException) => { resolveStatus(0); finish(error.code ?? error.message) })
  request.end()
  return stream
}
