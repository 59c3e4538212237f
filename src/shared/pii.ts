// Encryption at rest (AES-256-GCM) and keyed lookup hashes (HMAC-SHA256) for personal data.

import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'

export interface PiiCipher {
  /** `v1.<iv>.<tag>.<ciphertext>`, base64url parts; a fresh random IV every call. */
  encrypt(plain: string): string
  /** Throws when the value was tampered with, was made with another key, or has an unknown version. */
  decrypt(stored: string): string
  /** Deterministic keyed hash (64 lowercase hex chars) for equality lookups without decrypting. */
  hash(plain: string): string
}

export interface PiiCipherOptions {
  /** 32 bytes as 64 hex characters or base64. */
  encryptionKey: string
  /** 32 bytes as 64 hex characters or base64; must differ from encryptionKey. */
  hashKey: string
}

const VERSION = 'v1'
const ALGORITHM = 'aes-256-gcm'
const KEY_BYTES = 32
// 96-bit IVs are GCM's native size; random ones stay safe far beyond this service's volume.
const IV_BYTES = 12
const TAG_BYTES = 16
// Binds the format version into the tag, so a rewritten version prefix fails authentication.
const AAD = Buffer.from(`pii:${VERSION}`, 'utf8')

const HEX_KEY = /^[0-9a-fA-F]{64}$/
// Standard or URL-safe alphabet, padding optional: 43 characters carry 32 bytes.
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/
const BASE64URL = /^[A-Za-z0-9_-]*$/

function parseKey (value: string, label: string): Buffer {
  // The message names the key and never echoes it: this error reaches start-up logs.
  if (typeof value === 'string') {
    if (HEX_KEY.test(value)) return Buffer.from(value, 'hex')
    if (BASE64_KEY.test(value)) return Buffer.from(value, 'base64')
  }
  throw new Error(`${label} must be ${KEY_BYTES} bytes given as 64 hex characters or base64`)
}

function decodePart (part: string, expectedBytes?: number): Buffer {
  // Buffer.from(..., 'base64url') skips invalid characters silently; refuse them instead.
  if (!BASE64URL.test(part)) throw new Error('PII value is malformed')
  const bytes = Buffer.from(part, 'base64url')
  if (expectedBytes !== undefined && bytes.length !== expectedBytes) {
    throw new Error('PII value is malformed')
  }
  return bytes
}

export function createPiiCipher (opts: PiiCipherOptions): PiiCipher {
  const encryptionKey = parseKey(opts.encryptionKey, 'PII encryption key (PII_ENCRYPTION_KEY)')
  const hashKey = parseKey(opts.hashKey, 'PII hash key (PII_HASH_KEY)')
  // Key separation: a weakness or leak in one use (say, hashes exported for a lookup) must not
  // expose the other.
  if (encryptionKey.equals(hashKey)) {
    throw new Error('PII encryption key (PII_ENCRYPTION_KEY) and PII hash key (PII_HASH_KEY) must be different')
  }

  return {
    encrypt (plain: string): string {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv(ALGORITHM, encryptionKey, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(AAD)
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      const tag = cipher.getAuthTag()
      return [VERSION, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.')
    },

    decrypt (stored: string): string {
      const parts = stored.split('.')
      if (parts.length !== 4) throw new Error('PII value is malformed')
      const [version, ivText, tagText, ciphertextText] = parts as [string, string, string, string]
      if (version !== VERSION) throw new Error('PII value has an unsupported version')
      const iv = decodePart(ivText, IV_BYTES)
      const tag = decodePart(tagText, TAG_BYTES)
      const ciphertext = decodePart(ciphertextText)
      const decipher = createDecipheriv(ALGORITHM, encryptionKey, iv, { authTagLength: TAG_BYTES })
      decipher.setAAD(AAD)
      decipher.setAuthTag(tag)
      try {
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8')
      } catch {
        // Node's own message is vague; say what it means without any of the data.
        throw new Error('PII value failed authentication (tampered or encrypted with another key)')
      }
    },

    hash (plain: string): string {
      return createHmac('sha256', hashKey).update(plain, 'utf8').digest('hex')
    }
  }
}
