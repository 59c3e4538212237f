// The database invariants the replica and fault scripts check straight in SQL after their load.
import { shanghaiDate } from '../../src/domain/calendar.js'
import { checkPaymentCode } from '../../src/domain/payment-code.js'
import { sleep, type Checks } from './checks.js'
import type { ScriptDatabase } from './database.js'

export interface InvariantOptions {
  regionCode: string
  /** Unpaid applications whose deadline is at or before this instant must be closed by now (the sweepers ran). */
  expiryCutoff?: Date
  /** How long to wait for the outbox dispatchers to send every queued SMS (0: do not require it). */
  outboxSentWithinMs?: number
}

const CLOSURE_OF_OUTCOME = `case a.outcome when 'EXPIRED_UNPAID' then 'EXPIRED_UNPAID' when 'CANCELLED' then 'CANCELLED'
  when 'COMPLETED' then 'COLLECTED' when 'REJECTED' then 'WARRANTY_REJECTED' end`

/** The event sequence (by id) a self-service LOST/DAMAGED application must have at each stage. */
const PAID_PATH = ['SUBMITTED', 'PAYMENT_RECEIVED', 'IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED']
const STEPS_OF_STAGE: Record<string, number> = { AWAITING_PAYMENT: 1, PAID: 2, IN_PRODUCTION: 3, READY_FOR_PICKUP: 4, COLLECTED: 5 }

export function expectedTimeline (stage: string, reopened: boolean): string[] | undefined {
  if (stage === 'EXPIRED_UNPAID') return ['SUBMITTED', 'EXPIRED_UNPAID']
  if (stage === 'CANCELLED') return ['SUBMITTED', 'CANCELLED']
  const steps = STEPS_OF_STAGE[stage]
  if (steps === undefined) return undefined
  const path = PAID_PATH.slice(0, steps)
  // A payment made in time but notified after the sweep: the expiry stays, the payment follows it.
  return reopened && steps >= 2 ? ['SUBMITTED', 'EXPIRED_UNPAID', ...path.slice(1)] : path
}

