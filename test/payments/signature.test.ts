// Payment-platform notification signatures: header parsing, freshness window and constant-time HMAC check.

import t from 'tap'
import { createHmac } from 'node:crypto'
import { SIGNATURE_TOLERANCE_SECONDS, signPayload, verifySignature } from '../../src/payments/signature.js'

const SECRET = 'test-notification-secret'
const NOW = 1_796_000_000
const BODY = JSON.stringify({
  notificationId: 'n-1', paymentCode: '44010024000012155182', amountFen: 2000, paidAt: '2026-12-01T03:00:00Z', transactionId: 'tx-1'
})

function hmacHex (secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex')
}

t.test('a correctly signed body verifies', async (t) => {
  const header = signPayload(SECRET, NOW, BODY)
  t.equal(header, `t=${NOW},v1=${hmacHex(SECRET, `${NOW}.${BODY}`)}`, 'the documented format, checked independently')
  t.same(verifySignature(header, BODY, SECRET, NOW), { ok: true, timestamp: NOW })
  t.same(verifySignature(` t = ${NOW} , v1 = ${hmacHex(SECRET, `${NOW}.${BODY}`)} `, BODY, SECRET, NOW),
    { ok: true, timestamp: NOW }, 'spaces around parts are tolerated')
  t.same(verifySignature(`v1=${hmacHex(SECRET, `${NOW}.${BODY}`)},t=${NOW}`, BODY, SECRET, NOW),
    { ok: true, timestamp: NOW }, 'order does not matter')
  t.same(verifySignature(`${header},v2=whatever`, BODY, SECRET, NOW),
    { ok: true, timestamp: NOW }, 'unknown schemes are ignored')
})

t.test('a Buffer body is the same bytes', async (t) => {
  const body = '{"name":"张三"}'
  const header = signPayload(SECRET, NOW, body)
  t.same(verifySignature(header, Buffer.from(body, 'utf8'), SECRET, NOW), { ok: true, timestamp: NOW })
  t.same(verifySignature(header, Buffer.from(body, 'latin1'), SECRET, NOW), { ok: false, problem: 'MISMATCH' },
    'different bytes for the same characters do not verify')
})

t.test('a missing header', async (t) => {
  t.same(verifySignature(undefined, BODY, SECRET, NOW), { ok: false, problem: 'MISSING' })
  t.same(verifySignature('', BODY, SECRET, NOW), { ok: false, problem: 'MISSING' })
  t.same(verifySignature('   ', BODY, SECRET, NOW), { ok: false, problem: 'MISSING' })
})

t.test('malformed headers', async (t) => {
  const v1 = hmacHex(SECRET, `${NOW}.${BODY}`)
  const malformed = { ok: false, problem: 'MALFORMED' }
  const cases: Array<[string, string]> = [
    [`v1=${v1}`, 'no t'],
    [`t=${NOW},t=${NOW},v1=${v1}`, 'two t'],
    [`t=${NOW}.5,v1=${v1}`, 'non-integer t'],
    [`t=-${NOW},v1=${v1}`, 'negative t'],
    [`t=abc,v1=${v1}`, 't not a number'],
    [`t=,v1=${v1}`, 'empty t'],
    [`t=99999999999999999999,v1=${v1}`, 't beyond a safe integer'],
    [`t=${NOW}`, 'no v1'],
    [`t=${NOW},v1=${'g'.repeat(64)}`, 'v1 not hex'],
    [`t=${NOW},v1=${v1.toUpperCase()}`, 'v1 upper-case hex'],
    [`t=${NOW},v1=${v1.slice(0, 63)}`, 'v1 too short'],
    [`t=${NOW},v1=${v1}0`, 'v1 too long'],
    [`t=${NOW},v1=${v1},v1=`, 'one good and one empty v1'],
    [`t=${NOW},,v1=${v1}`, 'an empty part'],
    [`t=${NOW},=x,v1=${v1}`, 'an empty key'],
    ['garbage', 'garbage'],
    [`t${NOW}v1${v1}`, 'no separators']
  ]
  for (const [header, why] of cases) {
    t.same(verifySignature(header, BODY, SECRET, NOW), malformed, why)
  }
})

