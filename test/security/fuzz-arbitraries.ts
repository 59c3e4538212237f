// Contract fuzzing harness: operations read from the committed OpenAPI document, fast-check generators of valid and broken
// requests derived from their schemas, a database fingerprint, and the checks every answer must pass.
import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { sql } from 'drizzle-orm'
import fc from 'fast-check'
import { rowsOf, type Database } from '../../src/db/client.js'
import type { DevTokenRequest } from '../../src/dev/claims.js'
import { residentIdentity } from '../helper.js'

// ---------------------------------------------------------------------------------------------------------------------
// The contract

export interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  minProperties?: number
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  uniqueItems?: boolean
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  enum?: unknown[]
  const?: unknown
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  default?: unknown
  $ref?: string
}

export interface Parameter { name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: JsonSchema }

export interface Operation {
  id: string
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  /** OpenAPI path template, e.g. `/v1/holders/{holderId}`. */
  path: string
  parameters: Parameter[]
  /** The request body's media type and schema, when the operation takes one. */
  body?: { contentType: string; schema: JsonSchema }
  /** Anonymous (`[]`), bearer, or the payment platform's signature. */
  auth: 'none' | 'bearer' | 'signature'
  /** Server-Sent Events: a request that reaches the handler never ends, so only refused ones are sent. */
  streaming: boolean
  /** Methods the document does not declare on this path (HEAD aside, which has no body to judge). */
  undeclaredMethods: string[]
}

const METHODS = ['get', 'post', 'patch', 'put', 'delete'] as const

/** Every operation of the document, with `$ref`s resolved (the document inlines its schemas today). */
export function loadOperations (file: URL = new URL('../../openapi/openapi.json', import.meta.url)): Operation[] {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { paths: Record<string, Record<string, unknown>> }
  const resolve = <T>(value: T): T => {
    if (Array.isArray(value)) return value.map(resolve) as T
    if (value === null || typeof value !== 'object') return value
    const ref = (value as { $ref?: unknown }).$ref
    if (typeof ref === 'string') {
      const target = ref.replace(/^#\//, '').split('/').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key.replaceAll('~1', '/').replaceAll('~0', '~')], doc)
      return resolve(target as T)
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)])) as T
  }
  const operations: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = resolve(item[method] as Record<string, unknown> | undefined)
      if (op === undefined) continue
      const content = (op.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined)?.content ?? {}
      const [contentType, media] = Object.entries(content)[0] ?? []
      const security = (op.security as Array<Record<string, unknown>> | undefined) ?? []
      const schemes = security.flatMap((s) => Object.keys(s))
      const responses = Object.values((op.responses ?? {}) as Record<string, { content?: Record<string, unknown> }>)
      operations.push({
        id: String(op.operationId),
        method: method.toUpperCase() as Operation['method'],
        path,
        parameters: ((op.parameters ?? []) as Array<Parameter & { required?: boolean }>).map((p) => ({ name: p.name, in: p.in, required: p.required === true, schema: p.schema })),
        ...(contentType === undefined || media === undefined ? {} : { body: { contentType, schema: media.schema } }),
        auth: schemes.includes('paymentSignature') ? 'signature' : schemes.includes('bearerAuth') ? 'bearer' : 'none',
        streaming: responses.some((r) => r.content?.['text/event-stream'] !== undefined),
        undeclaredMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter((m) => item[m.toLowerCase()] === undefined)
      })
    }
  }
  return operations
}

/** The body validator of the contract: strict like the service's (no coercion, no defaults filled in). */
export function contractValidator (schema: JsonSchema): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false })
  addFormats.default(ajv)
  return ajv.compile(schema)
}

// ---------------------------------------------------------------------------------------------------------------------
// Odd values

/** Printed verbatim by `serialize`: numbers and nestings JSON.stringify cannot produce (-0, 1e400, 100 000 levels). */
export class Raw {
  constructor (readonly text: string) {}
  toJSON (): string { return `<raw ${short(this.text, 40)}>` }
}

export const ODD_STRINGS = [
  '\uD800', '\uDFFF', 'a\uD800b', '\uDBFF\uDBFF', '\u0000', 'a\u0000b', '\u202Eevil\u202C', '\u200F\u200E', '\uFEFF', '\u200B\u200D',
  '😀', '👨‍👩‍👧‍👦', '🏳️‍🌈', '１２３４５', '４４０１０６', 'Ａ１２３４５６７', 'e\u0301', '\u0301', 'İı', 'ß', 'ﬁ', '\u2028\u2029', '\r\n',
  '\t', '\u001b[31m', '\u007f', '\uFFFF', '\uFFFE', '\u{10FFFF}', '𠀀𪚥', '٤٤٠', '\u00A0', '\u3000', '张\u0000三', 'Z̷̢͈a̸l̵g̶o̴',
  "' or 1=1 --", "'; drop table holders; --", '" OR ""="', '$1', '%s%s%n', '{{7*7}}', '${7*7}', '<script>alert(1)</script>',
  '../../etc/passwd', '\\', '\\u0000', '%00', '%', 'NULL', 'null', 'undefined', 'true', '0', '-1', 'NaN', 'Infinity', ' ', ''
]

/** Text that mixes the odd strings with arbitrary code points (never lone surrogates from fast-check, they come from the list). */
export const oddText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.constantFrom(...ODD_STRINGS), fc.string({ unit: 'binary', maxLength: 3 })), { minLength: 1, maxLength: 5 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }) }
)

export const hugeText: fc.Arbitrary<string> = fc.constantFrom(
  'x'.repeat(100_000), '中'.repeat(100_000), '😀'.repeat(50_000), '\u0000'.repeat(1_000), 'a\u0301'.repeat(50_000),
  '\uD800'.repeat(10_000), `${'9'.repeat(100_000)}`, 'x'.repeat(1024 * 1024 + 16)
)

const INJECTIONS = ["' or 1=1 --", "1' or '1'='1", '1; select pg_sleep(1)', '"; drop table stations; --', '$(reboot)', '`id`', '{"$gt":""}', '*', '%', '_']

/** Values of every JSON type, to put where the schema wants another. */
export const wrongTypeValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(0, 1, -1, 1.5, '', 'x', '1', 'true', 'null', true, false, null, [], {}, [null], { a: 1 }, ['x'], [[]]) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }
)

export const BOUNDARY_NUMBERS = ['-0', '-0.0', '0.0', '1e308', '-1e308', '1e309', '-1e309', '5e-324', '9007199254740992', '9007199254740993',
  '-9007199254740993', '1E+2', '1.0', '0.1', '1e-7', '123456789012345678901234567890', '2147483648', '-2147483649', '4294967296',
  '100000001', '0.49999999999999994']

// ---------------------------------------------------------------------------------------------------------------------
// Dates, ids and other formats

const pad = (n: number, width: number) => String(n).padStart(width, '0')

export const DATE_EDGES = ['0000-01-01', '0001-01-01', '1899-12-31', '1900-02-28', '1970-01-01', '2000-02-29', '2024-02-29', '2025-12-01', '2026-11-30',
  '2026-12-01', '2026-12-02', '2099-12-31', '9999-12-31']

