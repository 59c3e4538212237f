// The timeline catalogue: every event type in both languages, every placeholder filled, the notice's sentence verbatim.
import t from 'tap'
import { TIMELINE_EVENT_TYPES, APPLICATION_TYPES } from '../../src/db/schema.js'
import { CATALOGUE, fill, formatShanghaiTime, formatYuan, LOCALES, pickLocale, renderEvent, type MessageValues } from '../../src/domain/timeline-messages.js'

const values: Required<MessageValues> = {
  code: '44010024000012155182', amount: '20.00', deadline: '2026-12-02 00:00:00', paidAt: '2026-12-01 23:59:50',
  stationName: '天河区退役军人服务中心（示例）', stationAddress: '天河路1号', stationPhone: '020-83000000', reason: '卡面有划痕', fields: '姓名、手机号'
}

t.test('every event type has a title and a message in both languages, for every variant', async (t) => {
  for (const type of TIMELINE_EVENT_TYPES) {
    const entry = CATALOGUE[type]
    t.ok(entry.default, `${type} has a default text`)
    for (const [variant, texts] of Object.entries(entry)) {
      for (const locale of LOCALES) {
        const text = texts![locale]
        t.ok(text.title.length > 0 && text.message.length > 0, `${type}/${variant}/${locale}`)
        const filled = fill(text.message, values)
        t.notMatch(filled, /\{\w+\}/, `${type}/${variant}/${locale} leaves no placeholder unfilled`)
        for (const name of text.message.match(/\{(\w+)\}/g) ?? []) {
          t.ok(name.slice(1, -1) in values, `${type}/${variant}/${locale} names a known value ${name}`)
        }
      }
    }
  }
})

t.test('rendering every type for every application type and payment status fills everything', async (t) => {
  for (const type of TIMELINE_EVENT_TYPES) {
    for (const applicationType of APPLICATION_TYPES) {
      for (const paymentStatus of ['PENDING', 'PAID', 'EXPIRED', null] as const) {
        for (const locale of LOCALES) {
          const { title, message } = renderEvent(type, { applicationType, paymentStatus, stage: 'PAID' }, values, locale)
          if (/\{\w+\}/.test(message) || title === '') t.fail(`${type} ${applicationType} ${paymentStatus} ${locale}: ${message}`)
        }
      }
    }
  }
  t.pass('all rendered')
})

t.test('申领信息入库 while unpaid is the sentence of the notice, word for word', async (t) => {
  const { title, message } = renderEvent('SUBMITTED', { applicationType: 'LOST', paymentStatus: 'PENDING', stage: 'AWAITING_PAYMENT' }, { code: '44010024000012155182' }, 'zh-CN')
  t.equal(title, '申领信息入库')
  t.equal(message, '您提交的优抚卡补换申请尚未进行支付，请前往广东省非税收缴平台进行缴费，您的缴款识别码为：44010024000012155182')
  const paid = renderEvent('SUBMITTED', { applicationType: 'LOST', paymentStatus: 'PAID', stage: 'PAID' }, values, 'zh-CN')
  t.notMatch(paid.message, /尚未进行支付/, 'once paid it no longer asks for payment')
  const warranty = renderEvent('SUBMITTED', { applicationType: 'WARRANTY', paymentStatus: null, stage: 'AWAITING_APPROVAL' }, values, 'en')
  t.match(warranty.message, /approval/)
})

t.test('READY_FOR_PICKUP asks for the ID document, and the damaged card for DAMAGED', async (t) => {
  const lost = renderEvent('READY_FOR_PICKUP', { applicationType: 'LOST', paymentStatus: 'PAID', stage: 'READY_FOR_PICKUP' }, values, 'zh-CN')
  const damaged = renderEvent('READY_FOR_PICKUP', { applicationType: 'DAMAGED', paymentStatus: 'PAID', stage: 'READY_FOR_PICKUP' }, values, 'zh-CN')
  t.match(lost.message, /身份证件/)
  t.notMatch(lost.message, /损坏的旧卡/)
  t.match(damaged.message, /损坏的旧卡/)
  t.match(damaged.message, values.stationAddress)
  t.match(damaged.message, values.stationPhone)
})

t.test('Accept-Language picks English only when it is preferred', async (t) => {
  t.equal(pickLocale(undefined), 'zh-CN')
  t.equal(pickLocale('en'), 'en')
  t.equal(pickLocale('en-US,en;q=0.9'), 'en')
  t.equal(pickLocale('zh-CN,zh;q=0.9,en;q=0.8'), 'zh-CN')
  t.equal(pickLocale('fr;q=1, en;q=0.5'), 'en')
  t.equal(pickLocale('en;q=0.2, zh;q=0.9'), 'zh-CN')
  t.equal(pickLocale('fr, de'), 'zh-CN')
  t.equal(pickLocale('en;q=0, *'), 'zh-CN')
  t.equal(pickLocale(''), 'zh-CN')
})

t.test('times and money as holders read them', async (t) => {
  t.equal(formatShanghaiTime(new Date('2026-12-01T15:59:50Z')), '2026-12-01 23:59:50')
  t.equal(formatYuan(2000), '20.00')
  t.equal(formatYuan(5), '0.05')
})
