// The one catalogue of timeline texts (zh-CN and English), and the rendering of an event for a reader.
import type { ApplicationType, TimelineEventType } from '../db/schema.js'

export const LOCALES = ['zh-CN', 'en'] as const
export type Locale = typeof LOCALES[number]

/** zh-CN unless the reader prefers English (Accept-Language: en, en-US, …) over Chinese. */
export function pickLocale (acceptLanguage: string | undefined): Locale {
  if (acceptLanguage === undefined) return 'zh-CN'
  const ranked = acceptLanguage.split(',').map((part, index) => {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';')
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    return { tag, q: q === undefined ? 1 : Number(q.slice(2)) || 0, index }
  }).filter((l) => l.q > 0).sort((a, b) => b.q - a.q || a.index - b.index)
  for (const { tag } of ranked) {
    if (tag === 'en' || tag.startsWith('en-')) return 'en'
    if (tag === 'zh' || tag.startsWith('zh-') || tag === '*') return 'zh-CN'
  }
  return 'zh-CN'
}

/** What the texts may refer to; a template naming a value that is absent is a defect the tests catch. */
export interface MessageValues {
  code?: string
  amount?: string
  deadline?: string
  paidAt?: string
  stationName?: string
  stationAddress?: string
  stationPhone?: string
  reason?: string
  fields?: string
}

type Text = { title: string; message: string }
type Variant = 'unpaid' | 'recorded' | 'awaitingApproval' | 'damaged' | 'default'

/**
 * Titles and messages. SUBMITTED while unpaid is the sentence of notice 穗退役军人字〔2024〕282号,
 * attachment 2, word for word.
 */