export const DATE_TIME_EDGES = ['2026-12-01T02:00:00Z', '2026-12-01T02:00:00.000Z', '2026-12-01t02:00:00z', '2026-12-01T10:00:00+08:00',
  '2026-11-30T15:59:59.999Z', '2026-11-30T16:00:00Z', '2026-12-01 02:00:00Z', '2016-12-31T23:59:60Z', '2026-12-01T07:59:60+08:00',
  '2026-12-01T02:00:00.123456789012Z', '2026-12-01T02:00:00+23:59', '2026-12-01T02:00:00-23:59', '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '9999-12-31T23:59:59.999Z']

export const dateText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...DATE_EDGES),
  fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))
)

export const dateTimeText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...DATE_TIME_EDGES),
  fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.tuple(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: -14, max: 14 }))
    .map(([d, h]) => `${d.toISOString().slice(0, 19)}${h < 0 ? '-' : '+'}${pad(Math.abs(h), 2)}:00`)
)

/** Every spelling the `uuid` format admits, including the ones a database may not. */
export const uuidText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.uuid().map((u) => u.toUpperCase()) },
  { weight: 1, arbitrary: fc.uuid().map((u) => `urn:uuid:${u}`) },
  { weight: 1, arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff') }
)

/** Lengths in code points, as JSON Schema counts them. */
export const codePoints = (s: string) => [...s].length

// ---------------------------------------------------------------------------------------------------------------------
// Valid values from a schema

/** Realistic values by property or parameter name (ids that exist, identities that are registered), mixed with the schema's. */
export type Hints = (name: string | undefined, schema: JsonSchema) => fc.Arbitrary<unknown> | undefined

function typeOf (schema: JsonSchema): string | undefined {
  return Array.isArray(schema.type) ? schema.type[0] : schema.type
}

function validString (schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === 'uuid') return uuidText
  if (schema.format === 'date') return dateText
  if (schema.format === 'date-time') return dateTimeText
  if (typeof schema.pattern === 'string') return fc.stringMatching(new RegExp(schema.pattern))
  const min = schema.minLength ?? 0
  const max = schema.maxLength ?? 200
  const shortMax = Math.min(max, Math.max(min, 24))
  const fits = (s: string) => codePoints(s) >= min && codePoints(s) <= max
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength: min, maxLength: shortMax, unit: 'grapheme' }).filter(fits) },
    { weight: 1, arbitrary: fc.string({ minLength: min, maxLength: shortMax, unit: 'binary' }).filter(fits) },
    // Valid by the schema, odd for a database or a terminal: NUL, lone surrogates, bidi controls.
    { weight: 2, arbitrary: fc.tuple(fc.string({ minLength: min, maxLength: shortMax, unit: 'grapheme-ascii' }), oddText).map(([a, b]) => a + b).filter(fits) },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(Math.max(min, 1)), '中'.repeat(Math.min(max, 10_000)), '😀'.repeat(Math.min(max, 10_000))).filter(fits) }
  )
}

function validNumber (schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? (integer ? Number.MIN_SAFE_INTEGER : -1e12)
  const max = schema.maximum ?? (integer ? Number.MAX_SAFE_INTEGER : 1e12)
  const edges = fc.constantFrom(min, max, ...(min <= 0 && max >= 0 ? [0] : []))
  return fc.oneof(integer ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), edges)
}

export function validValue (schema: JsonSchema, hints: Hints, name?: string): fc.Arbitrary<unknown> {
  const fromSchema = validFromSchema(schema, hints)
  const hinted = hints(name, schema)
  return hinted === undefined ? fromSchema : fc.oneof({ weight: 3, arbitrary: hinted }, { weight: 1, arbitrary: fromSchema })
}

function validFromSchema (schema: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  const branches = schema.anyOf ?? schema.oneOf
  if (branches !== undefined) return fc.oneof(...branches.map((b) => validValue(b, hints)))
  if ('const' in schema) return fc.constant(schema.const)
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum)
  switch (typeOf(schema)) {
    case 'object': {
      const properties = schema.properties ?? {}
      const model: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [key, sub] of Object.entries(properties)) model[key] = validValue(sub, hints, key)
      const record = fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => k in properties) })
      const minProperties = schema.minProperties ?? 0
      return minProperties > 0 ? record.filter((o) => Object.keys(o).length >= minProperties) : record
    }
    case 'array': {
      const item = validValue(schema.items ?? {}, hints)
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 8, 8) }
      return schema.uniqueItems === true ? fc.uniqueArray(item, { ...constraints, selector: (v) => JSON.stringify(v) }) : fc.array(item, constraints)
    }
    case 'string': return validString(schema)
    case 'integer': return validNumber(schema, true)
    case 'number': return validNumber(schema, false)
    case 'boolean': return fc.boolean()
    case 'null': return fc.constant(null)
    default: return fc.jsonValue({ maxDepth: 2 })
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Broken values: one mutation of a valid value, at one place in it

type Path = Array<string | number>
interface ValueNode { path: Path; schema: JsonSchema | undefined; value: unknown }

export type Mutation =
  | { kind: 'drop-required' }
  | { kind: 'unknown-field'; key: string; value: unknown }
  | { kind: 'wrong-type'; value: unknown }
  | { kind: 'boundary'; at: 'below' | 'above' | 'fixed'; fixed: string }
  | { kind: 'huge-string'; value: string }
  | { kind: 'odd-unicode'; value: string; mode: 'replace' | 'append' | 'prepend' }
  | { kind: 'deep-nesting'; depth: number; shape: 'array' | 'object' }
  | { kind: 'root'; value: unknown }

const unknownKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('extra', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', 'id', 'ID', 'Type', 'type ', '$where', '\u0000', '😀', 'a.b', 'a/b', '~0', '\uD800') },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }
)

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>({ kind: 'drop-required' }),
  fc.record({ kind: fc.constant('unknown-field' as const), key: unknownKey, value: wrongTypeValue }),
  fc.record({ kind: fc.constant('wrong-type' as const), value: wrongTypeValue }),
  fc.record({ kind: fc.constant('boundary' as const), at: fc.constantFrom('below' as const, 'above' as const, 'fixed' as const), fixed: fc.constantFrom(...BOUNDARY_NUMBERS) }),
  fc.record({ kind: fc.constant('huge-string' as const), value: hugeText }),
  fc.record({ kind: fc.constant('odd-unicode' as const), value: oddText, mode: fc.constantFrom('replace' as const, 'append' as const, 'prepend' as const) }),
  fc.record({ kind: fc.constant('deep-nesting' as const), depth: fc.constantFrom(64, 1_000, 100_000), shape: fc.constantFrom('array' as const, 'object' as const) }),
  fc.record({ kind: fc.constant('root' as const), value: fc.constantFrom<unknown>([], 'text', 1, null, true, [{}], new Raw('"\uD800"')) })
)

