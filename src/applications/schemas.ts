// API schemas of applications and timelines, and the one mapping from stored rows to what readers see.
import { Type, type Static } from 'typebox'
import { APPLICATION_TYPES, OUTCOMES, PAYMENT_STATUSES, STAGES, TIMELINE_EVENT_TYPES } from '../db/schema.js'
import { FIELD_NAMES } from '../domain/info-change.js'
import { effectiveState, type EffectiveState } from '../domain/lifecycle.js'
import { formatShanghaiTime, formatYuan, renderEvent, type Locale, type MessageValues } from '../domain/timeline-messages.js'
import { InstantSchema, PaginationQuerySchema, UuidSchema } from '../shared/schemas.js'
import type { ApplicationRecord, TimelineEventRow } from './repository.js'

export const ApplicationTypeSchema = Type.Enum(APPLICATION_TYPES, {
  description: 'LOST 遗失补卡, DAMAGED 损坏换卡, INFO_CHANGE 信息变更换卡 (station only), WARRANTY 质保期换卡 (station only, free)'
})
export const StageSchema = Type.Enum(STAGES, { description: 'Where the application is in its lifecycle' })

export const PhotoChoiceSchema = Type.Union([
  Type.Object({ source: Type.Literal('CARD', { description: 'Reuse the photo of the current card (制卡照片默认为原卡照片)' }) },
    { additionalProperties: false, title: 'Card photo' }),
  Type.Object({
    source: Type.Literal('UPLOAD', { description: 'A photo uploaded with POST /v1/photos' }),
    photoId: { ...UuidSchema, description: 'The photoId POST /v1/photos returned' }
  }, { additionalProperties: false, title: 'Uploaded photo' })
], { description: '制卡照片: the photo for the new card' })

export const CreateApplicationSchema = Type.Object({
  type: ApplicationTypeSchema,
  pickupStationId: { ...UuidSchema, description: '领卡网点: the active station where the new card will be collected' },
  oldCardConfirmed: Type.Boolean({ description: '旧卡信息确认: the applicant confirms the old card shown to them; must be true' }),
  photo: PhotoChoiceSchema
}, { additionalProperties: false })
export type CreateApplication = Static<typeof CreateApplicationSchema>

const StationSummarySchema = Type.Object({
  id: UuidSchema,
  name: Type.String({ description: 'Station name' }),
  address: Type.String({ description: 'Street address' }),
  phone: Type.String({ description: 'Station phone for inquiries' }),
  districtCode: Type.String({ description: 'GB/T 2260 district code' })
}, { additionalProperties: false, description: '领卡网点: where the new card is collected' })

export const PaymentSummarySchema = Type.Object({
  code: Type.String({ pattern: '^[0-9]{20}$', description: '缴款识别码: the 20-digit payment identification code' }),
  amountFen: Type.Integer({ description: 'Amount due, in fen' }),
  currency: Type.Literal('CNY', { description: 'Always CNY' }),
  status: Type.Enum(PAYMENT_STATUSES, { description: 'PENDING until paid; EXPIRED once the deadline passed or the application was cancelled' }),
  expiresAt: { ...InstantSchema, description: 'Payment deadline: the next midnight, Asia/Shanghai, after submission' },
  paidAt: Type.Union([InstantSchema, Type.Null()], { description: 'When it was paid, per the payment platform' }),
  payee: Type.String({ description: 'The collecting authority' }),
  platform: Type.String({ description: 'Where to pay: 广东省非税收缴平台' })
}, { additionalProperties: false, description: 'The fee payment; absent for free types' })

export const ApplicationSchema = Type.Object({
  id: UuidSchema,
  referenceNo: Type.String({ description: 'Human-readable reference, YF + business date + sequence' }),
  type: ApplicationTypeSchema,
  channel: Type.Enum(['SELF', 'STATION'], { description: 'SELF 本人办理 in the app, STATION 网点代办 at a station' }),
  status: Type.Enum(['IN_PROGRESS', 'CLOSED'], { description: 'IN_PROGRESS 办理中 or CLOSED 办结, as the app shows it' }),
  stage: StageSchema,
  outcome: Type.Union([Type.Enum(OUTCOMES), Type.Null()], { description: 'How a closed application ended; null while in progress' }),
  pickupStation: StationSummarySchema,
  fee: Type.Object({
    amountFen: Type.Integer({ description: 'Production fee (工本费) in fen; 0 for warranty replacements' }),
    currency: Type.Literal('CNY', { description: 'Always CNY' })
  }, { additionalProperties: false, description: 'The fee for this type' }),
  payment: Type.Optional(PaymentSummarySchema),
  paymentPrompt: Type.Optional(Type.String({ description: 'While unpaid: what to do, in the reader\'s language (the seed\'s 请前往广东省非税收缴平台进行缴费 sentence)' })),
  createdAt: InstantSchema,
  updatedAt: InstantSchema,
  closedAt: Type.Union([InstantSchema, Type.Null()], { description: 'When it was closed (办结); null while in progress' })
}, { additionalProperties: false })
export type ApplicationView = Static<typeof ApplicationSchema>

