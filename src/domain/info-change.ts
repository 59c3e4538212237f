// Information changes (信息变更): which key fields change, and how each one is shown in the audit trail.
import { normalizeIdentity, type Identity } from './identity.js'
import { maskIdNumber, maskName, maskPhone } from './masking.js'

export interface RequestedChanges {
  name?: string
  phone?: string
  identity?: Pick<Identity, 'countryRegion' | 'idType' | 'idNumber'>
}

export type ChangedField = 'name' | 'phone' | 'countryRegion' | 'idType' | 'idNumber'

export const FIELD_NAMES: Record<'zh-CN' | 'en', Record<ChangedField, string>> = {
  'zh-CN': { name: '姓名', phone: '手机号码', countryRegion: '国家/地区', idType: '证件类型', idNumber: '证件号码' },
  en: { name: 'name', phone: 'mobile number', countryRegion: 'country/region', idType: 'document type', idNumber: 'document number' }
}

const MASKS: Record<ChangedField, (value: string) => string> = {
  name: maskName, phone: maskPhone, idNumber: maskIdNumber, countryRegion: (v) => v, idType: (v) => v
}

export interface ChangePlan {
  next: { identity: Identity; phone: string }
  /** Each changed field, masked: what the audit trail keeps. */
  changes: Array<{ field: ChangedField; before: string; after: string }>
}

/**
 * The holder's record after the change, and the fields that really differ. The result is normalised
 * first, so 'chn' for 'CHN' or a padded name is not a change (and nobody pays for one).
 */
export function planInfoChange (current: { identity: Identity; phone: string }, requested: RequestedChanges): ChangePlan {
  const next = {
    identity: normalizeIdentity({
      countryRegion: requested.identity?.countryRegion ?? current.identity.countryRegion,
      idType: requested.identity?.idType ?? current.identity.idType,
      idNumber: requested.identity?.idNumber ?? current.identity.idNumber,
      name: requested.name ?? current.identity.name
    }),
    phone: (requested.phone ?? current.phone).trim()
  }
  const before: Record<ChangedField, string> = { ...current.identity, phone: current.phone }
  const after: Record<ChangedField, string> = { ...next.identity, phone: next.phone }
  const changes = (Object.keys(MASKS) as ChangedField[])
    .filter((field) => before[field] !== after[field])
    .map((field) => ({ field, before: MASKS[field](before[field]), after: MASKS[field](after[field]) }))
  return { next, changes }
}