export async function checkDatabaseInvariants (checks: Checks, db: ScriptDatabase, options: InvariantOptions): Promise<void> {
  const [totals] = await db.query<{ applications: number; payments: number; events: number; notifications: number; outbox: number }>(`
    select (select count(*) from applications)::int applications, (select count(*) from payments)::int payments,
           (select count(*) from timeline_events)::int events, (select count(*) from payment_notifications)::int notifications,
           (select count(*) from notification_outbox)::int outbox`)
  checks.check('the load wrote applications, payments and timeline events to check', (totals?.applications ?? 0) > 0 && (totals?.events ?? 0) > 0, totals)
  process.stdout.write(`#    database: ${JSON.stringify(totals)}\n`)

  checks.none('at most one IN_PROGRESS application per holder', await db.query(`
    select holder_id, count(*)::int n from applications where status = 'IN_PROGRESS' group by holder_id having count(*) > 1`))

  checks.none('every application has exactly one SUBMITTED event, at its created_at, before every other event (by id and by time)', await db.query(`
    select a.reference_no, a.created_at, s.id submitted_id, s.occurred_at submitted_at
    from applications a left join timeline_events s on s.application_id = a.id and s.type = 'SUBMITTED'
    where s.id is null or s.occurred_at <> a.created_at
       or exists (select 1 from timeline_events e where e.application_id = a.id and e.id <> s.id
                  and (e.id < s.id or e.occurred_at < s.occurred_at))`))

  checks.none('every timeline is ordered: per application, event ids increase with occurred_at', await db.query(`
    select application_id, prev_id, prev_type, prev_at, id, type, occurred_at from (
      select application_id, id, type, occurred_at,
             lag(id) over w prev_id, lag(type) over w prev_type, lag(occurred_at) over w prev_at
      from timeline_events window w as (partition by application_id order by id)) t
    where prev_at > occurred_at`))

  checks.none('exactly one PAYMENT_RECEIVED event per PAID payment and none for any other payment', await db.query(`
    select p.code, p.status, count(e.id)::int events
    from payments p left join timeline_events e on e.application_id = p.application_id and e.type = 'PAYMENT_RECEIVED'
    group by p.id having count(e.id) <> case when p.status = 'PAID' then 1 else 0 end`))
  checks.none('no PAYMENT_RECEIVED event on an application without a payment', await db.query(`
    select e.application_id from timeline_events e
    where e.type = 'PAYMENT_RECEIVED' and not exists (select 1 from payments p where p.application_id = e.application_id)`))
  checks.none('exactly one RECORDED notification per PAID payment (none otherwise), matching its transaction id and paid_at', await db.query(`
    select p.code, p.status, count(n.id)::int recorded,
           bool_and(n.platform_transaction_id = p.platform_transaction_id and n.paid_at = p.paid_at) matches
    from payments p left join payment_notifications n on n.payment_id = p.id and n.outcome = 'RECORDED'
    group by p.id
    having count(n.id) <> case when p.status = 'PAID' then 1 else 0 end
        or coalesce(bool_and(n.platform_transaction_id = p.platform_transaction_id and n.paid_at = p.paid_at), true) = false`))

  checks.none('every notification counts once: at most one RECORDED or ANOMALY row per notification id (copies are DUPLICATE)', await db.query(`
    select notification_id, count(*)::int counted from payment_notifications
    where outcome in ('RECORDED', 'ANOMALY') group by notification_id having count(*) > 1`))

  // The closure invariant, exactly: call a closure event (EXPIRED_UNPAID, CANCELLED, COLLECTED, WARRANTY_REJECTED)
  // terminal unless it is an EXPIRED_UNPAID followed (higher id) by a PAYMENT_RECEIVED, i.e. a late in-time payment
  // reopened the application. Then every CLOSED application has exactly one terminal closure event, of the type its
  // outcome names (COMPLETED → COLLECTED, REJECTED → WARRANTY_REJECTED, others alike), and every IN_PROGRESS
  // application has none.
  checks.none('closure: every CLOSED application has exactly one terminal closure event matching its outcome; IN_PROGRESS ones have none ' +
    '(an EXPIRED_UNPAID followed by PAYMENT_RECEIVED is a reopening, not a closure)', await db.query(`
    with terminal as (
      select e.application_id, e.type, e.id from timeline_events e
      where e.type in ('EXPIRED_UNPAID', 'CANCELLED', 'COLLECTED', 'WARRANTY_REJECTED')
        and not (e.type = 'EXPIRED_UNPAID' and exists (
          select 1 from timeline_events r where r.application_id = e.application_id and r.type = 'PAYMENT_RECEIVED' and r.id > e.id))
    )
    select a.reference_no, a.status, a.stage, a.outcome, count(t.id)::int terminal_events, array_remove(array_agg(t.type), null) types
    from applications a left join terminal t on t.application_id = a.id
    group by a.id
    having (a.status = 'CLOSED' and (count(t.id) <> 1 or min(t.type) is distinct from ${CLOSURE_OF_OUTCOME}))
        or (a.status = 'IN_PROGRESS' and count(t.id) <> 0)`))

  checks.none('status, stage, outcome and closed_at agree on every application', await db.query(`
    select reference_no, status, stage, outcome, closed_at from applications a
    where (status = 'CLOSED') <> (stage in ('COLLECTED', 'EXPIRED_UNPAID', 'CANCELLED', 'REJECTED'))
       or outcome is distinct from (case stage when 'COLLECTED' then 'COMPLETED' when 'EXPIRED_UNPAID' then 'EXPIRED_UNPAID'
                                   when 'CANCELLED' then 'CANCELLED' when 'REJECTED' then 'REJECTED' end)
       or (status = 'CLOSED') <> (closed_at is not null)`))

  checks.none('every paid-type application has exactly one payment (free ones none), with its fee and deadline, and its status agrees with the stage', await db.query(`
    select a.reference_no, a.type, a.fee_fen, a.stage, p.code, p.status payment_status, p.amount_fen, p.paid_at, p.expires_at,
           (select count(*) from payments q where q.application_id = a.id)::int payments
    from applications a left join payments p on p.application_id = a.id
    where (a.fee_fen > 0) <> (p.id is not null)
       or (select count(*) from payments q where q.application_id = a.id) > 1
       or (p.id is not null and (
            p.amount_fen <> a.fee_fen or p.expires_at is distinct from a.expires_at
         or (p.status = 'PENDING') <> (a.stage = 'AWAITING_PAYMENT')
         or (p.status = 'PAID') <> (a.stage in ('PAID', 'IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED'))
         or (p.status = 'EXPIRED') <> (a.stage in ('EXPIRED_UNPAID', 'CANCELLED'))
         or (p.status = 'PAID' and (p.paid_at is null or p.paid_at >= p.expires_at or p.platform_transaction_id is null))))`))

  const codes = await db.query<{ code: string; created_at: Date }>('select code, created_at from payments')
  const distinct = new Set(codes.map((c) => c.code))
  checks.check('no payment code issued twice', distinct.size === codes.length, `${codes.length} codes, ${distinct.size} distinct`)
  checks.none(`every payment code is 20 digits, region ${options.regionCode}, the business year, and passes the ISO 7064 MOD 11-2 check`, codes.flatMap((c): unknown[] => {
    const parsed = checkPaymentCode(c.code)
    if (!parsed.ok) return [{ code: c.code, problem: parsed.problem }]
    if (parsed.regionCode !== options.regionCode || parsed.year2 !== shanghaiDate(c.created_at).slice(2, 4)) return [{ code: c.code, problem: 'REGION_OR_YEAR', createdAt: c.created_at }]
    return []
  }))

  if (options.expiryCutoff !== undefined) {
    checks.none(`every unpaid application past its deadline (at or before ${options.expiryCutoff.toISOString()}) is closed by the sweepers`, await db.query(`
      select reference_no, expires_at from applications
      where status = 'IN_PROGRESS' and stage = 'AWAITING_PAYMENT' and expires_at <= $1`, [options.expiryCutoff]))
  }
  checks.none('every expiry closed the application at its deadline, with an EXPIRED_UNPAID event at the deadline', await db.query(`
    select a.reference_no, a.stage, a.closed_at, a.expires_at, e.occurred_at
    from applications a left join timeline_events e on e.application_id = a.id and e.type = 'EXPIRED_UNPAID'
    where (a.stage = 'EXPIRED_UNPAID' and (a.closed_at is distinct from a.expires_at or e.id is null))
       or (e.id is not null and e.occurred_at is distinct from a.expires_at)`))

  const rows = await db.query<{ id: string; reference_no: string; type: string; stage: string; types: string[] }>(`
    select a.id, a.reference_no, a.type, a.stage, coalesce(array_agg(e.type order by e.id) filter (where e.id is not null), '{}') types
    from applications a left join timeline_events e on e.application_id = a.id
    group by a.id`)
  checks.none('every LOST/DAMAGED timeline is exactly the path to its stage (reopened ones keep the expiry before the payment)', rows.flatMap((r) => {
    if (r.type !== 'LOST' && r.type !== 'DAMAGED') return []
    const expected = expectedTimeline(r.stage, r.types.includes('EXPIRED_UNPAID') && r.types.includes('PAYMENT_RECEIVED'))
    return expected !== undefined && expected.join(',') === r.types.join(',') ? [] : [{ ref: r.reference_no, stage: r.stage, types: r.types, expected }]
  }))

  checks.none('exactly one outbox row per READY_FOR_PICKUP event, and none without one', await db.query(`
    select coalesce(e.application_id, o.application_id) application_id, e.id event_id, o.n outbox_rows
    from (select application_id, id from timeline_events where type = 'READY_FOR_PICKUP') e
    full join (select application_id, count(*)::int n from notification_outbox group by application_id) o on o.application_id = e.application_id
    where e.application_id is null or o.application_id is null or o.n <> 1`))
  if ((options.outboxSentWithinMs ?? 0) > 0) {
    const deadline = performance.now() + options.outboxSentWithinMs!
    let pending: unknown[] = []
    do {
      pending = await db.query(`select id, application_id, status, attempts from notification_outbox where status <> 'SENT'`)
      if (pending.length > 0) await sleep(250)
    } while (pending.length > 0 && performance.now() < deadline)
    checks.none(`every queued SMS was sent once by the dispatchers within ${options.outboxSentWithinMs} ms`, pending)
  }

  checks.none('every stage move has its audit record (one STAGE_CHANGED per IN_PRODUCTION, READY_FOR_PICKUP and COLLECTED event)', await db.query(`
    select coalesce(e.application_id::text, x.target_id) application_id, e.n events, x.n audits
    from (select application_id, count(*)::int n from timeline_events where type in ('IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED') group by application_id) e
    full join (select target_id, count(*)::int n from audit_events where action = 'STAGE_CHANGED' group by target_id) x on x.target_id = e.application_id::text
    where e.n is distinct from x.n`))

  checks.none('every holder has exactly one current card, and one more card per COLLECTED application', await db.query(`
    select h.id,
           (select count(*) from cards c where c.holder_id = h.id and c.status <> 'DEACTIVATED')::int current_cards,
           (select count(*) from cards c where c.holder_id = h.id)::int cards,
           (select count(*) from applications a where a.holder_id = h.id and a.stage = 'COLLECTED')::int collected
    from holders h
    where (select count(*) from cards c where c.holder_id = h.id and c.status <> 'DEACTIVATED') <> 1
       or (select count(*) from cards c where c.holder_id = h.id) <> 1 + (select count(*) from applications a where a.holder_id = h.id and a.stage = 'COLLECTED')`))
}

