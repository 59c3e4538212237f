// Fault c: SIGTERM with requests in flight and a live stream open: the requests finish, the stream is told to
// close, and the process exits 0 within SHUTDOWN_GRACE_MS.
import pg from 'pg'
import { createStation, registerHolders } from '../harness/api.js'
import { log, section, sleep } from '../harness/checks.js'
import { applicationBody, submit } from '../harness/flows.js'
import { HttpClient, rawRequest } from '../harness/http.js'
import { startServices, type Service } from '../harness/services.js'
import { openSse } from '../harness/sse.js'
import type { FaultContext } from './outage.js'

const GRACE_MS = 5000
const HOLD_MS = 1000
const IN_FLIGHT = 6

export async function gracefulShutdown ({ checks, cleanup, db, env, creds }: FaultContext): Promise<Service[]> {
  section(`c. SIGTERM with ${IN_FLIGHT} submissions in flight and a live stream open (SHUTDOWN_GRACE_MS=${GRACE_MS})`)
  const [svc] = await startServices([{ name: 'sigterm', env: { ...env, SHUTDOWN_GRACE_MS: String(GRACE_MS) } }], cleanup)
  const service = svc!
  const http = new HttpClient()
  const bureau = creds.token({ role: 'bureau_staff' })
  const open = await createStation(http, service, bureau, 300)
  const held = await createStation(http, service, bureau, 301)
  const [watched, ...burst] = (await registerHolders(http, [service], bureau, 201, 1 + IN_FLIGHT, 4))
    .map((h) => ({ ...h, token: creds.token({ role: 'citizen', identity: h.identity }) }))

  const watchedApp = await submit(http, service, watched!.token, applicationBody(open.id))
  if (!checks.check('the watched application is submitted', watchedApp.status === 201, watchedApp.body)) return [service]
  const sse = openSse(service.url, `/v1/applications/${watchedApp.body.id as string}/events`, { authorization: `Bearer ${watched!.token}` })
  cleanup.add('close the shutdown live stream', () => sse.close())
  checks.check('the live stream is open (snapshot received)', await sse.waitFor('snapshot', 5000) !== undefined, { status: await sse.status, error: sse.error })

  // Slow in-flight requests, for certain: the pickup station's row is locked, so each submission waits at its
  // insert (the foreign-key check) until the lock is released, HOLD_MS after the SIGTERM.
  const locker = new pg.Client({ connectionString: db.url, application_name: 'yufu-script-locker' })
  await locker.connect()
  cleanup.add('release the shutdown locker', () => locker.end().catch(() => undefined))
  await locker.query('begin')
  await locker.query('select id from stations where id = $1 for update', [held.id])
  const inFlight = burst.map((h) => rawRequest(service.url, 'POST', '/v1/applications', {
    headers: { authorization: `Bearer ${h.token}` }, body: JSON.stringify(applicationBody(held.id, 'DAMAGED')), timeoutMs: 15_000
  }))
  let waiting = 0
  const deadline = performance.now() + 8000
  while (waiting < IN_FLIGHT && performance.now() < deadline) {
    const [row] = await db.query<{ n: number }>(`select count(*)::int n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query like 'insert into "applications"%'`)
    waiting = row?.n ?? 0
    if (waiting < IN_FLIGHT) await sleep(50)
  }
  checks.check(`${IN_FLIGHT} submissions are in flight, waiting in the database, when SIGTERM is sent`, waiting === IN_FLIGHT, `${waiting} waiting`)

  const termAt = performance.now()
  service.signal('SIGTERM')
  await sleep(HOLD_MS)
  await locker.query('rollback')
  const exit = await Promise.race([service.exited, sleep(GRACE_MS + 5000).then(() => undefined)])
  const answers = await Promise.all(inFlight)
  await Promise.race([sse.finished, sleep(2000)])

  const shutdownMs = exit === undefined ? Number.POSITIVE_INFINITY : exit.at - termAt
  checks.check('every in-flight request completed with a proper answer (201 with the application), no reset',
    answers.every((a) => a.status === 201 && (JSON.parse(a.body) as { id?: string }).id !== undefined), answers.map((a) => ({ status: a.status, error: a.error, body: a.body.slice(0, 200) })))
  const lastAnswer = Math.max(...answers.map((a) => a.answeredAt))
  checks.check(`the in-flight requests were answered after the locks were released (${(lastAnswer - termAt).toFixed(0)} ms after SIGTERM), while the process was shutting down`,
    lastAnswer - termAt >= HOLD_MS)
  const close = sse.messages.find((m) => m.event === 'close')
  checks.check('the live stream received `event: close` after the SIGTERM', close !== undefined && close.at >= termAt, sse.messages.map((m) => m.event))
  checks.check('then the stream ended cleanly (no reset)', sse.endedAt !== undefined && sse.error === undefined && (close === undefined || sse.endedAt >= close.at), { endedAt: sse.endedAt, error: sse.error })
  checks.check(`the process exited with code 0 within the grace period (${Number.isFinite(shutdownMs) ? `${shutdownMs.toFixed(0)} ms` : 'not at all'} < ${GRACE_MS} ms)`,
    exit !== undefined && exit.code === 0 && exit.signal === null && shutdownMs < GRACE_MS, exit)
  if (exit !== undefined) checks.check('it exited only after answering them', exit.at >= lastAnswer, { exitAfterSigtermMs: shutdownMs, lastAnswerAfterSigtermMs: lastAnswer - termAt })

  const written = await db.query(`
    select h.id holder, a.reference_no, p.code, (select count(*) from timeline_events e where e.application_id = a.id and e.type = 'SUBMITTED')::int submitted
    from holders h left join applications a on a.holder_id = h.id left join payments p on p.application_id = a.id
    where h.id = any($1::uuid[]) and (a.id is null or p.id is null or (select count(*) from timeline_events e where e.application_id = a.id and e.type = 'SUBMITTED') <> 1)`,
  [burst.map((h) => h.id)])
  checks.none('the applications answered during the shutdown are fully written (application, payment, SUBMITTED event)', written)
  log(`SIGTERM → in-flight answers after ${(lastAnswer - termAt).toFixed(0)} ms (locks held ${HOLD_MS} ms), close event after ${close === undefined ? '-' : (close.at - termAt).toFixed(0)} ms, exit after ${Number.isFinite(shutdownMs) ? shutdownMs.toFixed(0) : '-'} ms (code ${exit?.code})`)
  const errorLines = service.errorLines()
  checks.check('the service logged no error while shutting down', errorLines.length === 0, errorLines.slice(0, 3).map((l) => l.slice(0, 400)))
  return []
}
