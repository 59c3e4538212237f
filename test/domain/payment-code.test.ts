// Payment identification codes (缴款识别码): composition, issuing with skipped sequences, and checking.

import t from 'tap'
import fc from 'fast-check'
import { mod11_2CheckValue } from '../../src/domain/iso7064.js'
import {
  PAYMENT_CODE_LENGTH,
  checkPaymentCode,
  composePaymentCode,
  issuePaymentCode
} from '../../src/domain/payment-code.js'

const NUM_RUNS = 500

const region = fc.stringMatching(/^[0-9]{6}$/)
const year2 = fc.stringMatching(/^[0-9]{2}$/)
const sequence = fc.bigInt({ min: 1n, max: 99_999_999_999n })

/** A fake database sequence handing out the given values in order, counting the calls. */
function fakeSequence (...values: bigint[]): { next: () => Promise<bigint>; calls: () => number } {
  let calls = 0
  return {
    next: async () => {
      const value = values[Math.min(calls, values.length - 1)]
      calls++
      if (value === undefined) throw new Error('fake sequence is empty')
      return value
    },
    calls: () => calls
  }
}

t.test('the seed notice code', async (t) => {
  t.equal(PAYMENT_CODE_LENGTH, 20)
  t.same(checkPaymentCode('44010024000012155182'), {
    ok: true, regionCode: '440100', year2: '24', sequence: 1215518n
  }, '440100 | 24 | 00001215518 | 2')
  t.same(checkPaymentCode('44010024000012155183'), { ok: false, problem: 'CHECK_DIGIT' })
  t.equal(composePaymentCode('440100', '24', 1215518n), '44010024000012155182')
  t.equal(composePaymentCode('440100', '24', 1215518), '44010024000012155182', 'a number sequence works too')
})

t.test('compose then check round-trips, at both ends of the sequence range', async (t) => {
  const cases: Array<[bigint, string]> = [
    [2n, '44010026000000000020'],
    [12345678901n, '44010026123456789015'],
    [99_999_999_999n, '44010026999999999998']
  ]
  for (const [seq, expected] of cases) {
    const code = composePaymentCode('440100', '26', seq)
    t.equal(code, expected)
    t.same(checkPaymentCode(expected), { ok: true, regionCode: '440100', year2: '26', sequence: seq })
  }
})

t.test('sequences whose check value is 10 are skipped', async (t) => {
  // Found by search: for 440100/24 the very first sequence would need 'X'.
  t.equal(mod11_2CheckValue('4401002400000000001'), 10)
  t.equal(composePaymentCode('440100', '24', 1n), null)
  t.equal(composePaymentCode('440100', '24', 28n), null)
  t.equal(composePaymentCode('440100', '24', 2n), '44010024000000000028')

  const seq = fakeSequence(1n, 2n)
  t.equal(await issuePaymentCode('440100', '2024-12-01', seq.next), '44010024000000000028')
  t.equal(seq.calls(), 2, 'the skipped sequence is not used and the next one is taken')

  const direct = fakeSequence(3n)
  t.equal(await issuePaymentCode('440100', '2026-12-01', direct.next), '44010026000000000039',
    'the year comes from the business date')
  t.equal(direct.calls(), 1)
})

t.test('issuing gives up on a sequence source that keeps returning unusable values', async (t) => {
  const stuck = fakeSequence(1n)
  await t.rejects(issuePaymentCode('440100', '2024-05-05', stuck.next), /no usable payment code sequence after 20 attempts/)
  t.equal(stuck.calls(), 20)
})

t.test('issuing refuses bad arguments before drawing a sequence number', async (t) => {
  const seq = fakeSequence(2n)
  await t.rejects(issuePaymentCode('44010', '2024-05-05', seq.next), RangeError)
  await t.rejects(issuePaymentCode('440100', '24-05-05', seq.next), RangeError)
  await t.rejects(issuePaymentCode('440100', '２０２４-05-05', seq.next), RangeError)
  t.equal(seq.calls(), 0)
  await t.rejects(issuePaymentCode('440100', '2024-05-05', fakeSequence(0n).next), RangeError,
    'an out-of-range sequence from the source is an error, not a code')
})

