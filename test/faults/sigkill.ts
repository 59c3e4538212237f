// Fault b: one of two replicas is killed with SIGKILL mid-load, with transactions of its own provably half-way
// through; nothing it had not committed may remain, and the survivor carries on.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { createStation, registerHolders } from '../harness/api.js'
import { log, section, sleep } from '../harness/checks.js'
import { applicationBody, deliver, signedNotification, submit, type Notification } from '../harness/flows.js'
import { HttpClient, summarise, type Answer } from '../harness/http.js'
import { startServices, type Service } from '../harness/services.js'
import { startLoad, type LoadHolder } from './load.js'
import type { FaultContext } from './outage.js'

interface Backend { pid: number; state: string | null; wait_event_type: string | null; query: string }

export async function killReplica ({ checks, cleanup, db, env, creds, rng, tally }: FaultContext): Promise<Service[]> {
  section('b. SIGKILL: one of two replicas is killed mid-load, with transactions half-way through')
  const [victim, survivor] = await startServices([{ name: 'kill-victim', env }, { name: 'kill-survivor', env }], cleanup) as [Service, Service]
  log(`replicas: ${victim.name} pid ${victim.pid}, ${survivor.name} pid ${survivor.pid}`)
  const http = new HttpClient()
  const bureau = creds.token({ role: 'bureau_staff' })
  const station = await createStation(http, survivor, bureau, 200)
  const staffTokens = new Map([[station.id, creds.token({ role: 'station_staff', stationId: station.id })]])
  const seeded = await registerHolders(http, [victim, survivor], bureau, 101, 22, 4)
  const withToken = (h: (typeof seeded)[number]): LoadHolder => ({ ...h, token: creds.token({ role: 'citizen', identity: h.identity }), app: null })
  const loadHolders = seeded.slice(0, 16).map(withToken)
  const submitters = seeded.slice(16, 19).map(withToken) // their submissions die with the victim
  const payers = seeded.slice(19, 22).map(withToken) // their payment notifications die with the victim

  // The payers' applications exist beforehand; their notifications will be in flight on the victim.
  const notifications: Notification[] = []
  for (const h of payers) {
    const answer = await submit(http, survivor, h.token, applicationBody(station.id))
    if (!checks.check(`payer ${h.seq} applies before the kill`, answer.status === 201, answer.body)) return [victim, survivor]
    h.app = { id: answer.body.id, code: answer.body.payment.code, expiresAt: Date.parse(answer.body.payment.expiresAt), stage: 'AWAITING_PAYMENT', pickupStationId: station.id }
    notifications.push(signedNotification(creds, answer.body.payment.code as string, new Date()))
  }

  let alive: Service[] = [victim, survivor]
  let holdPayments = false
  const load = startLoad({
    http, tally, creds, rng, holders: loadHolders, clients: 4, stationIds: [station.id], bureau, staffTokens,
    targets: () => alive, holdPayments: () => holdPayments, pauseMs: [20, 80]
  })
  await sleep(2500)

  // Hold two locks so the victim's transactions stop half-way: the submissions after inserting the application, its
  // payment and its SUBMITTED event (at the card's 挂失 update), the notifications after marking the payment PAID,
  // the application PAID and the PAYMENT_RECEIVED event (at storing the delivery).
  holdPayments = true
  await sleep(400) // the load's deliveries already under way finish first, so only the victim's block below
  const locker = new pg.Client({ connectionString: db.url, application_name: 'yufu-script-locker' })
  await locker.connect()
  cleanup.add('release the locker', () => locker.end().catch(() => undefined))
  await locker.query('begin')
  await locker.query(`select id from cards where holder_id = any($1::uuid[]) and status <> 'DEACTIVATED' for no key update`, [submitters.map((h) => h.id)])
  await locker.query('lock table payment_notifications in exclusive mode')
  const key = `k-${randomUUID()}`
  const submissions = submitters.map((h, i) => submit(http, victim, h.token, applicationBody(station.id, 'LOST'), i === 0 ? key : undefined))
  const deliveries = notifications.map((n) => deliver(http, tally, [victim], n))

  const waiting = async () => db.query<Backend>(`
    select pid, state, wait_event_type, query from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and application_name = 'yufu-card-service' and wait_event_type = 'Lock'`)
  let blocked: Backend[] = []
  const blockDeadline = performance.now() + 8000
  do {
    blocked = await waiting()
    const cards = blocked.filter((b) => b.query.startsWith('update "cards"')).length
    const stored = blocked.filter((b) => b.query.startsWith('insert into "payment_notifications"')).length
    if (cards >= submitters.length && stored >= payers.length) break
    await sleep(50)
  } while (performance.now() < blockDeadline)
  const halfway = { submissions: blocked.filter((b) => b.query.startsWith('update "cards"')).length, notifications: blocked.filter((b) => b.query.startsWith('insert into "payment_notifications"')).length }
  checks.check(`the victim's transactions are half-way when it is killed (${halfway.submissions} submissions, ${halfway.notifications} notifications waiting on the held locks)`,
    halfway.submissions >= submitters.length && halfway.notifications >= payers.length, halfway)

  const killedAt = performance.now()
  victim.signal('SIGKILL')
  const exit = await victim.exited
  alive = [survivor]
  checks.check('the victim died of SIGKILL', exit.signal === 'SIGKILL', exit)
  await locker.query('rollback')
  holdPayments = false

  // The orphaned transactions go on once the locks are free, then find their client gone and roll back.
  let leftovers: Backend[] = []
  const orphanDeadline = performance.now() + 10_000
  do {
    leftovers = await db.query<Backend>(`
      select pid, state, wait_event_type, query from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and application_name like 'yufu-card-service%'
        and (state like 'idle in transaction%' or wait_event_type = 'Lock')`)
    if (leftovers.length > 0) await sleep(100)
  } while (leftovers.length > 0 && performance.now() < orphanDeadline)
  checks.none('no session is left idle in a transaction or waiting on a lock after the kill', leftovers)

  const killedSubmissions = await Promise.all(submissions)
  const killedDeliveries = (await Promise.all(deliveries)).flat()
  checks.check('the requests in flight on the victim got no answer (the process died under them)',
    [...killedSubmissions, ...killedDeliveries].every((a) => a.status === 0), summarise([...killedSubmissions, ...killedDeliveries].filter((a) => a.status !== 0)))

  const ghostApplications = await db.query(`select a.reference_no, a.holder_id from applications a where a.holder_id = any($1::uuid[])`, [submitters.map((h) => h.id)])
  checks.none('nothing of the killed submissions was committed: no application, payment or event for their holders', ghostApplications)
  const ghostPayments = await db.query(`
    select p.code, p.status, (select count(*) from timeline_events e where e.application_id = p.application_id and e.type = 'PAYMENT_RECEIVED')::int events,
           (select count(*) from payment_notifications n where n.payment_code = p.code)::int deliveries
    from payments p where p.code = any($1::text[])
      and (p.status <> 'PENDING' or exists (select 1 from timeline_events e where e.application_id = p.application_id and e.type = 'PAYMENT_RECEIVED')
           or exists (select 1 from payment_notifications n where n.payment_code = p.code))`, [notifications.map((n) => n.body.paymentCode)])
  checks.none('nothing of the killed notifications was committed: their payments are still PENDING, with no event and no stored delivery', ghostPayments)

  // The platform sends again, now to the survivor; the holders retry.
  const retried = (await Promise.all(notifications.map((n) => deliver(http, tally, [survivor], n)))).flat()
  checks.check('the platform\'s redelivery to the survivor is RECORDED (the killed delivery left nothing behind)',
    retried.every((a) => a.status === 200 && a.body?.outcome === 'RECORDED'), retried.map((a) => a.body))
  const sameKey = await submit(http, survivor, submitters[0]!.token, applicationBody(station.id, 'LOST'), key)
  checks.check('a retry with the killed request\'s Idempotency-Key creates nothing: 409 IDEMPOTENCY_KEY_IN_FLIGHT until the key\'s lease ends',
    sameKey.status === 409 && sameKey.body?.code === 'IDEMPOTENCY_KEY_IN_FLIGHT', { status: sameKey.status, code: sameKey.body?.code, retryAfter: sameKey.headers.get('retry-after') })
  const resubmitted = await Promise.all(submitters.map((h) => submit(http, survivor, h.token, applicationBody(station.id, 'LOST'), `k-${randomUUID()}`)))
  checks.check('the holders of the killed submissions can apply on the survivor (no half-written application in progress)',
    resubmitted.every((a) => a.status === 201), summarise(resubmitted.filter((a) => a.status !== 201)))

  await sleep(3000)
  await load.stop()
  const afterKill = http.answers.filter((a) => a.startedAt >= killedAt && a.service === survivor.name)
  const broken = http.answers.filter((a) => (a.status >= 500 || a.status === 0) && !(a.service === victim.name && a.startedAt + a.ms >= killedAt - 50))
  checks.check(`no 5xx and no transport error except for requests in flight on the victim when it died (${http.answers.length} requests)`, broken.length === 0, summarise(broken))
  checks.check(`the survivor kept serving after the kill (${afterKill.length} requests, all answered)`, afterKill.length > 0 && afterKill.every((a) => a.status > 0 && a.status < 500), summarise(afterKill.filter((a) => a.status === 0 || a.status >= 500)))
  const lost = http.answers.filter((a: Answer) => a.service === victim.name && a.status === 0)
  log(`${http.answers.length} requests, ${load.steps()} client steps; ${lost.length} in flight on the victim at the kill got no answer; ${afterKill.length} served by the survivor after it`)
  const errorLines = survivor.errorLines()
  checks.check('the survivor logged no error', errorLines.length === 0, errorLines.slice(0, 3).map((l) => l.slice(0, 400)))
  return [survivor]
}
