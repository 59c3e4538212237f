// Tests for identity normalisation, validation and the lookup key.

import t, { type Test } from 'tap'
import {
  ID_TYPES,
  type Identity,
  type IdentityIssue,
  identityLookupKey,
  isIdType,
  normalizeIdentity,
  validateIdentity
} from '../../src/domain/identity.js'
import { mod11_2CheckChar } from '../../src/domain/iso7064.js'

const withCheck = (body: string): string => body + mod11_2CheckChar(body)
const wrongCheck = (body: string): string => body + (mod11_2CheckChar(body) === '0' ? '1' : '0')

const VALID_ID = '11010519491231002X'

function person (overrides: Partial<Identity> = {}): Identity {
  return { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: VALID_ID, name: '张三', ...overrides }
}

const codes = (issues: IdentityIssue[]): string[] => issues.map((i) => `${i.field}:${i.code}`)

// Every issue message goes to clients and logs: no part of the identity may appear in it.
function assertNoLeak (t: Test, identity: Identity, issues: IdentityIssue[]): void {
  const n = identity.idNumber.trim().toUpperCase()
  for (const issue of issues) {
    t.notOk(issue.message.includes(identity.idNumber), `message hides the ID number (${issue.code})`)
    for (let i = 0; i + 4 <= n.length; i++) {
      if (issue.message.toUpperCase().includes(n.slice(i, i + 4))) {
        t.fail(`message contains part of the ID number (${issue.code})`)
      }
    }
    if (identity.name.trim().length > 0) {
      t.notOk(issue.message.includes(identity.name.trim()), `message hides the name (${issue.code})`)
    }
  }
}

interface CheckOptions {
  today?: string
  note?: string
}

function check (t: Test, identity: Identity, expected: string[], options: CheckOptions = {}): void {
  const issues = options.today === undefined
    ? validateIdentity(identity)
    : validateIdentity(identity, { today: options.today })
  t.same(codes(issues), expected, options.note ?? `${identity.idType} ${expected.join(',') || 'valid'}`)
  assertNoLeak(t, identity, issues)
}

t.test('ID_TYPES matches the API enumeration', async (t) => {
  t.same([...ID_TYPES], ['RESIDENT_ID_CARD', 'HK_MACAO_PERMIT', 'TAIWAN_PERMIT', 'FOREIGN_PERMANENT_RESIDENT_ID', 'PASSPORT'])
  t.equal(isIdType('PASSPORT'), true)
  t.equal(isIdType('passport'), false)
  t.equal(isIdType(42), false)
})

t.test('normalizeIdentity', async (t) => {
  t.same(normalizeIdentity({
    countryRegion: ' chn ',
    idType: ' RESIDENT_ID_CARD ',
    idNumber: ' 11010519491231002x\t',
    name: '  张\u3000 三 '
  } as unknown as Identity), { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: VALID_ID, name: '张 三' })
  t.equal(normalizeIdentity(person({ name: 'Jose\u0301  Garci\u0301a' })).name, 'José García', 'NFC')
  const input = person({ name: ' 张三 ' })
  normalizeIdentity(input)
  t.equal(input.name, ' 张三 ', 'input is not mutated')
  t.same(normalizeIdentity({} as unknown as Identity), { countryRegion: '', idType: '', idNumber: '', name: '' },
    'non-strings become empty')
})

t.test('valid identities of every type', async (t) => {
  const valid: Identity[] = [
    person(),
    person({ idNumber: withCheck('44010419900101123') }),
    person({ idNumber: withCheck('44010420000229123') }),
    person({ idNumber: withCheck('44010419000101123') }),
    person({ idNumber: ' 11010519491231002x ', countryRegion: 'chn', name: ' 张  三 ' }),
    person({ idType: 'HK_MACAO_PERMIT', countryRegion: 'HKG', idNumber: withCheck('81000019900101123') }),
    person({ idType: 'HK_MACAO_PERMIT', countryRegion: 'MAC', idNumber: withCheck('82000019900101123') }),
    person({ idType: 'HK_MACAO_PERMIT', countryRegion: 'HKG', idNumber: 'H12345678' }),
    person({ idType: 'HK_MACAO_PERMIT', countryRegion: 'MAC', idNumber: 'M1234567801' }),
    person({ idType: 'TAIWAN_PERMIT', countryRegion: 'TWN', idNumber: withCheck('83000019900101123') }),
    person({ idType: 'TAIWAN_PERMIT', countryRegion: 'CHN', idNumber: '12345678' }),
    person({ idType: 'FOREIGN_PERMANENT_RESIDENT_ID', countryRegion: 'USA', idNumber: 'USA110079010101', name: 'John Smith' }),
    person({ idType: 'FOREIGN_PERMANENT_RESIDENT_ID', countryRegion: 'USA', idNumber: withCheck('91234519900101123'), name: "Mary O'Neil-Brown" }),
    person({ idType: 'PASSPORT', countryRegion: 'GBR', idNumber: 'AB123', name: 'Ann' }),
    person({ idType: 'PASSPORT', countryRegion: 'DEU', idNumber: 'C01X00T478ABCDEFG', name: 'Jürgen Groß' }),
    person({ name: '阿卜杜拉·艾买提' }),
    person({ name: '𠀋𠀌' }),
    person({ name: '\uE000明' }),
    person({ name: '一'.repeat(50) })
  ]
  for (const identity of valid) check(t, identity, [])
})

