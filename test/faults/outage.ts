// Fault a: the database goes away for ~3 s under load (a TCP proxy in front of PostgreSQL is cut) and comes back.
import pg from 'pg'
import { registerHolders, createStation } from '../harness/api.js'
import { log, section, sleep, type Checks, type Cleanup } from '../harness/checks.js'
import type { ScriptDatabase } from '../harness/database.js'
import { applicationBody, deliver, signedNotification, submit, type Random, type Tally } from '../harness/flows.js'
import { HttpClient, routeOf, summarise, type Answer } from '../harness/http.js'
import type { Credentials } from '../harness/identity.js'
import { outageProxy } from '../harness/proxy.js'
import { startServices, type Service } from '../harness/services.js'
import { openSse } from '../harness/sse.js'
import { startLoad, type LoadHolder } from './load.js'

const OUTAGE_MS = 3000
const HANG_LIMIT_MS = 5000

export interface FaultContext {
  checks: Checks
  cleanup: Cleanup
  db: ScriptDatabase
  env: Record<string, string>
  creds: Credentials
  rng: Random
  tally: Tally
}

export async function databaseOutage ({ checks, cleanup, db, env, creds, rng, tally }: FaultContext): Promise<Service[]> {
  section('a. database outage: the proxy in front of PostgreSQL is cut for ~3 s under load')
  const proxy = outageProxy(new URL(db.url))
  await proxy.start()
  cleanup.add('close the outage proxy', () => proxy.cut())
  const [service] = await startServices([{ name: 'outage', env: { ...env, DATABASE_URL: proxy.url() } }], cleanup)
  const svc = service!
  log(`service pid ${svc.pid} on :${svc.port}, database through the proxy at ${new URL(proxy.url()).host}`)

  const http = new HttpClient()
  const bureau = creds.token({ role: 'bureau_staff' })
  const station = await createStation(http, svc, bureau, 100)
  const held = await createStation(http, svc, bureau, 101)
  const staffTokens = new Map([[station.id, creds.token({ role: 'station_staff', stationId: station.id })]])
  const seeded = await registerHolders(http, [svc], bureau, 1, 15, 4)
  const holders: LoadHolder[] = seeded.map((h) => ({ ...h, token: creds.token({ role: 'citizen', identity: h.identity }), app: null }))
  const watched = holders.pop()!
  const stranded = holders.splice(-2)

  // A live stream opened before the outage must carry an event committed after it (the LISTEN connection comes back).
  const watchedApp = await submit(http, svc, watched.token, applicationBody(station.id))
  if (!checks.check('the watched application is submitted before the outage', watchedApp.status === 201, watchedApp.body)) return [svc]
  const sse = openSse(svc.url, `/v1/applications/${watchedApp.body.id as string}/events`, { authorization: `Bearer ${watched.token}` })
  cleanup.add('close the outage live stream', () => sse.close())
  const snapshot = await sse.waitFor('snapshot', 5000)
  checks.check('the live stream sends its snapshot before the outage', snapshot !== undefined, { status: await sse.status, error: sse.error })

  // Readiness, every 100 ms, all along.
  const readiness: Answer[] = []
  let polling = true
  const poller = (async () => {
    while (polling) {
      readiness.push(await http.call(svc, 'GET', '/health/ready', { timeoutMs: 8000 }))
      await sleep(100)
    }
  })()

  const load = startLoad({
    http, tally, creds, rng, holders, clients: 4, stationIds: [station.id], bureau, staffTokens,
    targets: () => [svc], pauseMs: [20, 80], timeoutMs: 8000
  })
  await sleep(3000)

  // Two submissions are inside their transactions, for certain, when the connection goes: their pickup station's
  // row is locked (directly, not through the proxy), so each waits at its insert until after the cut.
  const locker = new pg.Client({ connectionString: db.url, application_name: 'yufu-script-locker' })
  await locker.connect()
  cleanup.add('release the outage locker', () => locker.end().catch(() => undefined))
  await locker.query('begin')
  await locker.query('select id from stations where id = $1 for update', [held.id])
  const inTransaction = stranded.map((h) => submit(http, svc, h.token, applicationBody(held.id)))
  let waiting = 0
  const waitDeadline = performance.now() + 5000
  while (waiting < stranded.length && performance.now() < waitDeadline) {
    const [row] = await db.query<{ n: number }>(`select count(*)::int n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query like 'insert into "applications"%'`)
    waiting = row?.n ?? 0
    if (waiting < stranded.length) await sleep(25)
  }
  checks.check(`${stranded.length} submissions are inside their database transactions when the connection is cut`, waiting === stranded.length, `${waiting} waiting`)

  const beforeCut = http.answers.length
  const cutAt = performance.now()
  await proxy.cut()
  log(`cut the database connection (${proxy.connections()} proxied connections so far)`)
  await locker.query('rollback')
  const strandedAnswers = await Promise.all(inTransaction)
  checks.check('the submissions whose transaction lost its connection are answered 503 DATABASE_UNAVAILABLE (and the process lives on)',
    strandedAnswers.every((a) => a.status === 503 && a.body?.code === 'DATABASE_UNAVAILABLE') && svc.alive(), { answers: strandedAnswers.map((a) => a.status === 0 ? a.error : `${a.status} ${a.body?.code}`), alive: svc.alive() })
  await sleep(OUTAGE_MS)
  const restoredAt = performance.now()
  await proxy.start()
  log('restored the database connection')

  let readyAt: number | undefined
  while (readyAt === undefined && performance.now() - restoredAt < 20_000) {
    const after = readiness.find((a) => a.startedAt >= restoredAt && a.status === 200)
    if (after !== undefined) readyAt = after.startedAt + after.ms
    else await sleep(50)
  }
  await sleep(3000)
  await load.stop()
  polling = false
  await poller
  const firstApiSuccess = http.answers.filter((a) => a.startedAt >= restoredAt && a.path !== '/health/ready' && a.status >= 200 && a.status < 300)
    .map((a) => a.startedAt + a.ms).sort((x, y) => x - y)[0]

  // The watched application is paid now: its stream, opened before the outage, must see it.
  const paid = await deliver(http, tally, [svc], signedNotification(creds, watchedApp.body.payment.code as string, new Date()))
  const event = await sse.waitFor('timeline', 12_000, (m) => m.data.includes('PAYMENT_RECEIVED'))
  checks.check('after the outage, the live stream opened before it delivers the payment committed after it (LISTEN reconnected)',
    paid[0]?.body?.outcome === 'RECORDED' && event !== undefined, { notification: paid[0]?.body, messages: sse.messages.map((m) => m.event), error: sse.error })
  sse.close()

  // --- what the clients saw
  const api = http.answers.filter((a) => a.path !== '/health/ready')
  const inGap = (a: Answer) => a.startedAt >= cutAt + 50 && a.startedAt + a.ms <= restoredAt
  const gapAnswers = api.filter(inGap)
  const gap503 = gapAnswers.filter((a) => a.status === 503 && a.body?.code === 'DATABASE_UNAVAILABLE' && a.contentType.startsWith('application/problem+json') && a.headers.get('retry-after') !== null)
  checks.check(`requests during the outage are answered 503 problem+json DATABASE_UNAVAILABLE with Retry-After (${gap503.length} of ${gapAnswers.length})`,
    gapAnswers.length > 0 && gap503.length === gapAnswers.length, summarise(gapAnswers.filter((a) => !gap503.includes(a))))
  const broken = api.filter((a) => (a.status >= 500 && a.status !== 503) || a.status === 0)
  checks.check(`no 500 or other 5xx, no reset and no timeout in any of the ${api.length} requests`, broken.length === 0, summarise(broken))
  const stray503 = api.filter((a) => a.status === 503 && (a.startedAt + a.ms < cutAt || (readyAt !== undefined && a.startedAt >= readyAt)))
  checks.check('no 503 outside the outage (answered before the cut, or sent once /health/ready said 200 again)', stray503.length === 0, summarise(stray503))
  const slowest = api.filter((a) => a.startedAt + a.ms >= cutAt && a.startedAt <= restoredAt).reduce((max, a) => Math.max(max, a.ms), 0)
  checks.check(`no request around the outage takes more than ${HANG_LIMIT_MS / 1000} s (slowest ${slowest.toFixed(0)} ms)`, slowest <= HANG_LIMIT_MS)
  const afterRecovery = api.filter((a) => readyAt !== undefined && a.startedAt >= readyAt)
  checks.check(`requests after recovery succeed again (${afterRecovery.filter((a) => a.status < 400).length} of ${afterRecovery.length} 2xx/3xx, none 5xx)`,
    afterRecovery.length > 0 && afterRecovery.every((a) => a.status > 0 && a.status < 500) && afterRecovery.some((a) => a.status >= 200 && a.status < 300), summarise(afterRecovery.filter((a) => a.status >= 500 || a.status === 0)))

  const readyInGap = readiness.filter(inGap)
  checks.check(`/health/ready answers 503 DATABASE_UNAVAILABLE during the outage (${readyInGap.length} polls)`,
    readyInGap.length > 0 && readyInGap.every((a) => a.status === 503 && a.body?.code === 'DATABASE_UNAVAILABLE'), summarise(readyInGap.filter((a) => a.status !== 503)))
  checks.check('/health/ready answered 200 before the outage', readiness.some((a) => a.startedAt + a.ms < cutAt && a.status === 200))
  checks.check(`/health/ready answers 200 again after the restore, within 10 s (${readyAt === undefined ? 'never' : `${(readyAt - restoredAt).toFixed(0)} ms`})`,
    readyAt !== undefined && readyAt - restoredAt < 10_000)
  const readyAfter = readiness.filter((a) => readyAt !== undefined && a.startedAt > readyAt)
  checks.check('and stays 200', readyAfter.length > 0 && readyAfter.every((a) => a.status === 200), summarise(readyAfter.filter((a) => a.status !== 200)))
  let stillRunning = svc.alive()
  try { process.kill(svc.pid, 0) } catch { stillRunning = false }
  checks.check(`the service recovered without a restart (pid ${svc.pid} still the one serving)`, stillRunning && svc.alive(), svc.alive() ? undefined : { exit: await svc.exited, lastOutput: svc.output().slice(-4).map((l) => l.slice(0, 300)) })
  const strandedRows = await db.query('select reference_no from applications where holder_id = any($1::uuid[])', [stranded.map((h) => h.id)])
  checks.none('nothing of the transactions cut off by the outage was committed', strandedRows)

  const byStatus: Record<string, number> = {}
  for (const a of gapAnswers) byStatus[`${routeOf(a)} ${a.status}`] = (byStatus[`${routeOf(a)} ${a.status}`] ?? 0) + 1
  log(`${api.length} requests (${beforeCut} before the cut), ${load.steps()} client steps; during the ${OUTAGE_MS} ms outage: ${JSON.stringify(byStatus)}`)
  log(`readiness polls: ${readiness.length}, of which ${readyInGap.length} in the outage; ready again ${readyAt === undefined ? 'never' : `${(readyAt - restoredAt).toFixed(0)} ms`} after the restore; ` +
    `first successful API request ${firstApiSuccess === undefined ? 'never' : `${(firstApiSuccess - restoredAt).toFixed(0)} ms`} after it; slowest request around the outage ${slowest.toFixed(0)} ms`)
  const errorLines = svc.errorLines().filter((l) => !l.includes('"code":"DATABASE_UNAVAILABLE"'))
  checks.check('the service logged no error-level line other than the 503 DATABASE_UNAVAILABLE answers', errorLines.length === 0, errorLines.slice(0, 3).map((l) => l.slice(0, 400)))
  return [svc]
}
