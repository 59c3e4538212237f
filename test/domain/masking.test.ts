// Tests for masking personal data in responses.

import t from 'tap'
import { maskCardNumber, maskIdNumber, maskName, maskPhone } from '../../src/domain/masking.js'

t.test('ID numbers: first two, five stars, last two (one and one under ten characters)', async (t) => {
  t.equal(maskIdNumber('440104199001011234'), '44*****34')
  t.equal(maskIdNumber('11010519491231002X'), '11*****2X')
  t.equal(maskIdNumber('H12345678'), 'H*****8')
  t.equal(maskIdNumber('AB123'), 'A*****3', 'a short number shows one character at each end')
  t.equal(maskIdNumber('E12345678'), 'E*****8')
  t.equal(maskIdNumber('H123456789'), 'H1*****89')
  t.equal(maskIdNumber('1234'), '****')
  t.equal(maskIdNumber('1'), '****')
  t.equal(maskIdNumber(''), '****')
})

t.test('card numbers use the ID number rule', async (t) => {
  t.equal(maskCardNumber('A12345678'), 'A*****8')
  t.equal(maskCardNumber('A1234567890'), 'A1*****90')
  t.equal(maskCardNumber('A123'), '****')
})

t.test('names', async (t) => {
  t.equal(maskName('张三丰'), '张*丰')
  t.equal(maskName('杨过'), '杨*')
  t.equal(maskName('欧阳娜娜'), '欧**娜')
  t.equal(maskName('阿卜杜拉·艾买提'), '阿******提')
  t.equal(maskName('张'), '*')
  t.equal(maskName(''), '')
  t.equal(maskName('John Smith'), 'J********h')
  t.equal(maskName('Al'), 'A*')
})

t.test('names outside the BMP are masked by code point', async (t) => {
  t.equal(maskName('𠀋𠀌𠀍'), '𠀋*𠀍')
  t.equal(maskName('𠀋𠀌'), '𠀋*')
  t.equal(maskName('𠀋'), '*')
  t.equal(maskName('张𠀌丰'), '张*丰')
  const masked = maskName('𠀋𠀌𠀍')
  t.notMatch(masked, /\p{Cs}/u, 'no lone surrogate')
  t.equal(maskIdNumber('𠀋𠀌123456𠀍𠀎'), '𠀋𠀌*****𠀍𠀎')
})

t.test('phones: first three, four stars, last four', async (t) => {
  t.equal(maskPhone('13800138000'), '138****8000')
  t.equal(maskPhone('13812341234'), '138****1234')
  t.equal(maskPhone('02083331234'), '020****1234')
  t.equal(maskPhone('1234567'), '****')
  t.equal(maskPhone(''), '****')
})