export const CATALOGUE: Record<TimelineEventType, Partial<Record<Variant, Record<Locale, Text>>>> = {
  SUBMITTED: {
    unpaid: {
      'zh-CN': { title: '申领信息入库', message: '您提交的优抚卡补换申请尚未进行支付，请前往广东省非税收缴平台进行缴费，您的缴款识别码为：{code}' },
      en: { title: 'Application recorded', message: 'Your card replacement application has not been paid yet. Please pay on the Guangdong non-tax payment platform (广东省非税收缴平台); your payment identification code is {code}.' }
    },
    awaitingApproval: {
      'zh-CN': { title: '申领信息入库', message: '您的优抚卡质保期换卡申请已入库，正在等待广州市退役军人事务局审核，本次换卡免费。' },
      en: { title: 'Application recorded', message: 'Your free in-warranty card replacement has been recorded and awaits approval by the Guangzhou Veterans Affairs Bureau.' }
    },
    default: {
      'zh-CN': { title: '申领信息入库', message: '您提交的优抚卡补换申请信息已入库。' },
      en: { title: 'Application recorded', message: 'Your card replacement application has been recorded.' }
    }
  },
  PAYMENT_RECEIVED: {
    default: {
      'zh-CN': { title: '已缴费', message: '您已于{paidAt}缴纳工本费{amount}元，缴款识别码：{code}。优抚卡即将进入制卡流程。' },
      en: { title: 'Fee paid', message: 'You paid the production fee of CNY {amount} at {paidAt} (payment code {code}). Your card will now be produced.' }
    }
  },
  EXPIRED_UNPAID: {
    default: {
      'zh-CN': { title: '已办结（未缴费）', message: '您的申请未在当天完成缴费，已于{deadline}自动办结，缴款识别码{code}已失效。如需补换优抚卡，请重新提交申请。' },
      en: { title: 'Closed (unpaid)', message: 'The fee was not paid on the day of application, so the application was closed at {deadline} and payment code {code} no longer accepts payment. Please apply again if you still need a replacement.' }
    }
  },
  CANCELLED: {
    default: {
      'zh-CN': { title: '已取消', message: '您已取消本次优抚卡补换申请，缴款识别码{code}已失效。' },
      en: { title: 'Cancelled', message: 'You cancelled this card replacement application; payment code {code} no longer accepts payment.' }
    }
  },
  WARRANTY_APPROVED: {
    default: {
      'zh-CN': { title: '质保换卡审核通过', message: '您的质保期换卡申请已由广州市退役军人事务局审核通过，优抚卡即将进入制卡流程，本次换卡免费。' },
      en: { title: 'Warranty replacement approved', message: 'The Guangzhou Veterans Affairs Bureau approved your free in-warranty replacement; your card will now be produced.' }
    }
  },
  WARRANTY_REJECTED: {
    default: {
      'zh-CN': { title: '质保换卡审核未通过', message: '您的质保期换卡申请未通过审核，原因：{reason}。如有疑问，请咨询退役军人服务站。' },
      en: { title: 'Warranty replacement rejected', message: 'Your in-warranty replacement was not approved. Reason: {reason}. Please ask a veterans service station if you have questions.' }
    }
  },
  INFO_CHANGED: {
    default: {
      'zh-CN': { title: '个人信息已变更', message: '服务站工作人员已核实并变更您的个人关键信息（{fields}）。' },
      en: { title: 'Personal information changed', message: 'Station staff verified and changed your key personal information ({fields}).' }
    }
  },
  IN_PRODUCTION: {
    default: {
      'zh-CN': { title: '制卡中', message: '您的优抚卡正在制作中，制作完成后将送至{stationName}，届时将短信通知您领卡。' },
      en: { title: 'In production', message: 'Your card is being produced. It will be sent to {stationName} and you will be notified by SMS when it is ready.' }
    }
  },
  READY_FOR_PICKUP: {
    damaged: {
      'zh-CN': { title: '待领卡', message: '您的优抚卡已制作完成，请携带本人有效身份证件及损坏的旧卡前往{stationName}（{stationAddress}，电话{stationPhone}）领取。' },
      en: { title: 'Ready for pickup', message: 'Your new card is ready. Please bring your identity document and the damaged card to {stationName} ({stationAddress}, tel. {stationPhone}).' }
    },
    default: {
      'zh-CN': { title: '待领卡', message: '您的优抚卡已制作完成，请携带本人有效身份证件前往{stationName}（{stationAddress}，电话{stationPhone}）领取。' },
      en: { title: 'Ready for pickup', message: 'Your new card is ready. Please bring your identity document to {stationName} ({stationAddress}, tel. {stationPhone}).' }
    }
  },
  COLLECTED: {
    default: {
      'zh-CN': { title: '已领卡', message: '您已在{stationName}领取新的优抚卡，本次补换业务已办结。' },
      en: { title: 'Collected', message: 'You collected your new card at {stationName}. This replacement is complete.' }
    }
  }
}

export interface RenderContext {
  applicationType: ApplicationType
  /** The payment's status as readers see it now; SUBMITTED reads differently once paid or closed. */
  paymentStatus: 'PENDING' | 'PAID' | 'EXPIRED' | null
  stage: string
}

function variantFor (type: TimelineEventType, context: RenderContext): Variant {
  if (type === 'SUBMITTED') {
    if (context.paymentStatus === 'PENDING') return 'unpaid'
    if (context.stage === 'AWAITING_APPROVAL') return 'awaitingApproval'
  }
  if (type === 'READY_FOR_PICKUP' && context.applicationType === 'DAMAGED') return 'damaged'
  return 'default'
}

export function fill (template: string, values: MessageValues): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name as keyof MessageValues] ?? whole)
}

export function renderEvent (type: TimelineEventType, context: RenderContext, values: MessageValues, locale: Locale): Text {
  const entry = CATALOGUE[type]
  const text = (entry[variantFor(type, context)] ?? entry.default)![locale]
  return { title: text.title, message: fill(text.message, values) }
}

/** Asia/Shanghai wall-clock time, as both languages show it: 2026-12-01 23:59:50. */
export function formatShanghaiTime (instant: Date): string {
  return new Date(instant.getTime() + 8 * 60 * 60 * 1000).toISOString().slice(0, 19).replace('T', ' ')
}

/** Fen as yuan with two decimals: 2000 → "20.00". */
export function formatYuan (fen: number): string {
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`
}