t.test('resident ID: format', async (t) => {
  for (const idNumber of ['11010519491231002', '11010519491231002X1', '1101051949123100XX', '11010519491231002Y', 'A1010519491231002X', '１１０１０５１９４９１２３１００２Ｘ']) {
    check(t, person({ idNumber }), ['idNumber:ID_NUMBER_FORMAT'])
  }
})

t.test('resident ID: X and wrong check characters', async (t) => {
  check(t, person({ idNumber: VALID_ID }), [])
  check(t, person({ idNumber: '110105194912310020' }), ['idNumber:ID_CHECK_CHARACTER'])
  check(t, person({ idNumber: wrongCheck('44010419900101123') }), ['idNumber:ID_CHECK_CHARACTER'])
  const [issue] = validateIdentity(person({ idNumber: '110105194912310020' }))
  t.match(issue?.message, /check character is wrong/)
})

t.test('resident ID: every single-character change is rejected', async (t) => {
  const alphabet = '0123456789X'
  let changes = 0
  for (let pos = 0; pos < VALID_ID.length; pos++) {
    for (const c of alphabet) {
      if (c === VALID_ID[pos]) continue
      const changed = VALID_ID.slice(0, pos) + c + VALID_ID.slice(pos + 1)
      const issues = validateIdentity(person({ idNumber: changed }))
      changes++
      if (issues.length === 0) t.fail(`change at position ${pos} was accepted`)
      assertNoLeak(t, person({ idNumber: changed }), issues)
    }
  }
  t.equal(changes, 17 * 10 + 10, 'all positions and characters tried')
})

t.test('resident ID: birth date', async (t) => {
  const bad = (date: string): void =>
    check(t, person({ idNumber: withCheck(`440104${date}123`) }), ['idNumber:ID_BIRTH_DATE'])
  bad('19900230')
  bad('19000229')
  bad('19970229')
  bad('19900431')
  bad('19901301')
  bad('19900001')
  bad('19900100')
  bad('18991231')
  check(t, person({ idNumber: withCheck('44010419960229123') }), [])
  check(t, person({ idNumber: withCheck('44010419900131123') }), [])
  check(t, person({ idNumber: withCheck('44010419901231123') }), [])
  check(t, person({ idNumber: withCheck('44010419900930123') }), [])
  check(t, person({ idNumber: '440104199002301230' }), ['idNumber:ID_BIRTH_DATE', 'idNumber:ID_CHECK_CHARACTER'],
    { note: 'both problems are reported' })
})

t.test('resident ID: birth date against today', async (t) => {
  const id = withCheck('44010420250115123')
  check(t, person({ idNumber: id }), [], { today: '2025-01-15' })
  check(t, person({ idNumber: id }), ['idNumber:ID_BIRTH_DATE'], { today: '2025-01-14' })
  t.same(validateIdentity(person({ idNumber: id }), {}), [], 'no today: no upper bound')
  check(t, person({ idNumber: withCheck('44010430000101123') }), [])
  check(t, person({ idNumber: withCheck('44010430000101123') }), ['idNumber:ID_BIRTH_DATE'], { today: '2025-12-31' })
  for (const today of ['2025-02-30', '2025-1-15', '20250115', '', '2025-13-01']) {
    t.throws(() => validateIdentity(person(), { today }), RangeError, `today ${JSON.stringify(today)}`)
  }
})

t.test('resident ID requires CHN', async (t) => {
  check(t, person({ countryRegion: 'HKG' }), ['countryRegion:COUNTRY_REGION_MISMATCH'])
})

t.test('country or region', async (t) => {
  for (const countryRegion of ['CN', 'CHNA', '156', 'C1N', 'ÇHN']) {
    check(t, person({ countryRegion }), ['countryRegion:COUNTRY_REGION_FORMAT'])
  }
  check(t, person({ countryRegion: ' ' }), ['countryRegion:REQUIRED'])
})

t.test('ID type', async (t) => {
  check(t, person({ idType: 'DRIVING_LICENCE' as Identity['idType'] }), ['idType:ID_TYPE_UNKNOWN'])
  check(t, person({ idType: 'resident_id_card' as Identity['idType'] }), ['idType:ID_TYPE_UNKNOWN'])
  check(t, person({ idType: '' as Identity['idType'] }), ['idType:REQUIRED'])
})

