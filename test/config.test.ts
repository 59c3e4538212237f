// Configuration: defaults, validation naming the bad variable, and production refusing development secrets.
import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { ConfigError, DEV_SECRETS, loadConfig } from '../src/config.js'

const PROD_SECRETS = {
  NODE_ENV: 'production',
  JWT_SECRET: 'a-real-production-secret-of-enough-length-42',
  PAYMENT_WEBHOOK_SECRET: 'a-real-payment-webhook-secret',
  PII_ENCRYPTION_KEY: 'aa'.repeat(32),
  PII_HASH_KEY: 'bb'.repeat(32)
}

t.test('defaults give a runnable development service on the embedded database', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    env: 'development', host: '127.0.0.1', port: 3000,
    database: { kind: 'embedded', dataDir: './data' },
    migrateOnStart: true, seedSampleData: true, devTokens: false,
    paymentRegionCode: '440100',
    feesFen: { LOST: 2000, DAMAGED: 2000, INFO_CHANGE: 2000, WARRANTY: 0 },
    expirySweepIntervalMs: 60000, photoMaxBytes: 61440, logLevel: 'info', corsOrigins: []
  })
  t.equal(config.jwt.key.kind, 'secret')
})

t.test('with DATABASE_URL: a pg pool, and migrations and samples off unless asked for', async (t) => {
  const config = loadConfig({ DATABASE_URL: 'postgres://u@h:5432/db', DATABASE_POOL_MAX: '4' })
  t.same(config.database, { kind: 'postgres', url: 'postgres://u@h:5432/db', poolMax: 4 })
  t.equal(config.migrateOnStart, false)
  t.equal(config.seedSampleData, false)
  t.equal(loadConfig({ DATABASE_URL: 'postgresql://h/db', MIGRATE_ON_START: 'true' }).migrateOnStart, true)
})

t.test('explicit overrides win over the environment', async (t) => {
  t.equal(loadConfig({ PORT: '4000' }, { PORT: 5000 }).port, 5000)
  t.same(loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' }).corsOrigins, ['https://a.example', 'https://b.example'])
})

t.test('a bad value stops start-up with a message naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ PAYMENT_REGION_CODE: '4401' }, /PAYMENT_REGION_CODE/],
    [{ FEE_LOST_FEN: '-1' }, /FEE_LOST_FEN/],
    [{ FEE_DAMAGED_FEN: '20.5' }, /FEE_DAMAGED_FEN/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ DEV_TOKENS: 'yes' }, /DEV_TOKENS/],
    [{ EXPIRY_SWEEP_INTERVAL_MS: '10' }, /EXPIRY_SWEEP_INTERVAL_MS/],
    [{ JWT_SECRET: 'short' }, /JWT_SECRET/],
    [{ PII_ENCRYPTION_KEY: 'z'.repeat(40) }, /PII_ENCRYPTION_KEY/],
    [{ PII_ENCRYPTION_KEY: 'cc'.repeat(32), PII_HASH_KEY: 'cc'.repeat(32) }, /PII_HASH_KEY/],
    [{ JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----' }, /JWT_PUBLIC_KEY/],
    [{ CLOCK_START: 'tomorrow' }, /CLOCK_START/],
    [{ CLOCK_START: '2026-13-45T99:99:99Z' }, /CLOCK_START/]
  ]
  for (const [env, pattern] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message: pattern }, `${Object.keys(env).join(', ')} is refused`)
  }
})

t.test('secrets never appear in configuration errors', async (t) => {
  const secret = 'short-secret'
  try {
    loadConfig({ JWT_SECRET: secret })
    t.fail('should throw')
  } catch (error) {
    t.ok(error instanceof ConfigError)
    t.notOk((error as Error).message.includes(secret))
  }
})

t.test('production refuses development secrets, missing secrets and DEV_TOKENS', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), { message: /JWT_SECRET is required in production/ })
  t.throws(() => loadConfig({ ...PROD_SECRETS, JWT_SECRET: DEV_SECRETS.JWT_SECRET }), { message: /JWT_SECRET must not be the development value/ })
  t.throws(() => loadConfig({ ...PROD_SECRETS, PII_HASH_KEY: DEV_SECRETS.PII_HASH_KEY }), { message: /PII_HASH_KEY/ })
  t.throws(() => loadConfig({ ...PROD_SECRETS, DEV_TOKENS: 'true' }), { message: /DEV_TOKENS must not be enabled in production/ })
  t.throws(() => loadConfig({ ...PROD_SECRETS, CLOCK_START: '2026-12-01T15:59:40Z' }), { message: /CLOCK_START must not be set in production/ })
  t.same(loadConfig({ CLOCK_START: '2026-12-01T15:59:40Z' }).clockStart, new Date('2026-12-01T15:59:40Z'))
  const ok = loadConfig(PROD_SECRETS)
  t.equal(ok.env, 'production')
  t.equal(ok.paymentWebhookSecret, PROD_SECRETS.PAYMENT_WEBHOOK_SECRET)
})

t.test('a public key pins its algorithm and cannot mint development tokens', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString()
  t.match(loadConfig({ JWT_PUBLIC_KEY: rsa }).jwt.key, { kind: 'public', algorithm: 'RS256' })
  t.match(loadConfig({ JWT_PUBLIC_KEY: ec }).jwt.key, { kind: 'public', algorithm: 'ES256' })
  t.throws(() => loadConfig({ JWT_PUBLIC_KEY: ed }), { message: /RSA or P-256/ })
  t.throws(() => loadConfig({ JWT_PUBLIC_KEY: rsa, DEV_TOKENS: 'true' }), { message: /DEV_TOKENS needs JWT_SECRET/ })
  t.throws(() => loadConfig({ JWT_PUBLIC_KEY: rsa, JWT_SECRET: 'x'.repeat(40) }), { message: /mutually exclusive/ })
})
