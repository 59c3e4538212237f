// The stage machine of production and pickup: every (from, to, role) combination, checked against a table written out by hand.
import t from 'tap'
import { ROLES, type Role } from '../../src/auth/principal.js'
import { STAGES, type Stage } from '../../src/db/schema.js'
import { checkMove, MOVABLE_TO, STAGE_MOVES } from '../../src/domain/stages.js'

// Written independently of STAGE_MOVES, so a change to the table in src/ shows up here.
const ALLOWED: ReadonlyArray<[Stage, Stage, readonly Role[]]> = [
  ['PAID', 'IN_PRODUCTION', ['bureau_staff', 'admin']],
  ['IN_PRODUCTION', 'READY_FOR_PICKUP', ['bureau_staff', 'admin']],
  ['READY_FOR_PICKUP', 'COLLECTED', ['station_staff']]
]

t.test('the enumerations the table is checked over are complete', async (t) => {
  t.same([...STAGES].sort(), ['AWAITING_APPROVAL', 'AWAITING_PAYMENT', 'CANCELLED', 'COLLECTED', 'EXPIRED_UNPAID', 'IN_PRODUCTION', 'PAID', 'READY_FOR_PICKUP', 'REJECTED'])
  t.same([...ROLES].sort(), ['admin', 'bureau_staff', 'citizen', 'station_staff'])
  t.same([...MOVABLE_TO], ['IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED'], 'staff may only ask for the three production stages')
})

t.test('every (from, to, role): allowed only for the three moves and their roles', async (t) => {
  let allowed = 0
  let wrongRole = 0
  let notAllowed = 0
  for (const from of STAGES) {
    for (const to of STAGES) {
      const move = ALLOWED.find(([f, tt]) => f === from && tt === to)
      for (const role of ROLES) {
        const verdict = checkMove(from, to, role)
        const label = `${from} → ${to} by ${role}`
        if (move === undefined) {
          t.same(verdict, { ok: false, reason: 'NOT_ALLOWED' }, label)
          notAllowed++
        } else if (move[2].includes(role)) {
          t.equal(verdict.ok, true, label)
          if (verdict.ok) t.same({ from: verdict.move.from, to: verdict.move.to }, { from, to }, `${label}: the move found`)
          allowed++
        } else {
          t.same(verdict, { ok: false, reason: 'WRONG_ROLE' }, label)
          wrongRole++
        }
      }
    }
  }
  t.equal(allowed, 5, 'five (move, role) pairs are allowed in all')
  t.equal(wrongRole, 3 * 4 - 5, 'the other roles on the three moves are the wrong role')
  t.equal(notAllowed, (9 * 9 - 3) * 4)
})

t.test('a stage never moves to itself, backwards, or out of a closed state', async (t) => {
  for (const role of ROLES) {
    for (const stage of STAGES) t.same(checkMove(stage, stage, role), { ok: false, reason: 'NOT_ALLOWED' }, `${stage} → ${stage} by ${role}`)
    t.same(checkMove('READY_FOR_PICKUP', 'IN_PRODUCTION', role), { ok: false, reason: 'NOT_ALLOWED' })
    t.same(checkMove('IN_PRODUCTION', 'PAID', role), { ok: false, reason: 'NOT_ALLOWED' })
    t.same(checkMove('PAID', 'READY_FOR_PICKUP', role), { ok: false, reason: 'NOT_ALLOWED' }, 'no skipping production')
    t.same(checkMove('IN_PRODUCTION', 'COLLECTED', role), { ok: false, reason: 'NOT_ALLOWED' }, 'no skipping pickup')
    t.same(checkMove('AWAITING_PAYMENT', 'IN_PRODUCTION', role), { ok: false, reason: 'NOT_ALLOWED' }, 'not before payment')
    t.same(checkMove('AWAITING_APPROVAL', 'IN_PRODUCTION', role), { ok: false, reason: 'NOT_ALLOWED' }, 'warranty approval is its own operation')
    for (const closed of ['COLLECTED', 'EXPIRED_UNPAID', 'CANCELLED', 'REJECTED'] as const) {
      for (const to of MOVABLE_TO) t.same(checkMove(closed, to, role), { ok: false, reason: 'NOT_ALLOWED' }, `${closed} → ${to} by ${role}`)
    }
  }
})

t.test('the exported table holds exactly the three moves', async (t) => {
  t.same(STAGE_MOVES.map((m) => [m.from, m.to, [...m.roles].sort()]), ALLOWED.map(([f, to, roles]) => [f, to, [...roles].sort()]))
})