/** The branch of an anyOf/oneOf a value was made from: the one whose required and enumerated properties it has. */
function branchOf (schema: JsonSchema | undefined, value: unknown): JsonSchema | undefined {
  const branches = schema?.anyOf ?? schema?.oneOf
  if (branches === undefined) return schema
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return branches[0]
  const object = value as Record<string, unknown>
  return branches.find((b) => (b.required ?? []).every((k) => k in object) &&
    Object.entries(b.properties ?? {}).every(([k, s]) => !(k in object) || s.enum === undefined || s.enum.includes(object[k]))) ?? branches[0]
}

function nodesOf (value: unknown, schema: JsonSchema | undefined, path: Path = [], out: ValueNode[] = []): ValueNode[] {
  const resolved = branchOf(schema, value)
  out.push({ path, schema: resolved, value })
  if (Array.isArray(value)) value.forEach((v, i) => nodesOf(v, resolved?.items, [...path, i], out))
  else if (value !== null && typeof value === 'object' && !(value instanceof Raw)) {
    for (const [k, v] of Object.entries(value)) nodesOf(v, resolved?.properties?.[k], [...path, k], out)
  }
  return out
}

/** A deep copy that keeps Raw values and own `__proto__` keys. */
function copy (value: unknown): unknown {
  if (value instanceof Raw || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(copy)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) defineKey(out, k, copy(v))
  return out
}

function defineKey (target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function replaceAt (root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value
  const out = copy(root)
  let node = out as Record<string | number, unknown>
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>
  const last = path.at(-1)!
  if (Array.isArray(node)) node[last as number] = value
  else defineKey(node, String(last), value)
  return out
}

function removeAt (root: unknown, path: Path): unknown {
  const out = copy(root)
  let node = out as Record<string | number, unknown>
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>
  delete node[path.at(-1)!]
  return out
}

export const pointerOf = (path: Path) => path.length === 0 ? '/' : path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')

const isNumeric = (schema: JsonSchema | undefined) => typeOf(schema ?? {}) === 'number' || typeOf(schema ?? {}) === 'integer'

/** Applies one mutation at the `choice`-th place where it makes sense; the label says what was done where. */
export function mutate (value: unknown, schema: JsonSchema, choice: number, m: Mutation): { label: string; value: unknown } {
  const nodes = nodesOf(value, schema)
  const pick = <T>(candidates: T[]): T | undefined => candidates.length === 0 ? undefined : candidates[choice % candidates.length]
  const isObject = (n: ValueNode) => n.value !== null && typeof n.value === 'object' && !Array.isArray(n.value) && !(n.value instanceof Raw)
  switch (m.kind) {
    case 'drop-required': {
      const places = nodes.filter(isObject).flatMap((n) => (n.schema?.required ?? []).filter((k) => k in (n.value as object)).map((k) => [...n.path, k]))
      const path = pick(places)
      return path === undefined ? { label: 'drop-required(none)', value } : { label: `drop-required@${pointerOf(path)}`, value: removeAt(value, path) }
    }
    case 'unknown-field': {
      const node = pick(nodes.filter(isObject))
      if (node === undefined) return { label: 'unknown-field(no object)', value }
      const target = copy(node.value) as Record<string, unknown>
      defineKey(target, m.key, m.value)
      return { label: `unknown-field@${pointerOf(node.path)}[${JSON.stringify(m.key)}]`, value: replaceAt(value, node.path, target) }
    }
    case 'wrong-type': {
      const node = pick(nodes)!
      return { label: `wrong-type@${pointerOf(node.path)}`, value: replaceAt(value, node.path, m.value) }
    }
    case 'boundary': {
      const numeric = nodes.filter((n) => isNumeric(n.schema))
      const node = pick(numeric.length > 0 ? numeric : nodes)!
      const s = node.schema ?? {}
      const integer = typeOf(s) === 'integer'
      const step = integer ? 1 : 1e-9
      const text = m.at === 'below' && s.minimum !== undefined ? String(s.minimum - step)
        : m.at === 'above' && s.maximum !== undefined ? String(s.maximum + step)
          : m.fixed
      return { label: `boundary@${pointerOf(node.path)}=${text}`, value: replaceAt(value, node.path, new Raw(text)) }
    }
    case 'huge-string':
    case 'odd-unicode': {
      const strings = nodes.filter((n) => typeof n.value === 'string')
      const node = pick(strings.length > 0 ? strings : nodes)!
      const current = typeof node.value === 'string' ? node.value : ''
      const text = m.kind === 'huge-string' ? m.value : m.mode === 'append' ? current + m.value : m.mode === 'prepend' ? m.value + current : m.value
      return { label: `${m.kind}@${pointerOf(node.path)}(${codePoints(text)} chars)`, value: replaceAt(value, node.path, text) }
    }
    case 'deep-nesting': {
      const node = pick(nodes)!
      const text = m.shape === 'array' ? '['.repeat(m.depth) + ']'.repeat(m.depth) : '{"a":'.repeat(m.depth) + '1' + '}'.repeat(m.depth)
      return { label: `deep-nesting@${pointerOf(node.path)}(${m.shape} ${m.depth})`, value: replaceAt(value, node.path, new Raw(text)) }
    }
    case 'root':
      return { label: `root=${short(serialize(m.value), 20)}`, value: m.value }
  }
}

/** JSON text of a value, printing Raw values as they are; keys in insertion order, own `__proto__` included. */
export function serialize (value: unknown): string {
  if (value instanceof Raw) return value.text
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

// ---------------------------------------------------------------------------------------------------------------------
// Raw bodies and content types

export const INVALID_JSON = ['{', '{"a":', "{'a':1}", '{"a":1,}', '[1,2', '"unterminated', 'NaN', 'undefined', '{"a":01}', '{"a":1e}', '--1',
  '{"a":1}{"b":2}', '{"a":"\\x41"}', '{"a":"\\u12"}', '{a:1}', '{"a":1', 'nul', 'tru', '\u0000', '{"a":"\u0000"}x', ')]}\',\n{}', '/* */{}',
  '{"a":1}//', '\uFEFF\uFEFF{}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}']

/** Content types a JSON operation must refuse (415): no parser for them. */
export const WRONG_CONTENT_TYPES: Array<{ contentType: string; payload: (json: string) => string }> = [
  { contentType: 'text/plain', payload: (json) => json },
  { contentType: 'application/xml', payload: () => '<?xml version="1.0"?><station><name>x</name></station>' },
  { contentType: 'text/xml', payload: () => '<a>1</a>' },
  { contentType: 'multipart/form-data; boundary=----fuzz', payload: () => '------fuzz\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n------fuzz--\r\n' },
  { contentType: 'application/x-www-form-urlencoded', payload: () => 'name=x&districtCode=440106' },
  { contentType: 'application/octet-stream', payload: (json) => json },
  { contentType: 'image/jpeg', payload: (json) => json }
]

/** Content types whose verdict is not fixed (JSON with parameters, cases, suffixes, garbage): anything but a 5xx. */
const ODD_CONTENT_TYPES = ['application/json; charset=utf-8', 'application/json; charset=iso-8859-1', 'application/json; charset=utf-16', 'APPLICATION/JSON',
  'application/json;;', 'application/json; foo', 'application/jsonx', 'application/json-patch+json', 'application/merge-patch+json',
  'application/problem+json', 'application/vnd.api+json', 'application/', 'json', ';', '*/*', ' application/json', 'application/json,text/plain']

export interface BodyPart {
  label: string
  contentType?: string
  payload?: string | Buffer
  /** Whether the body is JSON text the contract's schema can judge. */
  judged: boolean
}

export function rawJsonBody (validText: fc.Arbitrary<string>): fc.Arbitrary<BodyPart> {
  return fc.oneof(
    fc.constantFrom(...INVALID_JSON).map((payload): BodyPart => ({ label: `invalid-json ${short(payload, 24)}`, contentType: 'application/json', payload, judged: false })),
    fc.tuple(validText, fc.nat()).map(([text, n]): BodyPart => {
      const cut = text.length <= 1 ? 0 : 1 + (n % (text.length - 1))
      return { label: `truncated-json at ${cut}`, contentType: 'application/json', payload: text.slice(0, cut), judged: false }
    }),
    fc.constant<BodyPart>({ label: 'empty-body', contentType: 'application/json', payload: '', judged: false }),
    fc.tuple(validText, fc.constantFrom(...WRONG_CONTENT_TYPES)).map(([text, w]): BodyPart => ({ label: `content-type ${w.contentType}`, contentType: w.contentType, payload: w.payload(text), judged: false })),
    fc.tuple(validText, fc.constantFrom(...ODD_CONTENT_TYPES)).map(([text, contentType]): BodyPart => ({ label: `content-type ${contentType}`, contentType, payload: text, judged: false })),
    validText.map((text): BodyPart => ({ label: 'no-content-type', payload: text, judged: false })),
    validText.map((text): BodyPart => ({ label: 'bom-prefixed', contentType: 'application/json', payload: `\uFEFF${text}`, judged: false })),
    validText.map((text): BodyPart => ({ label: 'duplicate-keys', contentType: 'application/json', payload: text.replace(/^\{/, '{"a":1,"a":2,'), judged: false }))
  )
}

// ---------------------------------------------------------------------------------------------------------------------
// Text for path, query and header parameters

/** Percent-encodes text the way a client would, lone surrogates included (as the bytes a lax client would send). */
export function encodeLoose (text: string): string {
  let out = ''
  for (const ch of text) {
    try {
      out += encodeURIComponent(ch)
    } catch {
      const c = ch.charCodeAt(0)
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)].map((b) => `%${b.toString(16).toUpperCase()}`).join('')
    }
  }
  return out
}

/** Path segments inserted as they are: bad percent-encodings, dot segments, encoded slashes. */
const RAW_SEGMENTS = ['%ZZ', '%E0%A4%A', '%', '%00', '%2F', '%2f..%2f', '..', '.', '%2e%2e', '%C0%AE', '%FF', '%ED%A0%80', '%F0%9F%98', '%u0041', '%25', '%20', '+', ';', 'a;b=c', '%3F', '%23']

export const brokenText: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: oddText },
  { weight: 1, arbitrary: fc.constantFrom(...INJECTIONS) },
  { weight: 1, arbitrary: fc.constantFrom('1', '-1', '0', '1.5', '1e308', 'true', 'null', '[]', '{}', 'NaN', 'Infinity', '0x10') },
  { weight: 1, arbitrary: fc.uuid().map((u) => `${u}x`) },
  { weight: 1, arbitrary: fc.uuid().map((u) => u.replaceAll('-', '')) },
  { weight: 1, arbitrary: fc.uuid().map((u) => `{${u}}`) },
  { weight: 1, arbitrary: fc.integer({ min: 41, max: 5_000 }).map((n) => 'a'.repeat(n)) }
)

