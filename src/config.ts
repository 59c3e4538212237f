// Configuration: every environment variable is validated once, at start, into one typed object.
import { createPublicKey } from 'node:crypto'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { createPiiCipher } from './shared/pii.js'

// Development values let a newcomer start the service with no setup; production refuses them.
export const DEV_SECRETS = {
  JWT_SECRET: 'dev-only-jwt-secret-do-not-use-in-production-0000',
  PAYMENT_WEBHOOK_SECRET: 'dev-only-payment-webhook-secret',
  PII_ENCRYPTION_KEY: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
  PII_HASH_KEY: 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100'
} as const

const Bool = (description: string) => Type.Boolean({ description })
const Int = (description: string, minimum: number, maximum: number, value: number) =>
  Type.Integer({ description, minimum, maximum, default: value })

export const EnvSchema = Type.Object({
  NODE_ENV: Type.Enum(['development', 'production', 'test'], { default: 'development' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  PORT: Int('listening port', 0, 65535, 3000),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_POOL_MAX: Int('connections in the pg pool', 1, 200, 10),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  MIGRATE_ON_START: Type.Optional(Bool('apply pending migrations at start')),
  SEED_SAMPLE_DATA: Type.Optional(Bool('load the sample stations and holders into an empty database')),
  DEV_TOKENS: Type.Boolean({ default: false }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ pattern: '-----BEGIN PUBLIC KEY-----' })),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'https://id.suihaoban.example' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'yufu-card-service' }),
  PAYMENT_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  PII_ENCRYPTION_KEY: Type.Optional(Type.String({ minLength: 32 })),
  PII_HASH_KEY: Type.Optional(Type.String({ minLength: 32 })),
  PAYMENT_REGION_CODE: Type.String({ pattern: '^[0-9]{6}$', default: '440100' }),
  FEE_LOST_FEN: Int('fee for LOST in fen', 0, 1_000_000, 2000),
  FEE_DAMAGED_FEN: Int('fee for DAMAGED in fen', 0, 1_000_000, 2000),
  FEE_INFO_CHANGE_FEN: Int('fee for INFO_CHANGE in fen', 0, 1_000_000, 2000),
  EXPIRY_SWEEP_INTERVAL_MS: Int('expiry sweep interval', 1000, 86_400_000, 60_000),
  PROGRESS_QUERY_LIMIT_PER_TOKEN: Int('progress queries one token may make per window', 1, 100_000, 20),
  PROGRESS_QUERY_LIMIT_PER_IP: Int('progress queries one client address may make per window', 1, 1_000_000, 60),
  PROGRESS_QUERY_WINDOW_MS: Int('progress query rate-limit window', 100, 86_400_000, 60_000),
  SSE_HEARTBEAT_MS: Int('heartbeat interval of live event streams', 100, 300_000, 15_000),
  OUTBOX_DISPATCH_INTERVAL_MS: Int('how often queued SMS are sent', 100, 3_600_000, 5_000),
  PHOTO_MAX_BYTES: Int('largest accepted card photo', 1024, 1_048_576, 61_440),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  CORS_ORIGINS: Type.String({ default: '' }),
  TRUST_PROXY: Type.Boolean({ default: false }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  SHUTDOWN_GRACE_MS: Int('grace period on SIGTERM', 100, 120_000, 10_000),
  CLOCK_START: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' }))
})
type Env = Static<typeof EnvSchema>

export interface AppConfig {
  env: Env['NODE_ENV']
  host: string
  port: number
  database: { kind: 'postgres'; url: string; poolMax: number } | { kind: 'embedded'; dataDir: string }
  migrateOnStart: boolean
  seedSampleData: boolean
  devTokens: boolean
  jwt: {
    issuer: string
    audience: string
    /** HS256 shared secret, or a PEM public key verified with its pinned algorithm. */
    key: { kind: 'secret'; secret: string } | { kind: 'public'; publicKey: string; algorithm: 'RS256' | 'ES256' }
  }
  paymentWebhookSecret: string
  pii: { encryptionKey: string; hashKey: string }
  paymentRegionCode: string
  feesFen: { LOST: number; DAMAGED: number; INFO_CHANGE: number; WARRANTY: number }
  expirySweepIntervalMs: number
  outboxDispatchIntervalMs: number
  progressQueryLimit: { perToken: number; perIp: number; windowMs: number }
  sseHeartbeatMs: number
  photoMaxBytes: number
  logLevel: Env['LOG_LEVEL']
  corsOrigins: string[]
  trustProxy: boolean
  metricsToken: string | undefined
  shutdownGraceMs: number
  /** Test harnesses only: the service's clock starts at this instant and runs at normal speed. */
  clockStart: Date | undefined
}

export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

type Overrides = Partial<Record<keyof Env, string | number | boolean>>