/** PostgreSQL counts the deadlocks it broke in this database; a lock-order bug shows up here as well as in 409s. */
export async function checkNoDeadlocks (checks: Checks, db: ScriptDatabase): Promise<void> {
  // Statistics are flushed about once a second; wait for the last ones.
  await sleep(1200)
  const [row] = await db.query<{ deadlocks: number }>('select deadlocks::int from pg_stat_database where datname = current_database()')
  checks.check('PostgreSQL broke no deadlock in this database (pg_stat_database.deadlocks = 0)', row?.deadlocks === 0, `${row?.deadlocks} deadlock(s): two code paths lock the same rows in opposite orders`)
}

/** Every delivery that got an HTTP answer is a row. */
export async function checkNotificationsStored (checks: Checks, db: ScriptDatabase, answered: number, sent: number): Promise<void> {
  const [row] = await db.query<{ n: number }>('select count(*)::int n from payment_notifications')
  const stored = row?.n ?? -1
  checks.check(`every notification delivery is stored as received (${answered} answered deliveries of ${sent} sent = rows in payment_notifications)`, stored === answered && answered === sent, `${stored} rows for ${answered} answered deliveries of ${sent} sent`)
}

/**
 * With faults, a delivery answered 200 is certainly stored; one answered 503 or not at all (a cut database, a
 * killed replica) may or may not have committed, and the platform would send it again.
 */
export async function checkNotificationsStoredWithFaults (checks: Checks, db: ScriptDatabase, accepted: number, sent: number): Promise<void> {
  const [row] = await db.query<{ n: number }>('select count(*)::int n from payment_notifications')
  const stored = row?.n ?? -1
  checks.check(`every notification delivery answered 200 is stored (${accepted} accepted ≤ ${stored} rows ≤ ${sent} sent)`, accepted <= stored && stored <= sent, `${stored} rows for ${accepted} accepted of ${sent} sent`)
}