t.test('compose refuses malformed parts', async (t) => {
  t.throws(() => composePaymentCode('44010', '24', 2n), RangeError)
  t.throws(() => composePaymentCode('4401000', '24', 2n), RangeError)
  t.throws(() => composePaymentCode('44010A', '24', 2n), RangeError)
  t.throws(() => composePaymentCode('４４０１００', '24', 2n), RangeError)
  t.throws(() => composePaymentCode('440100', '2', 2n), RangeError)
  t.throws(() => composePaymentCode('440100', '2024', 2n), RangeError)
  t.throws(() => composePaymentCode('440100', '２4', 2n), RangeError)
  t.throws(() => composePaymentCode('440100', '24', 0n), RangeError)
  t.throws(() => composePaymentCode('440100', '24', -1n), RangeError)
  t.throws(() => composePaymentCode('440100', '24', 100_000_000_000n), RangeError)
  t.throws(() => composePaymentCode('440100', '24', 0), RangeError)
  t.throws(() => composePaymentCode('440100', '24', 100_000_000_000), RangeError)
  t.throws(() => composePaymentCode('440100', '24', 1.5), RangeError)
  t.throws(() => composePaymentCode('440100', '24', Number.NaN), RangeError)
  t.throws(() => composePaymentCode('440100', '24', Number.POSITIVE_INFINITY), RangeError)
})

t.test('FORMAT problems', async (t) => {
  const format = { ok: false, problem: 'FORMAT' }
  t.same(checkPaymentCode(''), format)
  t.same(checkPaymentCode('4401002400001215518'), format, '19 digits')
  t.same(checkPaymentCode('440100240000121551820'), format, '21 digits')
  t.same(checkPaymentCode('4401002400001215518X'), format, 'an X check character is never issued')
  t.same(checkPaymentCode('44010024000O12155182'), format, 'a letter O')
  t.same(checkPaymentCode('４4010024000012155182'), format, 'a full-width digit')
  t.same(checkPaymentCode('4401002400 0012155182'), format, 'an inner space')
  t.same(checkPaymentCode(' 44010024000012155182'), format, 'a leading space')
  t.same(checkPaymentCode('44010024000012155182 '), format, 'a trailing space')
  t.same(checkPaymentCode('44010024000012155182\n'), format, 'a trailing newline')
})

t.test('property: composed codes validate', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(region, year2, sequence, (r, y, s) => {
    const code = composePaymentCode(r, y, s)
    fc.pre(code !== null)
    const result = checkPaymentCode(code)
    return result.ok && result.regionCode === r && result.year2 === y && result.sequence === s
  }), { numRuns: NUM_RUNS }))
})

t.test('property: every single-digit substitution is rejected', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(region, year2, sequence, (r, y, s) => {
    const code = composePaymentCode(r, y, s)
    fc.pre(code !== null)
    for (let i = 0; i < code.length; i++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === code[i]) continue
        const altered = code.slice(0, i) + String(d) + code.slice(i + 1)
        const result = checkPaymentCode(altered)
        if (result.ok || result.problem !== 'CHECK_DIGIT') return false
      }
    }
    return true
  }), { numRuns: NUM_RUNS }))
})

t.test('property: every swap of two adjacent different digits is rejected', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(region, year2, sequence, (r, y, s) => {
    const code = composePaymentCode(r, y, s)
    fc.pre(code !== null)
    for (let i = 0; i + 1 < code.length; i++) {
      if (code[i] === code[i + 1]) continue
      const swapped = code.slice(0, i) + code.charAt(i + 1) + code.charAt(i) + code.slice(i + 2)
      const result = checkPaymentCode(swapped)
      if (result.ok || result.problem !== 'CHECK_DIGIT') return false
    }
    return true
  }), { numRuns: NUM_RUNS }))
})