/**
 * Reads the configuration. Precedence: explicit overrides, then the environment, then defaults.
 * Throws a ConfigError naming every bad variable (never its value: some are secrets).
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env, overrides: Overrides = {}): AppConfig {
  const data: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = key in overrides ? overrides[key as keyof Env] : env[key]
    if (value !== undefined && value !== '') data[key] = value
  }
  let parsed: Env
  try {
    parsed = envSchema<Env>({ schema: EnvSchema, data, dotenv: false })
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${describeEnvErrors(error)}`)
  }
  return toAppConfig(parsed)
}

function describeEnvErrors (error: unknown): string {
  const errors = (error as { errors?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> }).errors
  if (!Array.isArray(errors)) return (error as Error).message
  return errors.map((e) => {
    const name = e.instancePath.replace(/^\//, '') || String(e.params?.missingProperty ?? 'environment')
    return `${name} ${e.message ?? 'is invalid'}`
  }).join('; ')
}

function toAppConfig (env: Env): AppConfig {
  const production = env.NODE_ENV === 'production'
  const problems: string[] = []
  const secret = (name: 'JWT_SECRET' | 'PAYMENT_WEBHOOK_SECRET' | 'PII_ENCRYPTION_KEY' | 'PII_HASH_KEY'): string => {
    const value = env[name]
    if (!production) return value ?? DEV_SECRETS[name]
    if (value === undefined) problems.push(`${name} is required in production`)
    else if (value === DEV_SECRETS[name]) problems.push(`${name} must not be the development value in production`)
    return value ?? ''
  }

  if (production && env.DEV_TOKENS) problems.push('DEV_TOKENS must not be enabled in production')
  if (production && env.CLOCK_START !== undefined) problems.push('CLOCK_START must not be set in production')
  if (env.CLOCK_START !== undefined && Number.isNaN(Date.parse(env.CLOCK_START))) problems.push('CLOCK_START is not a valid instant')
  if (env.JWT_SECRET !== undefined && env.JWT_PUBLIC_KEY !== undefined) problems.push('JWT_SECRET and JWT_PUBLIC_KEY are mutually exclusive')

  let jwtKey: AppConfig['jwt']['key']
  if (env.JWT_PUBLIC_KEY !== undefined) {
    jwtKey = { kind: 'public', publicKey: env.JWT_PUBLIC_KEY, algorithm: publicKeyAlgorithm(env.JWT_PUBLIC_KEY, problems) }
    if (env.DEV_TOKENS) problems.push('DEV_TOKENS needs JWT_SECRET: tokens cannot be minted with a public key')
  } else {
    jwtKey = { kind: 'secret', secret: secret('JWT_SECRET') }
  }
  const paymentWebhookSecret = secret('PAYMENT_WEBHOOK_SECRET')
  const pii = { encryptionKey: secret('PII_ENCRYPTION_KEY'), hashKey: secret('PII_HASH_KEY') }
  if (problems.length === 0) {
    try {
      createPiiCipher(pii)
    } catch (error) {
      problems.push((error as Error).message)
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)

  const embedded = env.DATABASE_URL === undefined
  return {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    database: embedded
      ? { kind: 'embedded', dataDir: env.DATA_DIR }
      : { kind: 'postgres', url: env.DATABASE_URL!, poolMax: env.DATABASE_POOL_MAX },
    migrateOnStart: env.MIGRATE_ON_START ?? embedded,
    seedSampleData: env.SEED_SAMPLE_DATA ?? embedded,
    devTokens: env.DEV_TOKENS,
    jwt: { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE, key: jwtKey },
    paymentWebhookSecret,
    pii,
    paymentRegionCode: env.PAYMENT_REGION_CODE,
    feesFen: { LOST: env.FEE_LOST_FEN, DAMAGED: env.FEE_DAMAGED_FEN, INFO_CHANGE: env.FEE_INFO_CHANGE_FEN, WARRANTY: 0 },
    expirySweepIntervalMs: env.EXPIRY_SWEEP_INTERVAL_MS,
    outboxDispatchIntervalMs: env.OUTBOX_DISPATCH_INTERVAL_MS,
    progressQueryLimit: { perToken: env.PROGRESS_QUERY_LIMIT_PER_TOKEN, perIp: env.PROGRESS_QUERY_LIMIT_PER_IP, windowMs: env.PROGRESS_QUERY_WINDOW_MS },
    sseHeartbeatMs: env.SSE_HEARTBEAT_MS,
    photoMaxBytes: env.PHOTO_MAX_BYTES,
    logLevel: env.LOG_LEVEL,
    corsOrigins: env.CORS_ORIGINS.split(',').map((o) => o.trim()).filter((o) => o !== ''),
    trustProxy: env.TRUST_PROXY,
    metricsToken: env.METRICS_TOKEN,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    clockStart: env.CLOCK_START === undefined ? undefined : new Date(env.CLOCK_START)
  }
}

function publicKeyAlgorithm (pem: string, problems: string[]): 'RS256' | 'ES256' {
  try {
    const key = createPublicKey(pem)
    if (key.asymmetricKeyType === 'rsa') return 'RS256'
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
    problems.push('JWT_PUBLIC_KEY must be an RSA or P-256 EC public key')
  } catch {
    problems.push('JWT_PUBLIC_KEY is not a readable PEM public key')
  }
  return 'RS256'
}
