// Writes audit records, always on the caller's transaction so the record and the change commit together.
import type { FastifyRequest } from 'fastify'
import { principalOf } from '../plugins/auth.js'
import type { Executor } from '../db/client.js'
import { auditEvents } from '../db/schema.js'

export interface AuditActor { id: string; role: string; stationId: string | null; requestId: string }

export interface AuditEntry {
  action: string
  targetType: string
  targetId: string
  /** Personal values must already be masked or encrypted: audit rows are read by people. */
  before?: unknown
  after?: unknown
}

export function auditActorOf (request: FastifyRequest): AuditActor {
  const principal = principalOf(request)
  return {
    id: principal.subject,
    role: principal.role,
    stationId: principal.role === 'station_staff' ? principal.stationId : null,
    requestId: String(request.id)
  }
}

export async function recordAudit (tx: Executor, actor: AuditActor, at: Date, entry: AuditEntry): Promise<void> {
  await tx.insert(auditEvents).values({
    occurredAt: at,
    actorId: actor.id,
    actorRole: actor.role,
    actorStationId: actor.stationId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: actor.requestId
  })
}
