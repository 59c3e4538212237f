// The application lifecycle's pure rules: what a stored application means at a given instant, and who may apply for what.
import type { ApplicationType, Outcome, PaymentStatus, Stage } from '../db/schema.js'

export const SELF_SERVICE_TYPES: readonly ApplicationType[] = ['LOST', 'DAMAGED']
export const PAID_TYPES: readonly ApplicationType[] = ['LOST', 'DAMAGED', 'INFO_CHANGE']

export interface StoredState {
  status: 'IN_PROGRESS' | 'CLOSED'
  stage: Stage
  outcome: Outcome | null
  /** Deadline of an unpaid application. */
  expiresAt: Date | null
  paymentStatus: PaymentStatus | null
}

export interface EffectiveState extends StoredState {
  /** The deadline has passed but no sweeper has closed it yet: readers must see it closed anyway. */
  expiredUnswept: boolean
}

/** Whether an unpaid application is past its deadline at `now`. */
export function isPastDeadline (state: Pick<StoredState, 'status' | 'stage' | 'expiresAt'>, now: Date): boolean {
  return state.status === 'IN_PROGRESS' && state.stage === 'AWAITING_PAYMENT' && state.expiresAt !== null &&
    now.getTime() >= state.expiresAt.getTime()
}

/**
 * The state every reader sees. An unpaid application past its deadline reads as closed the moment
 * the deadline passes, before any sweep makes the database agree.
 */
export function effectiveState (state: StoredState, now: Date): EffectiveState {
  if (!isPastDeadline(state, now)) return { ...state, expiredUnswept: false }
  return {
    status: 'CLOSED',
    stage: 'EXPIRED_UNPAID',
    outcome: 'EXPIRED_UNPAID',
    expiresAt: state.expiresAt,
    paymentStatus: state.paymentStatus === 'PENDING' ? 'EXPIRED' : state.paymentStatus,
    expiredUnswept: true
  }
}

export function feeFor (type: ApplicationType, feesFen: Record<ApplicationType, number>): number {
  return PAID_TYPES.includes(type) ? feesFen[type] : 0
}
