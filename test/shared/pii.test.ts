// Tests for encryption at rest and keyed lookup hashes of personal data.

import t from 'tap'
import { createHmac, randomBytes } from 'node:crypto'
import { createPiiCipher } from '../../src/shared/pii.js'

const ENC_HEX = 'a'.repeat(64)
const HASH_HEX = '0123456789abcdef'.repeat(4)
const cipher = createPiiCipher({ encryptionKey: ENC_HEX, hashKey: HASH_HEX })

const b64url = /^[A-Za-z0-9_-]*$/

t.test('round trip', async (t) => {
  for (const plain of ['440104199001011234', '13800138000', '', '张三丰 𠀋', 'x'.repeat(10_000)]) {
    t.equal(cipher.decrypt(cipher.encrypt(plain)), plain)
  }
})

t.test('format and random IV', async (t) => {
  const a = cipher.encrypt('13800138000')
  const b = cipher.encrypt('13800138000')
  t.not(a, b, 'two encryptions of the same value differ')
  const parts = a.split('.')
  t.equal(parts.length, 4)
  t.equal(parts[0], 'v1')
  for (const part of parts.slice(1)) t.match(part, b64url)
  t.equal(Buffer.from(parts[1] as string, 'base64url').length, 12, '12-byte IV')
  t.equal(Buffer.from(parts[2] as string, 'base64url').length, 16, '16-byte tag')
  t.notMatch(a, /13800138000/)
})

t.test('tampering is detected', async (t) => {
  const stored = cipher.encrypt('440104199001011234')
  const [v, iv, tag, ct] = stored.split('.') as [string, string, string, string]
  const flip = (part: string): string => {
    const bytes = Buffer.from(part, 'base64url')
    bytes[0] = (bytes[0] as number) ^ 1
    return bytes.toString('base64url')
  }
  const auth = /failed authentication/
  t.throws(() => cipher.decrypt([v, flip(iv), tag, ct].join('.')), auth, 'IV')
  t.throws(() => cipher.decrypt([v, iv, flip(tag), ct].join('.')), auth, 'tag')
  t.throws(() => cipher.decrypt([v, iv, tag, flip(ct)].join('.')), auth, 'ciphertext')
  t.throws(() => cipher.decrypt([v, iv, tag, ct.slice(0, -2)].join('.')), auth, 'truncated ciphertext')
  t.throws(() => cipher.decrypt([v, iv, tag, ''].join('.')), auth, 'ciphertext removed')
  t.throws(() => cipher.decrypt(['v2', iv, tag, ct].join('.')), /unsupported version/)
  t.throws(() => cipher.decrypt(['v0', iv, tag, ct].join('.')), /unsupported version/)
  t.throws(() => cipher.decrypt([v, iv, tag.slice(0, 8), ct].join('.')), /malformed/, 'short tag')
  t.throws(() => cipher.decrypt([v, iv.slice(0, 8), tag, ct].join('.')), /malformed/, 'short IV')
  t.throws(() => cipher.decrypt([v, iv, tag, `${ct}!`].join('.')), /malformed/, 'bad character')
  t.throws(() => cipher.decrypt([v, `${iv}=`, tag, ct].join('.')), /malformed/, 'padding')
  t.throws(() => cipher.decrypt([v, iv, tag].join('.')), /malformed/, 'three parts')
  t.throws(() => cipher.decrypt(`${stored}.x`), /malformed/, 'five parts')
  t.throws(() => cipher.decrypt('440104199001011234'), /malformed/, 'plain text')
})

t.test('errors never carry the data', async (t) => {
  const stored = cipher.encrypt('440104199001011234')
  const other = createPiiCipher({ encryptionKey: HASH_HEX, hashKey: ENC_HEX })
  try {
    other.decrypt(stored)
    t.fail('should throw')
  } catch (err) {
    t.notMatch((err as Error).message, /4401041990/)
    t.notMatch((err as Error).message, stored)
  }
})

