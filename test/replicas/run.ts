// `npm run test:replicas`: three service processes on one database, driven by concurrent clients across an injected
// Asia/Shanghai midnight, then the invariants checked straight in the database.
//
// Every replica runs with CLOCK_START ≈ 30 s before 2027-01-01 00:00 Asia/Shanghai (a day and a payment-code year
// boundary); startup and seeding take ~10 s, so the load starts ~20 s before midnight and runs until 15 s after it.
// The replicas' clocks start when each process reaches main(), so they disagree by a few hundred ms: the script
// measures each clock (a station's createdAt against ours) and spaces the steps on any one application further apart
// than that skew, and keeps in-time payments away from the instants around midnight where the replicas disagree on
// the date. Without that, a timeline written by two replicas could be out of order only because the test's clocks
// are; with it, an ordering violation is the service's.
import { randomUUID } from 'node:crypto'
import { paymentDeadline } from '../../src/domain/calendar.js'
import { readServiceClock, registerHolders, type SeededHolder } from '../harness/api.js'
import { log, runScript, section, sleep, type Checks } from '../harness/checks.js'
import { createScriptDatabase } from '../harness/database.js'
import {
  applicationBody, deliver, moveStage, newTally, random, signedNotification, submit, type Random, type Tally
} from '../harness/flows.js'
import { HttpClient, routeOf, summarise, type Answer } from '../harness/http.js'
import { credentials, offsetClock, type Credentials } from '../harness/identity.js'
import { checkDatabaseInvariants, checkNoDeadlocks, checkNotificationsStored } from '../harness/invariants.js'
import { baseServiceEnv, startServices, type Service } from '../harness/services.js'

const MIDNIGHT = Date.parse(process.env.REPLICAS_MIDNIGHT ?? '2026-12-31T16:00:00.000Z')
const LEAD_MS = 30_000
const AFTER_MS = 15_000
/** The load must start at least this long before midnight, or the pre-midnight scenarios cannot run. */
const MIN_PRE_MIDNIGHT_MS = 8_000
const HOLDERS = 60
const REPLICAS = 3
const SEED = Number(process.env.REPLICAS_SEED ?? Math.floor(Math.random() * 2 ** 31))

type Persona = 'payer' | 'canceller' | 'expirer' | 'latePayer' | 'lateAfterResubmit' | 'lastSecond'

function personaOf (index: number): Persona {
  if (index < 22) return 'payer'
  if (index < 32) return 'canceller'
  if (index < 42) return 'expirer'
  if (index < 48) return 'latePayer'
  if (index < 52) return 'lateAfterResubmit'
  return 'lastSecond'
}

interface App {
  id: string
  code: string
  createdAt: number
  expiresAt: number
  status: string
  stage: string
  pickupStationId: string
}

interface Holder extends SeededHolder {
  index: number
  persona: Persona
  token: string
  app?: App
  /** The unpaid application submitted before midnight by the midnight personas. */
  preMidnight?: App
  /** The midnight personas' one-off step after midnight is done; they then behave as payers. */
  midnightDone: boolean
  /** When (every replica's clock) the one-off step after midnight happens. */
  afterMidnightAt: number
}

/** What went against expectations, per kind, with a count of how many times each kind was exercised. */
class Expectations {
  readonly ran = new Map<string, number>()
  readonly violations = new Map<string, unknown[]>()
  count (kind: string): void { this.ran.set(kind, (this.ran.get(kind) ?? 0) + 1) }
  fail (kind: string, detail: unknown): void {
    const list = this.violations.get(kind) ?? []
    list.push(detail)
    this.violations.set(kind, list)
  }

  report (checks: Checks, kind: string, description: string): void {
    const ran = this.ran.get(kind) ?? 0
    const violations = this.violations.get(kind) ?? []
    checks.check(`${description} (${ran} times)`, ran > 0 && violations.length === 0,
      ran === 0 ? 'never exercised' : `${violations.length} violation(s), e.g. ${JSON.stringify(violations.slice(0, 3)).slice(0, 1500)}`)
  }
}

function appOf (view: Record<string, unknown>): App {
  const payment = view.payment as { code: string; expiresAt: string } | undefined
  return {
    id: view.id as string,
    code: payment?.code ?? '',
    createdAt: Date.parse(view.createdAt as string),
    expiresAt: payment === undefined ? Number.POSITIVE_INFINITY : Date.parse(payment.expiresAt),
    status: view.status as string,
    stage: view.stage as string,
    pickupStationId: (view.pickupStation as { id: string }).id
  }
}

const brief = (a: Answer) => ({ service: a.service, status: a.status === 0 ? a.error : a.status, code: a.body?.code, outcome: a.body?.outcome, anomaly: a.body?.anomaly, stage: a.body?.stage })

