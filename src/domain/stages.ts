// The stage machine of card production and pickup: which stage may follow which, and who may move it.
import type { Role } from '../auth/principal.js'
import type { Stage } from '../db/schema.js'

export interface StageMove { from: Stage; to: Stage; roles: readonly Role[] }

/**
 * Moves made through POST /v1/applications/{id}/stage. Payment, warranty decisions, cancellation and
 * expiry move stages too, each through its own operation, never through this table.
 */
export const STAGE_MOVES: readonly StageMove[] = [
  { from: 'PAID', to: 'IN_PRODUCTION', roles: ['bureau_staff', 'admin'] },
  { from: 'IN_PRODUCTION', to: 'READY_FOR_PICKUP', roles: ['bureau_staff', 'admin'] },
  // The pickup station's staff hand the card over after checking the person.
  { from: 'READY_FOR_PICKUP', to: 'COLLECTED', roles: ['station_staff'] }
]

export type MoveVerdict = { ok: true; move: StageMove } | { ok: false; reason: 'NOT_ALLOWED' | 'WRONG_ROLE' }

export function checkMove (from: Stage, to: Stage, role: Role): MoveVerdict {
  const move = STAGE_MOVES.find((m) => m.from === from && m.to === to)
  if (move === undefined) return { ok: false, reason: 'NOT_ALLOWED' }
  if (!move.roles.includes(role)) return { ok: false, reason: 'WRONG_ROLE' }
  return { ok: true, move }
}

/** Stages a staff member can ask for at all. */
export const MOVABLE_TO = ['IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED'] as const
