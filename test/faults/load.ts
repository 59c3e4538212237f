// The steady load of the fault scripts: a few clients, each cycling its own holders through submit, pay or
// cancel, production and pickup, with reads in between; after an unclear answer a client re-reads its state.
import { sleep } from '../harness/checks.js'
import { applicationBody, deliver, moveStage, signedNotification, submit, type Random, type Tally } from '../harness/flows.js'
import type { Answer, HttpClient } from '../harness/http.js'
import type { Credentials } from '../harness/identity.js'
import type { Service } from '../harness/services.js'
import type { SeededHolder } from '../harness/api.js'

export interface LoadHolder extends SeededHolder {
  token: string
  /** What the client believes; undefined after an unclear answer (503, no answer) until it has read again. */
  app?: { id: string; code: string; expiresAt: number; stage: string; pickupStationId: string } | null
}

export interface LoadOptions {
  http: HttpClient
  tally: Tally
  creds: Credentials
  rng: Random
  holders: LoadHolder[]
  clients: number
  stationIds: string[]
  bureau: string
  staffTokens: Map<string, string>
  /** The services to use now (a killed replica drops out). */
  targets: () => Service[]
  /** Notifications are held back while this says so. */
  holdPayments?: () => boolean
  pauseMs: [number, number]
  timeoutMs?: number
}

export interface Load {
  stop(): Promise<void>
  /** Steps completed, for the report. */
  steps(): number
}

function viewState (view: Record<string, unknown>): NonNullable<LoadHolder['app']> {
  const payment = view.payment as { code: string; expiresAt: string } | undefined
  return {
    id: view.id as string,
    code: payment?.code ?? '',
    expiresAt: payment === undefined ? Number.POSITIVE_INFINITY : Date.parse(payment.expiresAt),
    stage: view.stage as string,
    pickupStationId: (view.pickupStation as { id: string }).id
  }
}

const clear = (a: Answer) => a.status !== 0 && a.status < 500

export function startLoad (options: LoadOptions): Load {
  const { http, rng } = options
  let stopped = false
  let steps = 0
  const timeoutMs = options.timeoutMs ?? 10_000
  const call = (service: Service, method: string, path: string, extra: Parameters<HttpClient['call']>[3] = {}) => http.call(service, method, path, { timeoutMs, ...extra })

  const step = async (h: LoadHolder) => {
    const service = rng.pick(options.targets())
    if (h.app === undefined) {
      const current = await call(service, 'GET', '/v1/me/applications/current', { token: h.token })
      if (current.status === 200) h.app = viewState(current.body as Record<string, unknown>)
      else if (current.status === 404) h.app = null
      return
    }
    if (h.app === null || ['COLLECTED', 'CANCELLED', 'EXPIRED_UNPAID'].includes(h.app.stage)) {
      const answer = await submit(http, service, h.token, applicationBody(rng.pick(options.stationIds), rng.chance(0.5) ? 'LOST' : 'DAMAGED'))
      h.app = answer.status === 201 ? viewState(answer.body as Record<string, unknown>) : undefined
      return
    }
    const app = h.app
    switch (app.stage) {
      case 'AWAITING_PAYMENT': {
        if (rng.chance(0.25)) {
          const answer = await call(service, 'POST', `/v1/applications/${app.id}/cancel`, { token: h.token })
          h.app = answer.status === 200 ? viewState(answer.body as Record<string, unknown>) : undefined
          return
        }
        if (options.holdPayments?.() === true) return
        const paidAt = Date.now()
        const answers = await deliver(http, options.tally, options.targets(), signedNotification(options.creds, app.code, new Date(paidAt)), timeoutMs)
        h.app = answers.some((a) => a.status === 200 && a.body?.outcome === 'RECORDED') ? { ...app, stage: 'PAID' } : undefined
        return
      }
      case 'PAID':
      case 'IN_PRODUCTION':
      case 'READY_FOR_PICKUP': {
        const to = app.stage === 'PAID' ? 'IN_PRODUCTION' : app.stage === 'IN_PRODUCTION' ? 'READY_FOR_PICKUP' : 'COLLECTED'
        const token = to === 'COLLECTED' ? options.staffTokens.get(app.pickupStationId)! : options.bureau
        const read = await call(service, 'GET', `/v1/applications/${app.id}`, { token })
        if (read.status !== 200) { h.app = undefined; return }
        const moved = await moveStage(http, rng.pick(options.targets()), token, app.id, to, read.headers.get('etag') ?? undefined)
        h.app = moved.status === 200 ? viewState(moved.body as Record<string, unknown>) : undefined
        return
      }
      default:
        h.app = undefined
    }
  }

  const read = async (h: LoadHolder) => {
    const service = rng.pick(options.targets())
    const answer = rng.chance(0.5)
      ? await call(service, 'GET', '/v1/stations?limit=5', { token: h.token })
      : await call(service, 'POST', '/v1/progress-queries', { token: h.token, body: h.identity })
    return clear(answer)
  }

  const lanes = Array.from({ length: options.clients }, (_, lane) => (async () => {
    const mine = options.holders.filter((_, i) => i % options.clients === lane)
    let next = 0
    while (!stopped) {
      const h = mine[next++ % mine.length]!
      await step(h)
      if (rng.chance(0.4)) await read(h)
      steps++
      await sleep(rng.int(...options.pauseMs))
    }
  })())

  return {
    stop: async () => {
      stopped = true
      await Promise.all(lanes)
    },
    steps: () => steps
  }
}
