// Who may see an application: its holder, staff of its station, bureau and admin. Everyone else gets 404.
import type { Principal } from '../auth/principal.js'
import type { Db, Executor } from '../db/client.js'
import { normalizeIdentity } from '../domain/identity.js'
import type { HoldersRepository } from '../holders/repository.js'
import type { HolderRecord } from '../holders/schemas.js'
import { notFound, ProblemError } from '../shared/problem.js'
import { applicationLoader, type ApplicationRecord } from './repository.js'

/** The registry entry of the signed-in citizen; a person not in the registry gets a clear 404 problem. */
export async function citizenHolder (tx: Executor, holders: HoldersRepository, principal: Principal): Promise<HolderRecord> {
  if (principal.role !== 'citizen') throw new Error('citizenHolder needs a citizen principal')
  const holder = await holders.findByIdentity(tx, normalizeIdentity(principal.identity))
  if (holder === null) {
    throw new ProblemError(404, 'HOLDER_NOT_REGISTERED', 'Not a registered card holder', {
      detail: 'Your identity is not in the preferential-treatment card holder registry; please contact a veterans service station'
    })
  }
  return holder
}

export const applicationNotFound = () => notFound('APPLICATION_NOT_FOUND', 'No application with this id')

/**
 * Whether the principal may see this application. Citizens see their own (the caller resolves the
 * citizen's holder id); station staff see applications picked up at or created by their station.
 */
export function maySee (principal: Principal, record: ApplicationRecord, citizenHolderId: string | null): boolean {
  switch (principal.role) {
    case 'citizen': return citizenHolderId !== null && record.application.holderId === citizenHolderId
    case 'station_staff': return record.application.pickupStationId === principal.stationId || record.application.createdByStationId === principal.stationId
    default: return true
  }
}

/** The application if this principal may see it; 404 otherwise, so nobody learns that it exists. */
export async function loadVisibleApplication (db: Db, holders: HoldersRepository, principal: Principal, id: string): Promise<ApplicationRecord> {
  const record = await applicationLoader(db)(id)
  if (record === null) throw applicationNotFound()
  const holderId = principal.role === 'citizen' ? await holders.idByIdentity(db, normalizeIdentity(principal.identity)) : null
  if (!maySee(principal, record, holderId)) throw applicationNotFound()
  return record
}
