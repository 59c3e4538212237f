// Load generation: autocannon against an HTTP target, or N concurrent workers issuing SQL through a pg pool.
import autocannon from 'autocannon'

export interface Latency { p50: number; p90: number; p99: number; max: number; mean: number }

export function percentile (sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

export function latencyOf (values: number[]): Latency {
  const sorted = Float64Array.from(values).sort()
  const sum = values.reduce((a, b) => a + b, 0)
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    mean: values.length === 0 ? NaN : sum / values.length
  }
}

export function median (values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (finite.length === 0) return NaN
  const mid = Math.floor(finite.length / 2)
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2
}

export interface LoadResult {
  /** Successful operations (2xx responses, or pg operations that completed). */
  ok: number
  /** Non-2xx responses, or pg operations that threw. */
  failed: number
  /** Connection errors and timeouts (HTTP only). */
  errors: number
  statusCodes: Record<string, number>
  seconds: number
  /** Successful operations per second. */
  rate: number
  /** Latency of successful operations, ms. */
  latency: Latency
  /** Completion time (ms since the start) and latency of each successful operation, when asked for. */
  timeline?: Array<[number, number]>
}

export interface HttpRequest { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string }

export interface HttpLoad {
  url: string
  connections: number
  durationS: number
  /** The request to send next; called once per request, from every connection. */
  next: () => HttpRequest
  /** Requests per second over all connections (open-loop pacing); unbounded when omitted. */
  overallRate?: number
  keepTimeline?: boolean
  /** Called with a stop function once the load is running, for loads that end on an event rather than a duration. */
  onStart?: (stop: () => void) => void
}

export function runHttp (load: HttpLoad): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = []
    const timeline: Array<[number, number]> | undefined = load.keepTimeline === true ? [] : undefined
    const statusCodes: Record<string, number> = {}
    let failed = 0
    const started = performance.now()
    const instance = autocannon({
      url: load.url,
      connections: load.connections,
      pipelining: 1,
      duration: load.durationS,
      timeout: 60,
      ...(load.overallRate === undefined ? {} : { overallRate: load.overallRate }),
      requests: [{
        method: 'GET',
        path: '/',
        setupRequest: (request) => {
          const next = load.next()
          return { ...request, method: next.method, path: next.path, headers: next.headers ?? {}, body: next.body ?? '' } as typeof request
        }
      }]
    }, (error, result) => {
      if (error !== null && error !== undefined) { reject(error); return }
      // autocannon's own duration: from the first connection to the stop, without connection teardown.
      const seconds = result.duration > 0 ? result.duration : (performance.now() - started) / 1000
      resolve({
        ok: latencies.length,
        failed,
        errors: result.errors + result.timeouts,
        statusCodes,
        seconds,
        rate: latencies.length / seconds,
        latency: latencyOf(latencies),
        ...(timeline === undefined ? {} : { timeline })
      })
    })
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1
      if (statusCode >= 200 && statusCode < 300) {
        latencies.push(responseTime)
        timeline?.push([performance.now() - started, responseTime])
      } else {
        failed++
      }
    })
    load.onStart?.(() => instance.stop())
  })
}

export interface PgLoad {
  concurrency: number
  durationS: number
  /** One operation; its index counts up from 0 across all workers. */
  op: (index: number) => Promise<unknown>
}

/**
 * `concurrency` workers each running operations back to back for the duration, like autocannon's connections.
 * As with autocannon, only operations that complete within the duration count; the ones still running at the
 * end are awaited (so the next run starts clean) but not counted.
 */
export async function runPg (load: PgLoad): Promise<LoadResult> {
  const latencies: number[] = []
  let failed = 0
  let index = 0
  const errorsByMessage: Record<string, number> = {}
  const started = performance.now()
  const end = started + load.durationS * 1000
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now()
      try {
        await load.op(index++)
        const t1 = performance.now()
        if (t1 <= end) latencies.push(t1 - t0)
      } catch (error) {
        if (performance.now() > end) continue
        failed++
        const message = (error as Error).message.slice(0, 80)
        errorsByMessage[message] = (errorsByMessage[message] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: load.concurrency }, worker))
  return { ok: latencies.length, failed, errors: 0, statusCodes: errorsByMessage, seconds: load.durationS, rate: latencies.length / load.durationS, latency: latencyOf(latencies) }
}