await runScript('replicas', 170_000, async (checks, cleanup) => {
  section(`setup (seed ${SEED}; midnight ${new Date(MIDNIGHT).toISOString()} = 00:00 Asia/Shanghai)`)
  const rng: Random = random(SEED)
  const db = await createScriptDatabase('yufu_replicas', cleanup)
  log(`database ${db.name}`)
  const env = baseServiceEnv(db.url)

  // One at a time, so each start has the machine to itself and the clocks end up close; each CLOCK_START is
  // advanced by the time since the first spawn, so all three would read the same if startup took equally long.
  const t0 = Date.now()
  const clockStart = MIDNIGHT - LEAD_MS
  const services: Service[] = []
  const startupStarted = performance.now()
  for (let i = 0; i < REPLICAS; i++) {
    const [service] = await startServices([{ name: `replica-${i + 1}`, env: { ...env, CLOCK_START: new Date(clockStart + (Date.now() - t0)).toISOString() } }], cleanup)
    services.push(service!)
  }
  log(`3 replicas ready in ${((performance.now() - startupStarted) / 1000).toFixed(1)} s: ${services.map((s) => `${s.name} pid ${s.pid} :${s.port}`).join(', ')}`)

  const http = new HttpClient()
  const nominalOffset = clockStart - t0
  let referenceOffset = nominalOffset
  const creds: Credentials = credentials(env, offsetClock(() => referenceOffset))
  const bureau = creds.token({ role: 'bureau_staff' })

  // The replicas' clocks, read through the stations the load needs anyway.
  const offsets: number[] = []
  const stationIds: string[] = []
  for (const [i, service] of services.entries()) {
    const { reading, stationIds: ids } = await readServiceClock(http, service, bureau, i * 10, 2)
    offsets.push(reading.offsetMs)
    stationIds.push(...ids)
    log(`${service.name}: clock ${(reading.offsetMs - nominalOffset).toFixed(0)} ms from CLOCK_START's nominal (±${reading.uncertaintyMs.toFixed(0)} ms)`)
  }
  referenceOffset = offsets[0]!
  const minOffset = Math.min(...offsets)
  const maxOffset = Math.max(...offsets)
  const skew = maxOffset - minOffset
  const gap = Math.max(400, Math.ceil(skew) + 250)
  const serviceNow = (i: number) => Date.now() + offsets[i]!
  const earliestNow = () => Date.now() + minOffset // the replica furthest behind
  const latestNow = () => Date.now() + maxOffset // the replica furthest ahead
  log(`replica clock skew ${skew.toFixed(0)} ms; steps on one application are spaced at least ${gap} ms apart`)
  checks.check('the replicas\' clocks agree within 2.5 s (else the midnight scenarios cannot be timed)', skew < 2500, `${skew} ms`)

  const staffTokens = new Map(stationIds.map((id) => [id, creds.token({ role: 'station_staff', stationId: id })]))
  const seeded = await registerHolders(http, services, bureau, 1, HOLDERS)
  const holders: Holder[] = seeded.map((h, index) => ({
    ...h,
    index,
    persona: personaOf(index),
    midnightDone: false,
    // Late in-time payments land while the sweepers are closing the expired applications (the most racy moment).
    afterMidnightAt: MIDNIGHT + (['latePayer', 'lastSecond'].includes(personaOf(index)) ? rng.int(50, 700) : 1000),
    token: creds.token({ role: 'citizen', identity: h.identity })
  }))
  log(`seeded ${stationIds.length} stations and ${holders.length} holders`)

  const loadStart = earliestNow()
  const preMidnight = MIDNIGHT - latestNow()
  log(`load starts ${(preMidnight / 1000).toFixed(1)} s before midnight (replica clocks read ${new Date(loadStart).toISOString()} at the earliest)`)
  if (!checks.check(`the load starts at least ${MIN_PRE_MIDNIGHT_MS / 1000} s before midnight`, preMidnight >= MIN_PRE_MIDNIGHT_MS, `only ${preMidnight} ms left: startup took too long`)) return

  // ---------------------------------------------------------------------------------------------------------------
  section('load across midnight')
  const tally: Tally = newTally()
  const exp = new Expectations()
  const endAt = MIDNIGHT + AFTER_MS
  const stopping = () => earliestNow() >= endAt
  const hardStop = performance.now() + 90_000
  const waitUntil = async (ready: () => boolean) => {
    while (!ready() && performance.now() < hardStop) await sleep(25)
  }
  /**
   * In-time payments are not sent while any could be processed when the replicas disagree about whether midnight
   * has passed: from 3 s before it (a slow answer takes a second or two under this load) until all are past it.
   */
  const paymentQuiet = () => latestNow() >= MIDNIGHT - 3000 && earliestNow() < MIDNIGHT + 300
  const replicaIndex = (service: Service) => services.indexOf(service)

  /** No reader ever sees an unpaid application past its deadline (by that replica's clock when asked) in progress. */
  const checkView = (answer: Answer, view: Record<string, unknown> | undefined, inTimePaid: Set<string>) => {
    if (view === undefined || typeof view !== 'object') return
    const payment = view.payment as { expiresAt: string; status: string } | undefined
    if (payment === undefined) return
    const askedAt = answer.startedAt - performance.now() + Date.now() + offsets[services.findIndex((s) => s.name === answer.service)]!
    if (Date.parse(payment.expiresAt) <= askedAt - 50 && !inTimePaid.has(view.id as string)) {
      exp.count('expiredReads')
      if (view.status !== 'CLOSED' || view.stage === 'AWAITING_PAYMENT' || payment.status === 'PENDING') {
        exp.fail('expiredReads', { service: answer.service, route: routeOf(answer), id: view.id, status: view.status, stage: view.stage, payment: payment.status, expiresAt: payment.expiresAt })
      }
    }
  }
  /** Applications for which a payment with paidAt before the deadline was sent: they may legitimately read as paid. */
  const inTimePaid = new Set<string>()

  const submitRace = async (h: Holder, targets = rng.sample(services, rng.int(2, 3))): Promise<App | undefined> => {
    const body = applicationBody(rng.pick(stationIds), rng.chance(0.5) ? 'LOST' : 'DAMAGED')
    const mode = rng.pick(['sameKey', 'sameKey', 'distinctKeys', 'noKey'] as const)
    const key = `k-${randomUUID()}`
    const answers = await Promise.all(targets.map((s, i) => submit(http, s, h.token, body, mode === 'sameKey' ? key : mode === 'distinctKeys' ? `${key}-${i}` : undefined)))
    const created = answers.filter((a) => a.status === 201)
    const ids = new Set(created.map((a) => a.body.id as string))
    const allowed409 = mode === 'sameKey' ? 'IDEMPOTENCY_KEY_IN_FLIGHT' : 'APPLICATION_IN_PROGRESS'
    exp.count('submitRace')
    const [id] = [...ids]
    const unexpected = answers.filter((a) => a.status !== 201 && !(a.status === 409 && a.body?.code === allowed409))
    const wrongConflict = answers.filter((a) => a.status === 409 && a.body?.code === 'APPLICATION_IN_PROGRESS' && a.body?.applicationId !== id)
    if (ids.size !== 1 || unexpected.length > 0 || wrongConflict.length > 0) {
      exp.fail('submitRace', { holder: h.seq, mode, answers: answers.map(brief) })
      return undefined
    }
    const view = created[0]!.body as Record<string, unknown>
    const app = appOf(view)
    exp.count('deadline')
    if (app.expiresAt !== paymentDeadline(new Date(app.createdAt)).getTime()) exp.fail('deadline', { id: app.id, createdAt: view.createdAt, expiresAt: (view.payment as { expiresAt: string }).expiresAt })
    if (mode === 'sameKey') {
      // A retry after the fact, on another replica, replays the first answer.
      const replay = await submit(http, rng.pick(services), h.token, body, key)
      exp.count('replay')
      if (replay.status !== 201 || replay.headers.get('idempotent-replayed') !== 'true' || replay.body?.id !== app.id) exp.fail('replay', { holder: h.seq, replay: brief(replay), id: replay.body?.id, expected: app.id })
    }
    return app
  }

  /** The same signed notification to all three replicas at once, two or three times. */
  const payRounds = async (app: App, paidAt: number, expected: 'RECORDED' | 'PAID_AFTER_DEADLINE' | 'APPLICATION_CLOSED', kind: string) => {
    if (paidAt < app.expiresAt) inTimePaid.add(app.id)
    const notification = signedNotification(creds, app.code, new Date(paidAt))
    const answers: Answer[] = []
    const rounds = rng.int(2, 3)
    for (let round = 0; round < rounds; round++) {
      answers.push(...await deliver(http, tally, services, notification))
      if (round < rounds - 1) await sleep(rng.int(10, 120))
    }
    exp.count(kind)
    // The first delivery to get through says what happened; every other copy is a DUPLICATE telling the same.
    const first = (outcome: string) => answers.filter((a) => a.status === 200 && a.body?.outcome === outcome).length === 1 &&
      answers.every((a) => a.status === 200 && [outcome, 'DUPLICATE'].includes(a.body?.outcome as string))
    const ok = expected === 'RECORDED'
      ? first('RECORDED') && answers.every((a) => a.body?.anomaly === null && a.body?.refundRequired === false)
      : first('ANOMALY') && answers.every((a) => a.body?.anomaly === expected && a.body?.refundRequired === true)
    if (!ok) exp.fail(kind, { app: app.id, expected, paidAt: new Date(paidAt).toISOString(), expiresAt: new Date(app.expiresAt).toISOString(), answers: answers.map(brief) })
    return ok
  }

  const payInTime = async (h: Holder) => {
    const app = h.app!
    await waitUntil(() => !paymentQuiet())
    const paidAt = Date.now() + referenceOffset
    const inTime = paidAt < app.expiresAt
    await payRounds(app, paidAt, inTime ? 'RECORDED' : 'PAID_AFTER_DEADLINE', inTime ? 'payment' : 'paymentAfterDeadline')
    if (inTime) {
      app.stage = 'PAID'
    } else {
      app.status = 'CLOSED'
      app.stage = 'EXPIRED_UNPAID'
    }
  }

  const stageRace = async (h: Holder, from: string, to: string) => {
    const app = h.app!
    const token = to === 'COLLECTED' ? staffTokens.get(app.pickupStationId)! : bureau
    const read = await http.call(rng.pick(services), 'GET', `/v1/applications/${app.id}`, { token })
    exp.count('stageRead')
    if (read.status !== 200 || read.body?.stage !== from) {
      exp.fail('stageRead', { app: app.id, expected: from, read: brief(read) })
      return
    }
    const etag = read.headers.get('etag') ?? undefined
    if (rng.chance(0.05)) {
      const missing = await moveStage(http, rng.pick(services), token, app.id, to, undefined)
      exp.count('ifMatchRequired')
      if (missing.status !== 428) exp.fail('ifMatchRequired', brief(missing))
    }
    const [a, b] = rng.sample(services, 2) as [Service, Service]
    const race = rng.chance(0.8)
    const answers = race
      ? await Promise.all([moveStage(http, a, token, app.id, to, etag), moveStage(http, b, token, app.id, to, etag)])
      : [await moveStage(http, a, token, app.id, to, etag)]
    const won = answers.filter((x) => x.status === 200)
    const lost = answers.filter((x) => x.status === 412 && x.body?.code === 'ETAG_MISMATCH')
    exp.count(race ? 'stageRace' : 'stageMove')
    if (won.length !== 1 || won.length + lost.length !== answers.length || won[0]!.body?.stage !== to) {
      exp.fail(race ? 'stageRace' : 'stageMove', { app: app.id, to, answers: answers.map(brief) })
      return
    }
    app.stage = to
    if (to === 'COLLECTED') app.status = 'CLOSED'
  }

  const cancel = async (h: Holder) => {
    const app = h.app!
    const path = `/v1/applications/${app.id}/cancel`
    if (latestNow() >= app.expiresAt - 1500) {
      // Too close to the deadline to tell which would win: wait until every replica has passed it, then it is too late.
      await waitUntil(() => earliestNow() >= app.expiresAt + 300)
      const answer = await http.call(rng.pick(services), 'POST', path, { token: h.token })
      exp.count('cancelExpired')
      if (answer.status !== 409 || answer.body?.code !== 'CANNOT_CANCEL' || answer.body?.stage !== 'EXPIRED_UNPAID') exp.fail('cancelExpired', brief(answer))
      app.status = 'CLOSED'
      app.stage = 'EXPIRED_UNPAID'
      return
    }
    const variant = paymentQuiet() ? rng.pick(['single', 'race'] as const) : rng.pick(['single', 'race', 'versusPayment'] as const)
    if (variant === 'single') {
      const answer = await http.call(rng.pick(services), 'POST', path, { token: h.token })
      exp.count('cancel')
      if (answer.status !== 200 || answer.body?.stage !== 'CANCELLED') exp.fail('cancel', { app: app.id, answer: brief(answer) })
      app.status = 'CLOSED'
      app.stage = 'CANCELLED'
      return
    }
    if (variant === 'race') {
      const [a, b] = rng.sample(services, 2) as [Service, Service]
      const answers = await Promise.all([http.call(a, 'POST', path, { token: h.token }), http.call(b, 'POST', path, { token: h.token })])
      exp.count('cancelRace')
      const won = answers.filter((x) => x.status === 200 && x.body?.stage === 'CANCELLED')
      const refused = answers.filter((x) => x.status === 409 && x.body?.code === 'CANNOT_CANCEL' && x.body?.stage === 'CANCELLED')
      if (won.length !== 1 || refused.length !== 1) exp.fail('cancelRace', { app: app.id, answers: answers.map(brief) })
      app.status = 'CLOSED'
      app.stage = 'CANCELLED'
      return
    }
    // The holder cancels on one replica while the platform's notification lands on the other two: exactly one wins.
    const [a, ...others] = rng.sample(services, 3) as [Service, Service, Service]
    const paidAt = Date.now() + referenceOffset
    inTimePaid.add(app.id)
    const notification = signedNotification(creds, app.code, new Date(paidAt))
    const [cancelAnswer, notificationAnswers] = await Promise.all([http.call(a, 'POST', path, { token: h.token }), deliver(http, tally, others, notification)])
    exp.count('cancelVersusPayment')
    const cancelled = cancelAnswer.status === 200 && cancelAnswer.body?.stage === 'CANCELLED'
    const recorded = notificationAnswers.filter((x) => x.status === 200 && x.body?.outcome === 'RECORDED').length
    const ok = cancelled
      ? recorded === 0 && notificationAnswers.every((x) => x.status === 200 && x.body?.anomaly === 'APPLICATION_CLOSED')
      : cancelAnswer.status === 409 && cancelAnswer.body?.code === 'CANNOT_CANCEL' && recorded === 1 &&
        notificationAnswers.every((x) => x.status === 200 && ['RECORDED', 'DUPLICATE'].includes(x.body?.outcome as string))
    if (!ok) exp.fail('cancelVersusPayment', { app: app.id, cancel: brief(cancelAnswer), notifications: notificationAnswers.map(brief) })
    exp.count(cancelled ? 'cancelWonOverPayment' : 'paymentWonOverCancel')
    app.status = cancelled ? 'CLOSED' : 'IN_PROGRESS'
    app.stage = cancelled ? 'CANCELLED' : 'PAID'
  }

  const idleRead = async (h: Holder) => {
    const service = rng.pick(services)
    const what = rng.int(0, 3)
    if (what === 0 && h.app !== undefined) {
      const answer = await http.call(service, 'GET', `/v1/applications/${h.app.id}`, { token: h.token })
      checkView(answer, answer.body, inTimePaid)
    } else if (what === 1) {
      const answer = await http.call(service, 'GET', '/v1/me/applications/current', { token: h.token })
      if (answer.status === 200) checkView(answer, answer.body, inTimePaid)
    } else if (what === 2 && h.app !== undefined) {
      const answer = await http.call(service, 'GET', `/v1/applications/${h.app.id}/timeline`, { token: h.token, headers: { 'accept-language': rng.pick(['zh-CN', 'en']) } })
      exp.count('timelineRead')
      const types = (answer.body?.events as Array<{ type: string }> | undefined)?.map((e) => e.type) ?? []
      if (answer.status !== 200 || types[0] !== 'SUBMITTED') exp.fail('timelineRead', { app: h.app.id, answer: brief(answer), types })
    } else {
      const answer = await http.call(service, 'POST', '/v1/progress-queries', { token: h.token, body: h.identity })
      for (const view of (answer.body?.applications as Array<Record<string, unknown>> | undefined) ?? []) checkView(answer, view, inTimePaid)
    }
  }

  /** What a payer does next with the application it has (or submits a new one). */
  const payerStep = async (h: Holder) => {
    const app = h.app
    if (app === undefined || app.status === 'CLOSED') {
      // A holder whose last application expired may apply again only once every replica has seen the deadline pass.
      if (app !== undefined && app.stage === 'EXPIRED_UNPAID') await waitUntil(() => earliestNow() >= app.expiresAt + 300)
      h.app = await submitRace(h) ?? h.app
      return
    }
    switch (app.stage) {
      case 'AWAITING_PAYMENT': return h.persona === 'canceller' ? cancel(h) : payInTime(h)
      case 'PAID': return stageRace(h, 'PAID', 'IN_PRODUCTION')
      case 'IN_PRODUCTION': return stageRace(h, 'IN_PRODUCTION', 'READY_FOR_PICKUP')
      case 'READY_FOR_PICKUP': return stageRace(h, 'READY_FOR_PICKUP', 'COLLECTED')
      default: return idleRead(h)
    }
  }

  /** The midnight personas: an unpaid application before midnight, then their one-off step after it. */
  const midnightStep = async (h: Holder) => {
    if (h.preMidnight === undefined) {
      const target = rng.pick(services)
      if (h.persona === 'lastSecond') {
        // Sent 2 to 3.5 s before midnight by the receiving replica's clock: the deadline is that midnight.
        const i = replicaIndex(target)
        const at = MIDNIGHT - 3500 + rng.int(0, 1500)
        await waitUntil(() => serviceNow(i) >= at)
      }
      const answer = await submit(http, target, h.token, applicationBody(rng.pick(stationIds), 'LOST'))
      exp.count('preMidnightSubmit')
      const createdAt = Date.parse(answer.body?.createdAt as string)
      if (h.persona === 'lastSecond' && answer.status === 201 && createdAt >= MIDNIGHT) {
        // So slow an answer that it was processed after midnight: then the deadline is the next one; a payer now.
        exp.count('lastSecondMissed')
        if (Date.parse(answer.body?.payment?.expiresAt as string) !== paymentDeadline(new Date(createdAt)).getTime()) exp.fail('preMidnightSubmit', { holder: h.seq, answer: brief(answer), createdAt: answer.body?.createdAt })
        h.app = appOf(answer.body as Record<string, unknown>)
        h.midnightDone = true
        return
      }
      if (answer.status !== 201 || Date.parse(answer.body?.payment?.expiresAt as string) !== MIDNIGHT) {
        exp.fail('preMidnightSubmit', { holder: h.seq, persona: h.persona, answer: brief(answer), expiresAt: answer.body?.payment?.expiresAt })
        h.midnightDone = true
        return
      }
      h.preMidnight = h.app = appOf(answer.body as Record<string, unknown>)
      return
    }
    if (earliestNow() < h.afterMidnightAt) {
      if (h.afterMidnightAt - earliestNow() > gap + 600) return idleRead(h)
      await waitUntil(() => earliestNow() >= h.afterMidnightAt)
    }
    const old = h.preMidnight
    switch (h.persona) {
      case 'latePayer':
      case 'lastSecond': {
        if (h.persona === 'lastSecond' && h.seq % 2 === 1) {
          h.midnightDone = true
          old.status = 'CLOSED'
          old.stage = 'EXPIRED_UNPAID'
          return
        }
        // Paid before midnight, notified after it: the application reopens as PAID and keeps its expiry.
        const paidAt = Math.max(old.createdAt + 100, MIDNIGHT - (h.persona === 'lastSecond' ? 500 : 2000))
        const ok = await payRounds(old, paidAt, 'RECORDED', 'latePayment')
        h.midnightDone = true
        if (!ok) return
        await sleep(gap)
        const [view, timeline] = await Promise.all([
          http.call(rng.pick(services), 'GET', `/v1/applications/${old.id}`, { token: h.token }),
          http.call(rng.pick(services), 'GET', `/v1/applications/${old.id}/timeline`, { token: h.token })
        ])
        const types = (timeline.body?.events as Array<{ type: string }> | undefined)?.map((e) => e.type).join(',')
        exp.count('reopened')
        if (view.body?.status !== 'IN_PROGRESS' || view.body?.stage !== 'PAID' || view.body?.payment?.status !== 'PAID' || types !== 'SUBMITTED,EXPIRED_UNPAID,PAYMENT_RECEIVED') {
          exp.fail('reopened', { app: old.id, view: brief(view), payment: view.body?.payment?.status, types })
        }
        old.status = 'IN_PROGRESS'
        old.stage = 'PAID'
        return
      }
      case 'lateAfterResubmit': {
        if (h.app === old) {
          old.status = 'CLOSED'
          old.stage = 'EXPIRED_UNPAID'
          await waitUntil(() => earliestNow() >= old.expiresAt + 300)
          h.app = await submitRace(h) ?? h.app
          return
        }
        // The holder applied again after the expiry, so the late payment for the old code is refunded.
        await payRounds(old, Math.max(old.createdAt + 100, MIDNIGHT - 2000), 'APPLICATION_CLOSED', 'latePaymentAfterResubmit')
        h.midnightDone = true
        const view = await http.call(rng.pick(services), 'GET', `/v1/applications/${old.id}`, { token: h.token })
        exp.count('stayedClosed')
        if (view.body?.status !== 'CLOSED' || view.body?.stage !== 'EXPIRED_UNPAID') exp.fail('stayedClosed', { app: old.id, view: brief(view) })
        return
      }
      default: {
        // expirer: the application is closed; some pay too late, some try to cancel, half apply again.
        old.status = 'CLOSED'
        old.stage = 'EXPIRED_UNPAID'
        if (h.seq % 5 === 1) await payRounds(old, MIDNIGHT + 500, 'PAID_AFTER_DEADLINE', 'paymentAfterDeadline')
        if (h.seq % 5 === 2) {
          const answer = await http.call(rng.pick(services), 'POST', `/v1/applications/${old.id}/cancel`, { token: h.token })
          exp.count('cancelExpired')
          if (answer.status !== 409 || answer.body?.code !== 'CANNOT_CANCEL' || answer.body?.stage !== 'EXPIRED_UNPAID') exp.fail('cancelExpired', brief(answer))
        }
        h.midnightDone = true
        if (h.seq % 2 === 1) h.app = undefined
      }
    }
  }

  const holderLoop = async (h: Holder) => {
    await sleep(rng.int(0, 1500))
    while (!stopping() && performance.now() < hardStop) {
      const midnightPersona = h.persona !== 'payer' && h.persona !== 'canceller'
      if (midnightPersona && !h.midnightDone) {
        await midnightStep(h)
      } else if (midnightPersona && h.persona === 'expirer' && h.app === undefined) {
        await idleRead(h) // expirers that do not apply again
      } else {
        await payerStep(h)
        if (rng.chance(0.3)) await idleRead(h)
      }
      await sleep(gap + rng.int(0, 600))
    }
  }

  /**
   * Right after midnight on each replica's own clock, mostly before any sweep: expired applications read as closed.
   * The replica whose clock is furthest ahead reads first, before its own or anyone's sweeper has run.
   */
  let unswept = -1
  let unsweptAt = 0
  const midnightReads = async () => {
    const pending = () => holders.filter((h) => h.preMidnight !== undefined && !inTimePaid.has(h.preMidnight.id))
    void (async () => {
      await waitUntil(() => latestNow() >= MIDNIGHT + 20)
      unsweptAt = latestNow() - MIDNIGHT
      const [row] = await db.query<{ n: number }>(`select count(*)::int n from applications where status = 'IN_PROGRESS' and stage = 'AWAITING_PAYMENT' and expires_at <= $1`, [new Date(MIDNIGHT)])
      unswept = row?.n ?? -1
    })()
    await Promise.all(services.map(async (service, i) => {
      for (const after of [50, 700]) {
        await waitUntil(() => serviceNow(i) >= MIDNIGHT + after)
        await Promise.all(pending().map(async (h) => {
          const [view, current] = await Promise.all([
            http.call(service, 'GET', `/v1/applications/${h.preMidnight!.id}`, { token: h.token }),
            http.call(service, 'GET', '/v1/me/applications/current', { token: h.token })
          ])
          exp.count('midnightRead')
          // The holder may have applied again meanwhile: then the current one is the new application, never the expired one.
          const bad = view.status !== 200 || view.body?.status !== 'CLOSED' || view.body?.stage !== 'EXPIRED_UNPAID' ||
            !((current.status === 404 && current.body?.code === 'NO_APPLICATION_IN_PROGRESS') ||
              (current.status === 200 && current.body?.id !== h.preMidnight!.id && Date.parse(current.body?.createdAt as string) >= MIDNIGHT))
          if (bad && !inTimePaid.has(h.preMidnight!.id)) exp.fail('midnightRead', { service: service.name, app: h.preMidnight!.id, view: brief(view), current: brief(current) })
        }))
      }
    }))
    log(`${unsweptAt} ms after midnight on the leading replica's clock, ${unswept} unpaid application(s) past the deadline were still stored IN_PROGRESS (readers must see them closed)`)
  }

  const loadStarted = performance.now()
  await Promise.all([...holders.map(holderLoop), midnightReads()])
  const loadSeconds = (performance.now() - loadStarted) / 1000
  log(`load ran ${loadSeconds.toFixed(1)} s, ${http.answers.length} requests, until replica clocks read ${new Date(earliestNow()).toISOString()}`)

  // ---------------------------------------------------------------------------------------------------------------
  section('after the load')
  // Every replica agrees on every holder's latest application.
  const latest = holders.flatMap((h) => h.app === undefined ? [] : [h])
  const disagreements: unknown[] = []
  await Promise.all(latest.map(async (h) => {
    const answers = await Promise.all(services.map((s) => http.call(s, 'GET', `/v1/applications/${h.app!.id}`, { token: h.token })))
    const seen = new Set(answers.map((a) => `${a.status} ${a.body?.status} ${a.body?.stage} ${a.headers.get('etag')}`))
    if (seen.size !== 1) disagreements.push({ app: h.app!.id, seen: [...seen] })
    const stage = answers[0]?.body?.stage
    if (stage !== h.app!.stage) disagreements.push({ app: h.app!.id, expected: h.app!.stage, stage })
  }))
  checks.none(`the three replicas answer the same status, stage and ETag for every holder's latest application, as the clients expect (${latest.length})`, disagreements)

  // Sweepers run every second (±20 %) in each replica; give them two more rounds.
  await sleep(2500)
  const cutoff = new Date(earliestNow() - 2500)

  const fivexx = http.answers.filter((a) => a.status >= 500 || a.status === 0)
  checks.check(`no 5xx and no transport error in ${http.answers.length} requests`, fivexx.length === 0, `${fivexx.length}: ${summarise(fivexx)}`)
  checks.check('every replica is still running', services.every((s) => s.alive()), services.map((s) => `${s.name}: ${s.alive() ? 'up' : 'exited'}`))
  const errorLines = services.flatMap((s) => s.errorLines().map((l) => `${s.name}: ${l.slice(0, 400)}`))
  checks.check('no replica logged an error', errorLines.length === 0, errorLines.slice(0, 3))

  exp.report(checks, 'submitRace', 'parallel submissions of one holder on several replicas (same, distinct or no Idempotency-Key) create exactly one application; the others are 409 naming it, or in flight')
  exp.report(checks, 'replay', 'a later retry with the same Idempotency-Key on another replica replays the first answer')
  exp.report(checks, 'deadline', 'every new application\'s payment deadline is the next Asia/Shanghai midnight after its submission')
  exp.report(checks, 'preMidnightSubmit', 'submissions before midnight (some 2–3.5 s before) get that midnight as deadline')
  const lastSecond = holders.filter((h) => h.persona === 'lastSecond').length
  checks.check(`most last-second submissions were processed before midnight (${lastSecond - (exp.ran.get('lastSecondMissed') ?? 0)} of ${lastSecond})`, (exp.ran.get('lastSecondMissed') ?? 0) <= lastSecond / 2)
  exp.report(checks, 'payment', 'the same notification sent to all three replicas at once, several times, is RECORDED exactly once and DUPLICATE otherwise, no refund')
  exp.report(checks, 'paymentAfterDeadline', 'a payment made after the deadline is a PAID_AFTER_DEADLINE anomaly once, every copy saying so (refund)')
  exp.report(checks, 'latePayment', 'a payment made before midnight and delivered after it is RECORDED once')
  exp.report(checks, 'reopened', 'the late-paid application reopens as PAID, its timeline SUBMITTED, EXPIRED_UNPAID, PAYMENT_RECEIVED')
  exp.report(checks, 'latePaymentAfterResubmit', 'a late in-time payment for an expired application whose holder applied again is an APPLICATION_CLOSED anomaly once, every copy saying so (refund)')
  exp.report(checks, 'stayedClosed', 'that expired application stays CLOSED / EXPIRED_UNPAID')
  exp.report(checks, 'midnightRead', 'right after midnight (each replica\'s clock), unpaid applications read CLOSED / EXPIRED_UNPAID and /me/applications/current is 404 on every replica')
  exp.report(checks, 'expiredReads', 'every read of an unpaid application past its deadline (by the answering replica\'s clock) shows it closed')
  exp.report(checks, 'cancelExpired', 'cancelling an expired application is 409 CANNOT_CANCEL naming EXPIRED_UNPAID')
  exp.report(checks, 'cancel', 'cancelling an unpaid application closes it as CANCELLED')
  exp.report(checks, 'cancelRace', 'two replicas cancelling at once: one 200, one 409 CANNOT_CANCEL')
  exp.report(checks, 'cancelVersusPayment', 'a cancellation racing the payment notification: exactly one of them wins, the other is refused or refunded')
  exp.report(checks, 'stageRead', 'bureau and station staff read the stage the clients expect before moving it')
  exp.report(checks, 'stageRace', 'two replicas moving a stage with the same ETag: exactly one 200, the other 412 ETAG_MISMATCH')
  exp.report(checks, 'timelineRead', 'timelines read through the API start with SUBMITTED')
  if ((exp.ran.get('ifMatchRequired') ?? 0) > 0) exp.report(checks, 'ifMatchRequired', 'a stage move without If-Match is 428')
  if ((exp.ran.get('stageMove') ?? 0) > 0) exp.report(checks, 'stageMove', 'a single stage move with the current ETag succeeds')

  section('database invariants')
  await checkNotificationsStored(checks, db, tally.notificationsAnswered, tally.notificationsSent)
  await checkDatabaseInvariants(checks, db, { regionCode: creds.config.paymentRegionCode, expiryCutoff: cutoff, outboxSentWithinMs: 5000 })
  await checkNoDeadlocks(checks, db)

  section('numbers')
  const byRoute: Record<string, Record<string, number>> = {}
  for (const a of http.answers) {
    const route = routeOf(a)
    byRoute[route] ??= {}
    const key = a.status === 0 ? `error:${a.error}` : String(a.status)
    byRoute[route][key] = (byRoute[route][key] ?? 0) + 1
  }
  const percentile = (values: number[], p: number) => values.sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor(values.length * p))]?.toFixed(0)
  for (const [route, counts] of Object.entries(byRoute).sort()) {
    const ms = http.answers.filter((a) => routeOf(a) === route).map((a) => a.ms)
    log(`${route}: ${JSON.stringify(counts)}, p50 ${percentile(ms, 0.5)} ms, p99 ${percentile(ms, 0.99)} ms`)
  }
  const byPhase = (from: number, to: number) => http.answers.filter((a) => {
    const at = a.startedAt - performance.now() + Date.now() + minOffset
    return at >= from && at < to
  }).map((a) => a.ms)
  log(`latency p99 before midnight ${percentile(byPhase(0, MIDNIGHT - 3000), 0.99)} ms, around it (±3 s) ${percentile(byPhase(MIDNIGHT - 3000, MIDNIGHT + 3000), 0.99)} ms, after ${percentile(byPhase(MIDNIGHT + 3000, Number.MAX_SAFE_INTEGER), 0.99)} ms`)
  const durations = http.answers.map((a) => a.ms).sort((x, y) => x - y)
  log(`requests: ${http.answers.length}; latency p50 ${durations[Math.floor(durations.length / 2)]?.toFixed(0)} ms, p99 ${durations[Math.floor(durations.length * 0.99)]?.toFixed(0)} ms, max ${durations.at(-1)?.toFixed(0)} ms`)
  log(`notifications: ${tally.notificationsSent} sent, ${tally.notificationsAnswered} answered`)
  const concurrent = http.answers.filter((a) => a.status === 409 && a.body?.code === 'CONCURRENT_UPDATE')
  if (concurrent.length > 0) log(`409 CONCURRENT_UPDATE (a deadlock or serialization failure in the service): ${JSON.stringify(http.statusCounts(concurrent.map((a) => ({ ...a, status: 0, error: routeOf(a) }))))}`)
  log(`scenarios: ${JSON.stringify(Object.fromEntries(exp.ran))}`)
})
