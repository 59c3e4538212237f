// Information changes (信息变更): only fields that really change are listed, each before and after masked for the audit trail.
import t from 'tap'
import type { Identity } from '../../src/domain/identity.js'
import { FIELD_NAMES, planInfoChange, type ChangedField } from '../../src/domain/info-change.js'

const current: { identity: Identity; phone: string } = {
  identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: '440106198001010017', name: '张三丰' },
  phone: '13800138000'
}
const NEW_ID = '440104199001011234'

const byField = (changes: Array<{ field: ChangedField }>) => [...changes].sort((a, b) => a.field.localeCompare(b.field))

t.test('a name change lists the name only, masked', async (t) => {
  const plan = planInfoChange(current, { name: '张四丰' })
  t.same(plan.changes, [{ field: 'name', before: '张*丰', after: '张*丰' }])
  t.same(plan.next, { identity: { ...current.identity, name: '张四丰' }, phone: current.phone }, 'everything else is kept')
  t.same(planInfoChange(current, { name: '李四' }).changes, [{ field: 'name', before: '张*丰', after: '李*' }])
  t.same(planInfoChange(current, { name: '欧阳娜娜' }).changes, [{ field: 'name', before: '张*丰', after: '欧**娜' }])
})

t.test('a phone change is masked 138****8000', async (t) => {
  const plan = planInfoChange(current, { phone: '13900139000' })
  t.same(plan.changes, [{ field: 'phone', before: '138****8000', after: '139****9000' }])
  t.same(plan.next, { identity: current.identity, phone: '13900139000' })
})

t.test('an ID number change is masked 44*****NN; country/region and type stay unmasked', async (t) => {
  const plan = planInfoChange(current, { identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: NEW_ID } })
  t.same(plan.changes, [{ field: 'idNumber', before: '44*****17', after: '44*****34' }], 'same country and type are not changes')
  t.same(plan.next.identity, { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: NEW_ID, name: '张三丰' }, 'the name is merged from the current record')

  const permit = planInfoChange(current, { identity: { countryRegion: 'HKG', idType: 'HK_MACAO_PERMIT', idNumber: 'H12345678' } })
  t.same(byField(permit.changes), [
    { field: 'countryRegion', before: 'CHN', after: 'HKG' },
    { field: 'idNumber', before: '44*****17', after: 'H*****8' },
    { field: 'idType', before: 'RESIDENT_ID_CARD', after: 'HK_MACAO_PERMIT' }
  ])
  t.same(permit.next, { identity: { countryRegion: 'HKG', idType: 'HK_MACAO_PERMIT', idNumber: 'H12345678', name: '张三丰' }, phone: '13800138000' })
})

t.test('several fields at once; unchanged values are left out', async (t) => {
  const plan = planInfoChange(current, {
    name: '李四', phone: current.phone, identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: NEW_ID }
  })
  t.same(byField(plan.changes), [
    { field: 'idNumber', before: '44*****17', after: '44*****34' },
    { field: 'name', before: '张*丰', after: '李*' }
  ])
  t.same(plan.next, { identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: NEW_ID, name: '李四' }, phone: '13800138000' })
})

t.test('the same values change nothing', async (t) => {
  t.same(planInfoChange(current, {}).changes, [])
  t.same(planInfoChange(current, { name: '张三丰', phone: '13800138000' }).changes, [])
  t.same(planInfoChange(current, { identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: current.identity.idNumber } }).changes, [])
  t.same(planInfoChange(current, {}).next, current)
})

t.test('no plain value reaches the change list', async (t) => {
  const plan = planInfoChange(current, { name: '李四', phone: '13900139000', identity: { countryRegion: 'CHN', idType: 'RESIDENT_ID_CARD', idNumber: NEW_ID } })
  t.equal(plan.changes.length, 3)
  const text = JSON.stringify(plan.changes)
  for (const plain of ['张三丰', '李四', '13800138000', '13900139000', current.identity.idNumber, NEW_ID]) {
    t.notOk(text.includes(plain), `${plain.slice(0, 2)}… is not in the change list`)
  }
})

t.test('the planner does not touch its inputs', async (t) => {
  const before = JSON.stringify(current)
  planInfoChange(current, { name: '李四', identity: { countryRegion: 'HKG', idType: 'HK_MACAO_PERMIT', idNumber: 'H12345678' } })
  t.equal(JSON.stringify(current), before)
})

t.test('every field has a Chinese name for the timeline', async (t) => {
  t.same(FIELD_NAMES['zh-CN'], { name: '姓名', phone: '手机号码', countryRegion: '国家/地区', idType: '证件类型', idNumber: '证件号码' })
  t.same(Object.keys(FIELD_NAMES.en).sort(), Object.keys(FIELD_NAMES['zh-CN']).sort(), 'both languages name every field')
})
