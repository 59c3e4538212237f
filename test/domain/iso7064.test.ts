// Tests for the ISO 7064 MOD 11-2 check character.

import t from 'tap'
import fc from 'fast-check'
import { isValidMod11_2, mod11_2CheckChar, mod11_2CheckValue } from '../../src/domain/iso7064.js'

t.test('payment code from the seed notice', async (t) => {
  t.equal(isValidMod11_2('44010024000012155182'), true)
  t.equal(isValidMod11_2('44010024000012155183'), false)
  t.equal(mod11_2CheckValue('4401002400001215518'), 2)
  t.equal(mod11_2CheckChar('4401002400001215518'), '2')
})

t.test('resident ID with X check character', async (t) => {
  t.equal(mod11_2CheckValue('11010519491231002'), 10)
  t.equal(mod11_2CheckChar('11010519491231002'), 'X')
  t.equal(isValidMod11_2('11010519491231002X'), true)
  t.equal(isValidMod11_2('11010519491231002x'), false, 'lower-case x is for callers to normalise')
  t.equal(isValidMod11_2('110105194912310020'), false)
})

t.test('agrees with the GB 11643 weight table for 17-digit bodies', async (t) => {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  t.doesNotThrow(() => fc.assert(fc.property(fc.stringMatching(/^\d{17}$/), (body) => {
    const sum = weights.reduce((acc, w, i) => acc + w * Number(body[i]), 0)
    return mod11_2CheckValue(body) === (12 - (sum % 11)) % 11
  })))
})

t.test('a body followed by its check character is always valid', async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(fc.stringMatching(/^\d{1,30}$/), (body) =>
    isValidMod11_2(body + mod11_2CheckChar(body)))))
})

t.test('malformed input', async (t) => {
  t.equal(isValidMod11_2(''), false)
  t.equal(isValidMod11_2('5'), false)
  t.equal(isValidMod11_2('44010A24000012155182'), false)
  t.equal(isValidMod11_2('4401002400001215518Y'), false)
  t.throws(() => mod11_2CheckValue(''), TypeError)
  t.throws(() => mod11_2CheckValue('12a4'), TypeError)
  t.throws(() => mod11_2CheckChar('１２３'), TypeError, 'full-width digits are not digits here')
})