/** A broken path segment: already percent-encoded text, or a raw segment that is not. */
export const brokenSegment: fc.Arbitrary<{ raw: string; label: string }> = fc.oneof(
  { weight: 4, arbitrary: brokenText.map((text) => ({ raw: encodeLoose(text), label: short(text, 30) })) },
  { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS).map((raw) => ({ raw, label: `raw ${raw}` })) }
)

/** A `?cursor=` that decodes: the shapes the lists issue, with values they never issue. */
export const craftedCursor: fc.Arbitrary<string> = fc.record({
  offset: fc.option(fc.constantFrom<unknown>(0, 1, 20, -1, 1.5, 1e308, 2 ** 53, 2 ** 31, 2 ** 63, '1', null), { nil: undefined }),
  id: fc.option(fc.oneof(
    fc.constantFrom<unknown>(0, 1, -1, 2 ** 53 - 1, 2 ** 63, 1.5, '1', null),
    fc.uuid(),
    fc.stringMatching(/^[0-9a-f-]{36}$/)
  ), { nil: undefined }),
  createdAt: fc.option(fc.oneof(dateTimeText, fc.constantFrom<unknown>('1', '0', '275760-09-13T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00Z', 'Tue, 01 Dec 2026', '2026-13-01', 0)), { nil: undefined })
}).map((o) => Buffer.from(JSON.stringify(o)).toString('base64url'))

/** `?near=<lat>,<lng>` with ordinary and extreme numbers. */
export const nearText: fc.Arbitrary<string> = fc.tuple(
  fc.oneof(fc.double({ min: -90, max: 90, noNaN: true }).map(String), fc.constantFrom('90', '-90', '90.0000001', '-0', '+.5', '.5', '1e2', '00000023', '9'.repeat(30), '0.' + '1'.repeat(50), '')),
  fc.oneof(fc.double({ min: -180, max: 180, noNaN: true }).map(String), fc.constantFrom('180', '-180', '180.000001', '-0', '1.', ' 113 ', '0x10'))
).map(([lat, lng]) => `${lat},${lng}`)

/** Header text as an HTTP parser can deliver it: visible Latin-1 and spaces, long or empty. */
export const headerText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~\u00a0\u00ff\u00e9'.split('')), maxLength: 40 }),
  fc.constantFrom('', ' ', '*', 'W/"1"', '"x"', 'en;q=NaN', 'en;q=-1, zh;q=2', ',,,,', ';q=', 'en-US,en;q=0.9,zh-CN;q=0.8', '*;q=0', 'i-klingon',
    '9'.repeat(19), '-1', '0', '1.5', ' 12', "' or 1=1 --", 'a'.repeat(256), 'x'.repeat(8_000), 't=1,v1=', 'null')
)

export function short (text: string, max: number): string {
  const printable = JSON.stringify(text).slice(1, -1)
  return printable.length <= max ? printable : `${printable.slice(0, max)}…(${text.length} chars)`
}

// ---------------------------------------------------------------------------------------------------------------------
// Whole requests

export type Role = DevTokenRequest['role']