t.test('Hong Kong/Macao permits', async (t) => {
  const hk = (idNumber: string): Identity => person({ idType: 'HK_MACAO_PERMIT', countryRegion: 'HKG', idNumber })
  check(t, hk(wrongCheck('81000019900101123')), ['idNumber:ID_CHECK_CHARACTER'])
  check(t, hk(wrongCheck('82000019900101123')), ['idNumber:ID_CHECK_CHARACTER'])
  for (const bad of [withCheck('83000019900101123'), withCheck('44010419900101123'), 'H1234567', 'H123456789', 'M123456780', 'H1234567801X', 'C12345678', '12345678']) {
    check(t, hk(bad), ['idNumber:ID_NUMBER_FORMAT'])
  }
})

t.test('Taiwan permits', async (t) => {
  const tw = (idNumber: string): Identity => person({ idType: 'TAIWAN_PERMIT', countryRegion: 'TWN', idNumber })
  check(t, tw(wrongCheck('83000019900101123')), ['idNumber:ID_CHECK_CHARACTER'])
  for (const bad of [withCheck('81000019900101123'), '1234567', '123456789', 'T1234567', 'H12345678']) {
    check(t, tw(bad), ['idNumber:ID_NUMBER_FORMAT'])
  }
})

t.test('foreign permanent resident IDs', async (t) => {
  const fr = (idNumber: string): Identity =>
    person({ idType: 'FOREIGN_PERMANENT_RESIDENT_ID', countryRegion: 'USA', idNumber, name: 'John Smith' })
  check(t, fr('usa110079010101'), [], { note: 'lower case is normalised' })
  check(t, fr(wrongCheck('91234519900101123')), ['idNumber:ID_CHECK_CHARACTER'])
  for (const bad of ['US1100790101011', 'USA11007901010', 'USA1100790101011', withCheck('81234519900101123'), '9123451990010112', 'U5A110079010101']) {
    check(t, fr(bad), ['idNumber:ID_NUMBER_FORMAT'])
  }
})

t.test('passports', async (t) => {
  const pp = (idNumber: string): Identity =>
    person({ idType: 'PASSPORT', countryRegion: 'GBR', idNumber, name: 'Ann Lee' })
  check(t, pp('e12345678'), [], { note: 'lower case is normalised' })
  for (const bad of ['AB12', 'A'.repeat(18), 'AB-12345', 'AB 12345', 'É1234567']) {
    check(t, pp(bad), ['idNumber:ID_NUMBER_FORMAT'])
  }
})

t.test('ID number required, and not checked without a known type', async (t) => {
  check(t, person({ idNumber: '   ' }), ['idNumber:REQUIRED'])
  check(t, person({ idType: 'NOPE' as Identity['idType'], idNumber: 'whatever' }), ['idType:ID_TYPE_UNKNOWN'])
})

t.test('name', async (t) => {
  check(t, person({ name: ' \t ' }), ['name:REQUIRED'])
  check(t, person({ name: '一'.repeat(51) }), ['name:NAME_TOO_LONG'])
  check(t, person({ name: '𠀋'.repeat(50) }), [], { note: 'length counts code points, not UTF-16 units' })
  check(t, person({ name: `${'一'.repeat(25)}     ${'一'.repeat(24)}` }), [], { note: 'length is measured after collapsing spaces' })
  check(t, person({ name: '张三\u0000' }), ['name:NAME_CONTROL_CHARACTER'])
  check(t, person({ name: '张\u202E三' }), ['name:NAME_CONTROL_CHARACTER'], { note: 'bidi override' })
  check(t, person({ name: '张\u200B三' }), ['name:NAME_CONTROL_CHARACTER'], { note: 'zero-width space' })
  check(t, person({ name: '张\uD800三' }), ['name:NAME_CONTROL_CHARACTER'], { note: 'lone surrogate' })
  check(t, person({ name: '张三2' }), ['name:NAME_DIGIT'])
  check(t, person({ name: '张三２' }), ['name:NAME_DIGIT'], { note: 'full-width digit' })
  check(t, person({ name: `${'9'.repeat(51)}\u0007` }), ['name:NAME_TOO_LONG', 'name:NAME_CONTROL_CHARACTER', 'name:NAME_DIGIT'])
})

t.test('non-string fields from loosely typed callers are reported, not thrown', async (t) => {
  const identity = { countryRegion: 7, idType: null, idNumber: undefined, name: {} } as unknown as Identity
  t.same(codes(validateIdentity(identity)),
    ['countryRegion:REQUIRED', 'idType:REQUIRED', 'idNumber:REQUIRED', 'name:REQUIRED'])
})

t.test('identityLookupKey', async (t) => {
  t.equal(identityLookupKey(person()), `CHN|RESIDENT_ID_CARD|${VALID_ID}`)
  t.equal(identityLookupKey(person({ countryRegion: ' chn', idNumber: '11010519491231002x ', name: '李四' })),
    identityLookupKey(person()), 'normalised, and the name does not matter')
  t.not(identityLookupKey(person({ idType: 'PASSPORT' })), identityLookupKey(person()), 'the type matters')
  t.notMatch(identityLookupKey(person()), /张三/)
})