t.test('the freshness window, both ways', async (t) => {
  const tolerance = SIGNATURE_TOLERANCE_SECONDS
  t.equal(tolerance, 300)
  const old = signPayload(SECRET, NOW - 301, BODY)
  const ahead = signPayload(SECRET, NOW + 301, BODY)
  t.same(verifySignature(old, BODY, SECRET, NOW), { ok: false, problem: 'STALE' }, '301 s old')
  t.same(verifySignature(ahead, BODY, SECRET, NOW), { ok: false, problem: 'STALE' }, '301 s in the future')
  t.same(verifySignature(signPayload(SECRET, NOW - 299, BODY), BODY, SECRET, NOW), { ok: true, timestamp: NOW - 299 })
  t.same(verifySignature(signPayload(SECRET, NOW + 299, BODY), BODY, SECRET, NOW), { ok: true, timestamp: NOW + 299 })
  t.same(verifySignature(signPayload(SECRET, NOW - 300, BODY), BODY, SECRET, NOW), { ok: true, timestamp: NOW - 300 },
    'exactly at the tolerance is still accepted')
  t.same(verifySignature(old, BODY, SECRET, NOW, 400), { ok: true, timestamp: NOW - 301 }, 'a custom tolerance')
  t.same(verifySignature(old, BODY, 'wrong secret', NOW), { ok: false, problem: 'STALE' },
    'freshness is judged before the HMAC')
})

t.test('wrong secret or altered body', async (t) => {
  const header = signPayload(SECRET, NOW, BODY)
  t.same(verifySignature(header, BODY, 'another-secret', NOW), { ok: false, problem: 'MISMATCH' })

  const bytes = Buffer.from(BODY, 'utf8')
  bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0x01
  t.same(verifySignature(header, bytes, SECRET, NOW), { ok: false, problem: 'MISMATCH' }, 'one byte changed')
  t.same(verifySignature(header, BODY.replace('2000', '2001'), SECRET, NOW), { ok: false, problem: 'MISMATCH' },
    'the amount changed')
  t.same(verifySignature(header, `${BODY} `, SECRET, NOW), { ok: false, problem: 'MISMATCH' }, 'trailing space added')

  const v1 = hmacHex(SECRET, `${NOW}.${BODY}`)
  t.same(verifySignature(`t=${NOW + 1},v1=${v1}`, BODY, SECRET, NOW), { ok: false, problem: 'MISMATCH' },
    'the timestamp is covered by the HMAC')
})

t.test('the HMAC covers t exactly as sent', async (t) => {
  const padded = `0${NOW}`
  const header = `t=${padded},v1=${hmacHex(SECRET, `${padded}.${BODY}`)}`
  t.same(verifySignature(header, BODY, SECRET, NOW), { ok: true, timestamp: NOW })
})

t.test('several v1 values: any match is enough (secret rotation)', async (t) => {
  const right = hmacHex(SECRET, `${NOW}.${BODY}`)
  const wrong = hmacHex('old-secret', `${NOW}.${BODY}`)
  t.same(verifySignature(`t=${NOW},v1=${wrong},v1=${right}`, BODY, SECRET, NOW), { ok: true, timestamp: NOW })
  t.same(verifySignature(`t=${NOW},v1=${right},v1=${wrong}`, BODY, SECRET, NOW), { ok: true, timestamp: NOW })
  t.same(verifySignature(`t=${NOW},v1=${wrong},v1=${wrong}`, BODY, SECRET, NOW), { ok: false, problem: 'MISMATCH' })
})

t.test('programming errors throw', async (t) => {
  t.throws(() => signPayload('', NOW, BODY), TypeError)
  t.throws(() => verifySignature(signPayload(SECRET, NOW, BODY), BODY, '', NOW), TypeError)
  t.throws(() => signPayload(SECRET, NOW + 0.5, BODY), RangeError)
  t.throws(() => signPayload(SECRET, -1, BODY), RangeError)
  t.throws(() => signPayload(SECRET, Number.NaN, BODY), RangeError)
})