export interface World {
  stationIds: string[]
  holderIds: string[]
  applicationIds: string[]
  photoIds: string[]
  paymentCodes: string[]
  /** Registered identities first, then valid ones that are not registered. */
  identities: Array<{ countryRegion: 'CHN'; idType: 'RESIDENT_ID_CARD'; idNumber: string; name: string }>
  /** The station whose staff the station_staff tokens speak for, most of the time. */
  staffStationId: string
  token(request: DevTokenRequest): string
  /** X-Payment-Signature for a raw body, `skewSeconds` away from the service's clock. */
  sign(raw: string, skewSeconds?: number): string
  /** A small JPEG of the given size (358×441 is the accepted one), padded to `padTo` bytes. */
  jpeg(width: number, height: number, padTo?: number): Buffer
}

/** Who sends a request: the roles each operation admits, as the routes declare them. */
export const ADMITTED_ROLES: Record<string, Role[]> = {
  listStations: ['citizen', 'station_staff', 'bureau_staff', 'admin'],
  createStation: ['bureau_staff', 'admin'],
  updateStation: ['bureau_staff', 'admin'],
  registerHolder: ['bureau_staff', 'admin'],
  getHolder: ['station_staff', 'bureau_staff', 'admin'],
  getMe: ['citizen'],
  uploadPhoto: ['citizen', 'station_staff'],
  submitApplication: ['citizen'],
  listMyApplications: ['citizen'],
  getMyCurrentApplication: ['citizen'],
  getApplication: ['citizen', 'station_staff', 'bureau_staff', 'admin'],
  getApplicationTimeline: ['citizen', 'station_staff', 'bureau_staff', 'admin'],
  cancelApplication: ['citizen'],
  lookUpPaymentCode: [],
  receivePaymentNotification: [],
  streamApplicationEvents: ['citizen', 'station_staff', 'bureau_staff', 'admin'],
  queryProgress: ['citizen', 'station_staff', 'bureau_staff', 'admin'],
  createCounterApplication: ['station_staff'],
  listStationApplications: ['station_staff'],
  moveApplicationStage: ['station_staff', 'bureau_staff', 'admin'],
  decideWarranty: ['bureau_staff', 'admin'],
  listAuditEvents: ['bureau_staff', 'admin'],
  getReconciliation: ['bureau_staff', 'admin'],
  runExpirySweep: ['admin'],
  mintDevToken: []
}

const ALL_ROLES: Role[] = ['citizen', 'station_staff', 'bureau_staff', 'admin']

export interface FuzzCase {
  operationId: string
  /** What this case varies: valid, body, raw-body, path, query, header, auth or method. */
  focus: string
  label: string
  method: string
  url: string
  headers: Record<string, string>
  payload?: string | Buffer
  /** The contract's verdict on the JSON body; undefined when there is no JSON body to judge. */
  contractValid?: boolean
  /** Signed with the platform's secret: a refused delivery is still kept (payment_notifications). */
  signed: boolean
  idempotencyKey: boolean
}

interface Credentials { label: string; headers: Record<string, string> }
type SignatureMode = { mode: 'valid' | 'missing' | 'stale' | 'mismatch' } | { mode: 'text'; text: string }

function tokenRequest (role: Role, world: World, pickIdentity: number, pickStation: number): DevTokenRequest {
  switch (role) {
    case 'citizen': return { role, identity: world.identities[pickIdentity % world.identities.length]! }
    case 'station_staff': {
      const stations = [world.staffStationId, world.staffStationId, world.staffStationId, ...world.stationIds, '00000000-0000-4000-8000-000000000000']
      return { role, stationId: stations[pickStation % stations.length]! }
    }
    default: return { role }
  }
}

