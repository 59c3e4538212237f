// Shared test fixtures: stations, registered holders, applications and signed payment notifications through the API.
import type { DevTokenRequest } from '../src/dev/claims.js'
import { signPayload } from '../src/payments/signature.js'
import { residentIdentity, type TestContext } from './helper.js'

/** The smallest JPEG header the photo check reads: SOI, a baseline frame of the given size, EOI. */
export function jpegBytes (width = 358, height = 441, padTo = 0): Buffer {
  const head = [0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]
  const tail = [0xff, 0xd9]
  return Buffer.concat([Buffer.from(head), Buffer.alloc(Math.max(0, padTo - head.length - tail.length)), Buffer.from(tail)])
}

export async function createStation (ctx: TestContext, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await ctx.app.inject({
    method: 'POST', url: '/v1/stations', headers: ctx.auth({ role: 'bureau_staff' }),
    payload: { name: '天河区退役军人服务中心', districtCode: '440106', address: '天河路1号', phone: '020-83000000', latitude: 23.1246, longitude: 113.3613, ...overrides }
  })
  if (res.statusCode !== 201) throw new Error(`station: ${res.statusCode} ${res.body}`)
  return res.json().id
}

export interface Holder { id: string; identity: ReturnType<typeof residentIdentity>; citizen: DevTokenRequest; headers: { authorization: string } }

export async function registerHolder (ctx: TestContext, seq: number, options: { name?: string; issuedAt?: string; photo?: boolean } = {}): Promise<Holder> {
  const identity = residentIdentity(seq, options.name ?? '张三丰')
  const res = await ctx.app.inject({
    method: 'POST', url: '/v1/holders', headers: ctx.auth({ role: 'bureau_staff' }),
    payload: {
      identity,
      phone: `138${String(seq).padStart(8, '0')}`,
      card: { cardNumber: `A${String(seq).padStart(8, '0')}`, issuedAt: options.issuedAt ?? '2020-01-01', ...(options.photo === false ? {} : { photoJpegBase64: jpegBytes().toString('base64') }) }
    }
  })
  if (res.statusCode !== 201) throw new Error(`holder: ${res.statusCode} ${res.body}`)
  const citizen: DevTokenRequest = { role: 'citizen', identity }
  return { id: res.json().id, identity, citizen, headers: ctx.auth(citizen) }
}

export function applyBody (pickupStationId: string, overrides: Record<string, unknown> = {}) {
  return { type: 'LOST', pickupStationId, oldCardConfirmed: true, photo: { source: 'CARD' }, ...overrides }
}

export function submit (ctx: TestContext, holder: Holder, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return ctx.app.inject({ method: 'POST', url: '/v1/applications', headers: { ...holder.headers, ...headers }, payload: body })
}

/** Posts a notification signed like the platform does, at the injected clock's time unless told otherwise. */
export function notify (ctx: TestContext, body: Record<string, unknown> | string, options: { secret?: string; timestamp?: number; signature?: string } = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body)
  const timestamp = options.timestamp ?? Math.floor(ctx.clock.now().getTime() / 1000)
  const signature = options.signature ?? signPayload(options.secret ?? ctx.config.paymentWebhookSecret, timestamp, raw)
  return ctx.app.inject({
    method: 'POST', url: '/v1/payment-notifications',
    headers: { 'content-type': 'application/json', 'x-payment-signature': signature }, payload: raw
  })
}

export function paymentFor (code: string, paidAt: Date, overrides: Record<string, unknown> = {}) {
  return { notificationId: `n-${code}-${paidAt.getTime()}`, paymentCode: code, amountFen: 2000, paidAt: paidAt.toISOString(), platformTransactionId: `txn-${code}`, ...overrides }
}