export const TimelineEventSchema = Type.Object({
  id: Type.String({ description: 'Event id; for Last-Event-ID on the live stream' }),
  type: Type.Enum(TIMELINE_EVENT_TYPES, { description: 'What happened' }),
  occurredAt: InstantSchema,
  title: Type.String({ description: 'Short title in the requested language, e.g. 申领信息入库' }),
  message: Type.String({ description: 'What it means for the holder, in the requested language' })
}, { additionalProperties: false })

export const TimelineSchema = Type.Object({
  events: Type.Array(TimelineEventSchema, { description: 'Oldest first' })
}, { additionalProperties: false })

export const ApplicationParamsSchema = Type.Object({ applicationId: UuidSchema })
export const ListQuerySchema = Type.Object({ ...PaginationQuerySchema })

export interface PaymentPlatformInfo { payee: string; platformName: string }

export function toApplicationView (record: ApplicationRecord, now: Date, platform: PaymentPlatformInfo, locale: Locale = 'zh-CN'): ApplicationView {
  const { application: a, payment: p, station: s } = record
  const state = effectiveState({ status: a.status, stage: a.stage, outcome: a.outcome, expiresAt: a.expiresAt, paymentStatus: p?.status ?? null }, now)
  const view: ApplicationView = {
    id: a.id,
    referenceNo: a.referenceNo,
    type: a.type,
    channel: a.channel,
    status: state.status,
    stage: state.stage,
    outcome: state.outcome,
    pickupStation: { id: s.id, name: s.name, address: s.address, phone: s.phone, districtCode: s.districtCode },
    fee: { amountFen: a.feeFen, currency: 'CNY' },
    createdAt: a.createdAt.toISOString(),
    // Lazily expired: it changed at the deadline, whether or not a sweep has written it yet.
    updatedAt: (state.expiredUnswept ? a.expiresAt! : a.updatedAt).toISOString(),
    closedAt: state.expiredUnswept ? a.expiresAt!.toISOString() : a.closedAt?.toISOString() ?? null
  }
  if (p !== null) {
    view.payment = {
      code: p.code,
      amountFen: p.amountFen,
      currency: 'CNY',
      status: state.paymentStatus ?? p.status,
      expiresAt: p.expiresAt.toISOString(),
      paidAt: p.paidAt?.toISOString() ?? null,
      payee: platform.payee,
      platform: platform.platformName
    }
    if (view.payment.status === 'PENDING') {
      view.paymentPrompt = renderEvent('SUBMITTED', { applicationType: a.type, paymentStatus: 'PENDING', stage: state.stage }, { code: p.code }, locale).message
    }
  }
  return view
}

/** Changes with every change a reader can see, including the deadline passing before a sweep. */
export function etagOf (record: ApplicationRecord, now: Date): string {
  const a = record.application
  const lazilyExpired = effectiveState({ status: a.status, stage: a.stage, outcome: a.outcome, expiresAt: a.expiresAt, paymentStatus: null }, now).expiredUnswept
  return `"${a.id.slice(0, 8)}-${a.version}${lazilyExpired ? 'x' : ''}"`
}

export function messageValues (record: ApplicationRecord, data: Record<string, unknown>, locale: Locale = 'zh-CN'): MessageValues {
  const { application: a, payment: p, station: s } = record
  const values: MessageValues = { stationName: s.name, stationAddress: s.address, stationPhone: s.phone }
  if (p !== null) {
    values.code = p.code
    values.amount = formatYuan(p.amountFen)
    values.deadline = formatShanghaiTime(p.expiresAt)
    if (p.paidAt !== null) values.paidAt = formatShanghaiTime(p.paidAt)
  } else if (a.expiresAt !== null) {
    values.deadline = formatShanghaiTime(a.expiresAt)
  }
  if (typeof data.reason === 'string') values.reason = data.reason
  if (Array.isArray(data.fields)) {
    const names = FIELD_NAMES[locale] as Record<string, string>
    values.fields = data.fields.map((f) => names[String(f)] ?? String(f)).join(locale === 'en' ? ', ' : '、')
  }
  return values
}

/** The timeline as readers see it: stored events, plus the expiry the sweeper has not written yet. */
export function toTimeline (record: ApplicationRecord, events: TimelineEventRow[], now: Date, locale: Locale) {
  const a = record.application
  const state: EffectiveState = effectiveState({ status: a.status, stage: a.stage, outcome: a.outcome, expiresAt: a.expiresAt, paymentStatus: record.payment?.status ?? null }, now)
  const all = [...events.map((e) => ({ id: String(e.id), type: e.type, occurredAt: e.occurredAt, data: e.data }))]
  if (state.expiredUnswept) all.push({ id: `pending-expiry-${a.id}`, type: 'EXPIRED_UNPAID', occurredAt: a.expiresAt!, data: {} })
  const context = { applicationType: a.type, paymentStatus: state.paymentStatus, stage: state.stage }
  return all.map((e) => ({
    id: e.id,
    type: e.type,
    occurredAt: e.occurredAt.toISOString(),
    ...renderEvent(e.type, context, messageValues(record, e.data, locale), locale)
  }))
}