t.test('a different key cannot decrypt', async (t) => {
  const other = createPiiCipher({ encryptionKey: 'b'.repeat(64), hashKey: HASH_HEX })
  t.throws(() => other.decrypt(cipher.encrypt('13800138000')), /failed authentication/)
})

t.test('hash is deterministic, keyed and hex', async (t) => {
  const h = cipher.hash('CHN|RESIDENT_ID_CARD|11010519491231002X')
  t.match(h, /^[0-9a-f]{64}$/)
  t.equal(cipher.hash('CHN|RESIDENT_ID_CARD|11010519491231002X'), h)
  t.not(cipher.hash('CHN|RESIDENT_ID_CARD|110105194912310020'), h)
  t.equal(h, createHmac('sha256', Buffer.from(HASH_HEX, 'hex')).update('CHN|RESIDENT_ID_CARD|11010519491231002X').digest('hex'),
    'HMAC-SHA256 under the hash key')
  const sameHashKey = createPiiCipher({ encryptionKey: 'c'.repeat(64), hashKey: HASH_HEX })
  t.equal(sameHashKey.hash('13800138000'), cipher.hash('13800138000'), 'depends only on the hash key')
  const otherHashKey = createPiiCipher({ encryptionKey: ENC_HEX, hashKey: 'd'.repeat(64) })
  t.not(otherHashKey.hash('13800138000'), cipher.hash('13800138000'), 'depends on the hash key')
  t.not(cipher.hash(''), cipher.hash(' '))
})

t.test('key formats', async (t) => {
  const raw = randomBytes(32)
  const hashRaw = randomBytes(32)
  const fromBase64 = createPiiCipher({ encryptionKey: raw.toString('base64'), hashKey: hashRaw.toString('base64') })
  const fromHex = createPiiCipher({ encryptionKey: raw.toString('hex').toUpperCase(), hashKey: hashRaw.toString('hex') })
  const fromBase64url = createPiiCipher({ encryptionKey: raw.toString('base64url'), hashKey: hashRaw.toString('base64url') })
  t.equal(fromHex.decrypt(fromBase64.encrypt('张三')), '张三', 'hex and base64 forms are the same key')
  t.equal(fromBase64url.decrypt(fromHex.encrypt('张三')), '张三', 'unpadded base64url is accepted too')
  t.equal(fromHex.hash('a'), fromBase64.hash('a'))
})

t.test('bad keys are rejected with a message naming the key but not its value', async (t) => {
  const bad = [
    'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), '',
    randomBytes(16).toString('base64'), randomBytes(31).toString('base64'),
    randomBytes(33).toString('base64'), `${randomBytes(32).toString('base64').slice(0, 43)}*`
  ]
  for (const key of bad) {
    try {
      createPiiCipher({ encryptionKey: key, hashKey: HASH_HEX })
      t.fail('encryption key accepted')
    } catch (err) {
      t.match((err as Error).message, /PII encryption key \(PII_ENCRYPTION_KEY\) must be 32 bytes/)
      if (key !== '') t.notOk((err as Error).message.includes(key), 'key not echoed')
    }
    try {
      createPiiCipher({ encryptionKey: ENC_HEX, hashKey: key })
      t.fail('hash key accepted')
    } catch (err) {
      t.match((err as Error).message, /PII hash key \(PII_HASH_KEY\) must be 32 bytes/)
      if (key !== '') t.notOk((err as Error).message.includes(key), 'key not echoed')
    }
  }
  t.throws(() => createPiiCipher({ encryptionKey: undefined as unknown as string, hashKey: HASH_HEX }),
    /PII encryption key/, 'missing key')
})

t.test('equal keys are rejected, in any encoding', async (t) => {
  t.throws(() => createPiiCipher({ encryptionKey: ENC_HEX, hashKey: ENC_HEX }), /must be different/)
  const raw = randomBytes(32)
  t.throws(() => createPiiCipher({ encryptionKey: raw.toString('hex'), hashKey: raw.toString('base64') }),
    /must be different/)
})