function credentials (op: Operation, world: World, broken: boolean): fc.Arbitrary<Credentials> {
  const admitted = ADMITTED_ROLES[op.id] ?? []
  const asRole = (roles: Role[]) => fc.tuple(fc.constantFrom(...roles), fc.nat(), fc.nat()).map(([role, i, s]): Credentials => {
    const request = tokenRequest(role, world, i, s)
    const who = request.role === 'citizen' ? `citizen#${i % world.identities.length}` : request.role === 'station_staff' ? `station_staff@${request.stationId.slice(0, 8)}` : role
    return { label: who, headers: { authorization: `Bearer ${world.token(request)}` } }
  })
  if (!broken) return admitted.length > 0 ? asRole(admitted) : fc.constant({ label: 'anonymous', headers: {} })
  const someToken = world.token({ role: 'admin' })
  const [head = '', payload = '', signature = ''] = someToken.split('.')
  const noneAlg = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`
  const failing = fc.constantFrom<Credentials>(
    { label: 'no token', headers: {} },
    { label: 'garbage token', headers: { authorization: 'Bearer garbage' } },
    { label: 'empty bearer', headers: { authorization: 'Bearer ' } },
    { label: 'basic auth', headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } },
    { label: 'tampered signature', headers: { authorization: `Bearer ${head}.${payload}.${signature.slice(0, -2)}AA` } },
    { label: 'alg none', headers: { authorization: `Bearer ${noneAlg}` } },
    { label: 'huge token', headers: { authorization: `Bearer ${'a'.repeat(16_000)}` } }
  )
  const others = ALL_ROLES.filter((r) => !admitted.includes(r))
  return others.length > 0 && admitted.length > 0 ? fc.oneof(failing, asRole(others)) : failing
}

const signatureMode: fc.Arbitrary<SignatureMode> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<SignatureMode>({ mode: 'valid' }) },
  { weight: 1, arbitrary: fc.constantFrom<SignatureMode>({ mode: 'missing' }, { mode: 'stale' }, { mode: 'mismatch' }) },
  { weight: 1, arbitrary: fc.oneof(headerText, fc.constantFrom('t=abc,v1=00', `t=1,v1=${'0'.repeat(64)}`, `t=${'9'.repeat(30)},v1=${'0'.repeat(64)}`, `t=1,t=2,v1=${'0'.repeat(64)}`, 'v1=,t=', '=', 't=,v1=x'))
    .map((text): SignatureMode => ({ mode: 'text', text })) }
)

/** Valid or broken text for a path parameter, percent-encoded. */
function pathValue (param: Parameter, world: World, broken: boolean, streaming: boolean): fc.Arbitrary<{ raw: string; label: string }> {
  if (broken) return brokenSegment
  const pools: Record<string, string[]> = {
    stationId: world.stationIds, holderId: world.holderIds, applicationId: streaming ? [] : world.applicationIds, code: world.paymentCodes
  }
  const pool = pools[param.name] ?? []
  const fromSchema = param.name === 'code' ? fc.stringMatching(/^[0-9]{20}$/) : validValue(param.schema, () => undefined).map(String)
  const value = pool.length > 0 ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: fromSchema }) : fromSchema
  return value.map((text) => ({ raw: encodeLoose(text), label: short(text, 40) }))
}

function queryText (value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function validQueryValue (param: Parameter, world: World): fc.Arbitrary<string> {
  if (param.name === 'cursor') return fc.oneof(craftedCursor, validValue(param.schema, () => undefined).map(queryText))
  if (param.name === 'near') {
    const realistic = fc.tuple(fc.double({ min: -90, max: 90, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true })).map(([a, b]) => `${a.toFixed(4)},${b.toFixed(4)}`)
    return fc.oneof({ weight: 3, arbitrary: realistic }, { weight: 1, arbitrary: nearText })
  }
  if (param.name === 'actorId') return fc.constantFrom('dev-bureau-staff', 'dev-admin', `dev-staff@${world.staffStationId.slice(0, 8)}`)
  if (param.name === 'targetId') return fc.constantFrom(...world.holderIds, ...world.applicationIds)
  return validValue(param.schema, () => undefined).map(queryText)
}

function brokenQueryValue (param: Parameter | undefined): fc.Arbitrary<string | string[]> {
  const specific: Array<fc.Arbitrary<string>> = []
  if (param?.name === 'cursor') specific.push(craftedCursor)
  if (param?.name === 'near') specific.push(nearText)
  if (param?.schema.format === 'date') specific.push(dateText)
  if (param?.schema.format === 'date-time') specific.push(dateTimeText)
  return fc.oneof(
    fc.constantFrom('', 'abc', 'true', 'null', '1.5', '-1', '0', '101', '1e2', '0x10', ' 5', '+5', '١٢', '１２', '9'.repeat(400), 'NaN', '-0', '[]', '{}'),
    brokenText,
    fc.integer({ min: 201, max: 20_000 }).map((n) => 'a'.repeat(n)),
    fc.array(fc.constantFrom('1', '20', 'x', ''), { minLength: 2, maxLength: 3 }),
    ...specific
  )
}

function validHeaderValue (param: Parameter): fc.Arbitrary<string | undefined> {
  switch (param.name) {
    // Sometimes a key seen before, so replays and reuse with another body happen too.
    case 'idempotency-key': return fc.option(fc.oneof({ weight: 1, arbitrary: fc.constantFrom('fuzz-key-1', 'fuzz-key-2') }, { weight: 3, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,40}$/) }), { nil: undefined, freq: 1 })
    case 'if-match': return fc.constantFrom('*', '"0"', 'W/"1"')
    case 'accept-language': return fc.option(fc.constantFrom('en', 'zh-CN', 'en-US,en;q=0.9', 'zh;q=0.5, en;q=0.8', '*'), { nil: undefined })
    case 'last-event-id': return fc.option(fc.stringMatching(/^[0-9]{1,18}$/), { nil: undefined })
    default: return fc.constant(undefined)
  }
}

function photoBody (world: World, broken: boolean): fc.Arbitrary<BodyPart> {
  const jpeg = (label: string, bytes: Buffer, contentType = 'image/jpeg'): BodyPart => ({ label, contentType, payload: bytes, judged: false })
  const good = fc.constantFrom(0, 1_000, 20_000).map((padTo) => jpeg(`jpeg 358x441 ${padTo}B`, world.jpeg(358, 441, padTo)))
  if (!broken) return good
  return fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 65_535 }), fc.integer({ min: 0, max: 65_535 })).map(([w, h]) => jpeg(`jpeg ${w}x${h}`, world.jpeg(w, h))),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => jpeg(`random ${bytes.length}B`, Buffer.from(bytes))),
    fc.constant(jpeg('empty', Buffer.alloc(0))),
    fc.constant(jpeg('over PHOTO_MAX_BYTES', world.jpeg(358, 441, 70_000))),
    fc.constant(jpeg('over 1 MiB', world.jpeg(358, 441, 1024 * 1024 + 16))),
    fc.constantFrom('image/png', 'application/json', 'application/octet-stream', 'text/plain', 'image/jpeg; charset=binary', 'IMAGE/JPEG', 'multipart/form-data; boundary=x', 'image/*')
      .map((contentType) => jpeg(`content-type ${contentType}`, world.jpeg(358, 441), contentType)),
    fc.constant<BodyPart>({ label: 'no-content-type', payload: world.jpeg(358, 441), judged: false })
  )
}

/** Root-level realistic bodies that the schema alone would hardly ever produce. */
function rootHint (op: Operation, world: World, hints: Hints): fc.Arbitrary<unknown> | undefined {
  if (op.id === 'queryProgress') return fc.constantFrom(...world.identities)
  const schema = op.body?.schema
  const details = schema?.properties
  if (op.id === 'createCounterApplication' && schema !== undefined && details?.changes !== undefined && details.evidence !== undefined && details.damage !== undefined) {
    // The details that go with each type (changes and evidence for INFO_CHANGE, damage for WARRANTY), so bodies reach the business rules.
    return fc.tuple(validValue(schema, hints), validValue(details.changes, hints), validValue(details.evidence, hints), validValue(details.damage, hints))
      .map(([body, changes, evidence, damage]) => {
        const { changes: _c, evidence: _e, damage: _d, ...rest } = body as Record<string, unknown>
        return { ...rest, oldCardConfirmed: true, ...(rest.type === 'INFO_CHANGE' ? { changes, evidence } : {}), ...(rest.type === 'WARRANTY' ? { damage } : {}) }
      })
  }
  return undefined
}

export function hintsFor (world: World, now: Date): Hints {
  const pool = (values: string[]) => values.length > 0 ? fc.constantFrom(...values) : undefined
  return (name, schema) => {
    switch (name) {
      // A whole identity that passes the document rules: registered, or new.
      case 'identity': return schema.required?.includes('name') === true
        ? fc.oneof(fc.constantFrom(...world.identities), fc.tuple(fc.integer({ min: 100, max: 999 }), fc.constantFrom('张三', '欧阳娜娜', '李', 'Ann Lee')).map(([seq, n]) => residentIdentity(seq, n)))
        : undefined
      case 'stationId':
      case 'pickupStationId': return pool(world.stationIds)
      case 'holderId': return pool(world.holderIds)
      case 'photoId': return pool(world.photoIds)
      case 'paymentCode': return pool(world.paymentCodes)
      // Registered numbers (look-ups, 409 collisions) and valid unregistered ones (new holders).
      case 'idNumber': return fc.oneof(fc.constantFrom(...world.identities.map((i) => i.idNumber)), fc.integer({ min: 100, max: 999 }).map((seq) => residentIdentity(seq).idNumber))
      case 'idType': return fc.constant('RESIDENT_ID_CARD')
      case 'countryRegion': return fc.constant('CHN')
      case 'photoJpegBase64': return fc.oneof(
        { weight: 3, arbitrary: fc.constant(world.jpeg(358, 441).toString('base64')) },
        { weight: 1, arbitrary: fc.constantFrom(world.jpeg(100, 100).toString('base64'), '', 'not base64!', '====') })
      case 'amountFen': return fc.constant(2000)
      case 'paidAt': return fc.integer({ min: -3_600, max: 3_600 }).map((s) => new Date(now.getTime() + s * 1000).toISOString())
      case 'issuedAt': return fc.constantFrom('2020-01-01', '2025-12-01', '2026-06-01', '2026-11-30', '2026-12-01', '2026-12-02')
      default: return undefined
    }
  }
}

interface Parts {
  credentials: Credentials
  signature: SignatureMode
  path: Array<{ raw: string; label: string }>
  query: Array<[string, string | string[] | undefined]>
  headers: Array<[string, string | undefined]>
  body: BodyPart | undefined
}

/** Requests for one operation: valid ones, and ones where exactly one part (body, path, query, header, credentials) is broken. */
export function requestArbitrary (op: Operation, world: World, now: Date): fc.Arbitrary<FuzzCase> {
  const hints = hintsFor(world, now)
  const pathParams = op.parameters.filter((p) => p.in === 'path')
  const queryParams = op.parameters.filter((p) => p.in === 'query')
  const headerParams = op.parameters.filter((p) => p.in === 'header' && p.name !== 'x-payment-signature')
  const json = op.body?.contentType === 'application/json' ? op.body : undefined
  const validate = json === undefined ? undefined : contractValidator(json.schema)

  const validJson = json === undefined ? undefined : (() => {
    const root = rootHint(op, world, hints)
    const fromSchema = validValue(json.schema, hints)
    return root === undefined ? fromSchema : fc.oneof({ weight: 3, arbitrary: root }, { weight: 1, arbitrary: fromSchema })
  })()
  const jsonPart = (label: string, value: unknown): BodyPart => ({ label, contentType: 'application/json', payload: serialize(value), judged: true })

  const validBody: fc.Arbitrary<BodyPart | undefined> = validJson !== undefined ? validJson.map((v) => jsonPart('valid', v))
    : op.body !== undefined ? photoBody(world, false)
      : fc.constant(undefined)
  const brokenBody: fc.Arbitrary<BodyPart | undefined> = validJson !== undefined && json !== undefined
    ? fc.tuple(validJson, fc.nat(), mutation).map(([v, choice, m]) => { const r = mutate(v, json.schema, choice, m); return jsonPart(r.label, r.value) })
    : op.body !== undefined ? photoBody(world, true)
      // No body in the contract: send one anyway.
      : fc.oneof(fc.jsonValue({ maxDepth: 2 }).map((v) => jsonPart('unexpected-body', v)), fc.constantFrom(...INVALID_JSON).map((payload): BodyPart => ({ label: 'unexpected-invalid-json', contentType: 'application/json', payload, judged: false })))
  const rawBody: fc.Arbitrary<BodyPart | undefined> = validJson !== undefined ? rawJsonBody(validJson.map(serialize)) : brokenBody

  const validParts = {
    credentials: credentials(op, world, false),
    signature: op.auth === 'signature' ? signatureMode : fc.constant<SignatureMode>({ mode: 'missing' }),
    path: fc.tuple(...pathParams.map((p) => pathValue(p, world, false, op.streaming))),
    query: fc.tuple(...queryParams.map((p) => (p.required ? validQueryValue(p, world) : fc.option(validQueryValue(p, world), { nil: undefined, freq: 2 })).map((v): [string, string | undefined] => [p.name, v]))),
    headers: fc.tuple(...headerParams.map((p) => validHeaderValue(p).map((v): [string, string | undefined] => [p.name, v]))),
    body: validBody
  }
  const focused = (focus: string, overrides: Partial<{ [K in keyof Parts]: fc.Arbitrary<Parts[K]> }>) =>
    fc.record({ ...validParts, ...overrides } as { [K in keyof Parts]: fc.Arbitrary<Parts[K]> }).map((parts) => assemble(op, world, focus, parts, validate))

  const choices: Array<fc.WeightedArbitrary<FuzzCase>> = [
    { weight: 3, arbitrary: focused('valid', {}) },
    { weight: op.body !== undefined ? 5 : 1, arbitrary: focused('body', { body: brokenBody }) },
    { weight: op.body !== undefined ? 2 : 1, arbitrary: focused('raw-body', { body: rawBody }) },
    { weight: 1, arbitrary: focused('auth', op.auth === 'signature' ? { signature: signatureMode.filter((s) => s.mode !== 'valid') } : { credentials: credentials(op, world, true) }) }
  ]
  if (op.undeclaredMethods.length > 0) {
    choices.push({
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(...op.undeclaredMethods), focused('method', {})).map(([method, c]) => withMethod(c, method))
    })
  }
  if (pathParams.length > 0) {
    choices.push({
      weight: 2,
      arbitrary: fc.nat({ max: pathParams.length - 1 }).chain((i) => focused('path', {
        path: fc.tuple(...pathParams.map((p, j) => pathValue(p, world, j === i, op.streaming)))
      }))
    })
  }
  {
    // Query mutations: one declared parameter broken, or an undeclared one added.
    const names = [...queryParams.map((p) => p.name), 'undeclared']
    choices.push({
      weight: queryParams.length > 0 ? 3 : 1,
      arbitrary: fc.tuple(fc.nat({ max: names.length - 1 }), fc.constantFrom('undeclared', 'limit', '__proto__', 'cursor[]', 'a'.repeat(300))).chain(([i, extraName]) => {
        const target = queryParams[i]
        return focused('query', {
          query: fc.tuple(
            fc.tuple(...queryParams.map((p) => p === target ? brokenQueryValue(p).map((v): [string, string | string[] | undefined] => [p.name, v])
              : (p.required ? validQueryValue(p, world) : fc.option(validQueryValue(p, world), { nil: undefined, freq: 2 })).map((v): [string, string | undefined] => [p.name, v]))),
            target === undefined ? brokenQueryValue(undefined).map((v): Array<[string, string | string[]]> => [[extraName, v]]) : fc.constant([])
          ).map(([declared, extra]) => [...declared, ...extra])
        })
      })
    })
  }
  if (headerParams.length > 0) {
    choices.push({
      weight: 2,
      arbitrary: fc.nat({ max: headerParams.length - 1 }).chain((i) => focused('header', {
        headers: fc.tuple(...headerParams.map((p, j) => (j === i ? headerText.filter((v) => !(op.streaming && p.name === 'last-event-id' && /^[0-9]{1,18}$/.test(v))) : validHeaderValue(p)).map((v): [string, string | undefined] => [p.name, v])))
      }))
    })
  }
  return fc.oneof(...choices)
}

function assemble (op: Operation, world: World, focus: string, parts: Parts, validate: ValidateFunction | undefined): FuzzCase {
  const segments = [...parts.path]
  let url = op.path.replace(/\{([^}]+)\}/g, () => segments.shift()?.raw ?? '')
  const query = parts.query.flatMap(([k, v]) => v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => `${encodeLoose(k)}=${encodeLoose(x)}`))
  if (query.length > 0) url += `?${query.join('&')}`

  const headers: Record<string, string> = { ...parts.credentials.headers }
  for (const [k, v] of parts.headers) if (v !== undefined) headers[k] = v
  const body = parts.body
  if (body?.contentType !== undefined) headers['content-type'] = body.contentType

  // A stream that reaches the handler never ends: only requests refused before it are sent to that route.
  if (op.streaming) {
    const lastEventId = headers['last-event-id']
    const resumable = lastEventId === undefined || /^[0-9]{1,18}$/.test(lastEventId)
    if (resumable && world.applicationIds.some((id) => url.includes(id)) && headers.authorization !== undefined) {
      url = url.replace(/[0-9a-f-]{36}/, '00000000-0000-4000-8000-000000000000')
    }
  }

  let signed = false
  if (op.auth === 'signature') {
    const raw = typeof body?.payload === 'string' ? body.payload : body?.payload?.toString('latin1') ?? ''
    const s = parts.signature
    if (s.mode === 'valid') { headers['x-payment-signature'] = world.sign(raw); signed = true }
    if (s.mode === 'stale') headers['x-payment-signature'] = world.sign(raw, -301)
    if (s.mode === 'mismatch') headers['x-payment-signature'] = world.sign(`${raw} `)
    if (s.mode === 'text') headers['x-payment-signature'] = s.text
  }

  let contractValid: boolean | undefined
  if (validate !== undefined && body?.judged === true && typeof body.payload === 'string') {
    try {
      contractValid = validate(JSON.parse(body.payload)) === true
    } catch {
      contractValid = false
    }
  }
  const label = [
    parts.credentials.label,
    op.auth === 'signature' ? `signature:${parts.signature.mode}` : undefined,
    ...parts.path.map((p) => `path ${p.label}`),
    body === undefined ? undefined : `body ${body.label}`
  ].filter((x) => x !== undefined).join('; ')
  const fuzzCase: FuzzCase = {
    operationId: op.id,
    focus,
    label,
    method: op.method,
    url,
    headers,
    ...(body?.payload === undefined ? {} : { payload: body.payload }),
    ...(contractValid === undefined ? {} : { contractValid }),
    signed,
    idempotencyKey: headers['idempotency-key'] !== undefined
  }
  // fast-check prints counterexamples with this: short enough to read, precise enough to replay.
  Object.defineProperty(fuzzCase, fc.toStringMethod, { value: () => describeCase(fuzzCase), enumerable: false })
  return fuzzCase
}

function withMethod (c: FuzzCase, method: string): FuzzCase {
  const changed: FuzzCase = { ...c, method, label: `${c.label}; method ${method}` }
  Object.defineProperty(changed, fc.toStringMethod, { value: () => describeCase(changed), enumerable: false })
  return changed
}

export function describeCase (c: FuzzCase): string {
  const headers = Object.entries(c.headers).map(([k, v]) => `${k}: ${k === 'authorization' ? short(v, 24) : short(v, 80)}`).join(' | ')
  const payload = c.payload === undefined ? '(none)' : typeof c.payload === 'string' ? `"${short(c.payload, 300)}"` : `<${c.payload.length} bytes>`
  return `${c.focus} ${c.method} ${short(c.url, 300)}\n  [${c.label}]\n  headers: ${headers}\n  body: ${payload}` +
    (c.contractValid === undefined ? '' : `\n  contract: ${c.contractValid ? 'valid' : 'invalid'} body`)
}

// ---------------------------------------------------------------------------------------------------------------------
// The database fingerprint and the checks

export type Fingerprint = Map<string, { rows: number; hash: string }>

/** Every table of the service (the migrations' bookkeeping lives in another schema). */
export async function serviceTables (database: Database): Promise<string[]> {
  const rows = rowsOf<{ name: string }>(await database.db.execute(sql`
    select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`))
  return rows.map((r) => r.name)
}

// Photos are hashed without their bytes, which are large and never change.
const ROW_TEXT: Record<string, string> = { photos: '(x.id, x.width, x.height, x.bytes, x.uploaded_by, x.created_at, md5(x.jpeg))::text' }

/** Row count and a hash of every row of every table: any insert, update or delete changes it. */
export async function fingerprint (database: Database, tables: string[]): Promise<Fingerprint> {
  const query = tables.map((t) => {
    if (!/^[a-z_]+$/.test(t)) throw new Error(`unexpected table name ${t}`)
    const text = ROW_TEXT[t] ?? 'x::text'
    return `select '${t}' as t, count(*)::int as n, coalesce(md5(string_agg(md5(${text}), ',' order by md5(${text}))), '') as h from ${t} x`
  }).join(' union all ')
  const rows = rowsOf<{ t: string; n: number; h: string }>(await database.db.execute(sql.raw(query)))
  return new Map(rows.map((r) => [r.t, { rows: Number(r.n), hash: r.h }]))
}

export function changedTables (before: Fingerprint, after: Fingerprint): Array<{ table: string; description: string }> {
  return [...after.entries()].flatMap(([table, a]) => {
    const b = before.get(table)
    if (b !== undefined && b.hash === a.hash && b.rows === a.rows) return []
    return [{ table, description: `${table} (${b?.rows ?? 0} → ${a.rows} rows${b?.rows === a.rows ? ', contents changed' : ''})` }]
  })
}

export interface Answer { statusCode: number; headers: Record<string, string | string[] | number | undefined>; body: string }

const STACK_TRACE = /\n\s+at\s|"stack"\s*:|node_modules|\/src\/[\w/.-]+\.ts|\.ts:\d+:\d+/

/** What is wrong with an answer to a fuzzed request, before looking at the database. */
export function answerViolations (c: FuzzCase, res: Answer): string[] {
  const out: string[] = []
  const status = res.statusCode
  if (status >= 500) {
    const requestId = /"requestId":"([^"]+)"/.exec(res.body)?.[1]
    out.push(`${status} ${/"code":"([^"]+)"/.exec(res.body)?.[1] ?? short(res.body, 200)}${requestId === undefined ? '' : ` (request ${requestId})`}`)
  }
  if (status >= 400) {
    const contentType = String(res.headers['content-type'] ?? '')
    if (!contentType.startsWith('application/problem+json')) out.push(`${status} with content-type "${contentType}", not application/problem+json: ${short(res.body, 200)}`)
    let problem: unknown
    try {
      problem = JSON.parse(res.body)
    } catch {
      out.push(`${status} body is not JSON: ${short(res.body, 200)}`)
    }
    if (problem !== undefined) {
      const p = problem as { code?: unknown; status?: unknown }
      if (typeof p.code !== 'string' || p.code === '') out.push(`${status} problem without a string code: ${short(res.body, 200)}`)
      if (p.status !== status) out.push(`problem status ${String(p.status)} differs from HTTP status ${status}`)
    }
    if (STACK_TRACE.test(res.body)) out.push(`${status} body carries internals: ${short(res.body, 300)}`)
  }
  if (c.contractValid === false) {
    if (status < 400) out.push(`the contract refuses this body but the service answered ${status}: ${short(res.body, 200)}`)
    else if (![400, 401, 403, 404, 413, 415, 429].includes(status)) out.push(`the contract refuses this body but it reached business rules (${status}): ${short(res.body, 200)}`)
  }
  return out
}

/** Tables a refused request may still write: the delivery log of signed notifications, the record of an idempotent answer. */
export function allowedWrites (c: FuzzCase): Set<string> {
  const allowed = new Set<string>()
  if (c.signed) allowed.add('payment_notifications')
  if (c.idempotencyKey) allowed.add('idempotency_keys')
  return allowed
}
