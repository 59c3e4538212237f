// `npm run bench` (full) or `npm run bench -- --short` / BENCH_SHORT=1 (quick, for CI): the service against
// its baselines on the local PostgreSQL, loopback only, bounded in time. See BENCHMARKS.md.
//
// Options: --short; --only=empty,submit,progress,notify,get,sweep (a subset, for debugging);
// --profile (run the service and the minimal server with --cpu-prof into bench/results/profiles/);
// --tsx (run the service from source with tsx instead of compiled as the image runs it: `node dist/server.js`);
// --sweep-rows=N (expired applications for the sweep instead of the mode's 1,000,000 or 20,000);
// --hold=S (after seeding, keep the servers up for S seconds and write their addresses and a sample request
// to bench/results/hold.json, for probing them by hand: strace, perf, autocannon).
// Environment: BENCH_DATABASE_URL, else TEST_DATABASE_URL's server, else postgres://postgres@127.0.0.1:5432/postgres.
/* eslint-disable no-restricted-properties, no-restricted-syntax -- a benchmark script: reads its environment and the wall clock directly */
import { randomBytes } from 'node:crypto'
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createTokenMinter } from '../src/auth/tokens.js'
import { loadConfig } from '../src/config.js'
import { claimsFor } from '../src/dev/claims.js'
import { signPayload } from '../src/payments/signature.js'
import { systemClock } from '../src/shared/clock.js'
import { createPiiCipher } from '../src/shared/pii.js'
import { latencyOf, median, runHttp, runPg, type HttpRequest, type Latency, type LoadResult } from './lib/load.js'
import { CpuMeter, cpuMs, memoryMb, sampleMemory, type CpuDelta } from './lib/proc.js'
import { startNode, type Started } from './lib/processes.js'
import {
  createDatabase, databaseUrl, dropDatabase, migrate, seedApplications, seedBase, seedExpired, seedHolders, vacuum, type Base, type PoolHolder
} from './lib/seed.js'
import { eventsOf, expireDueSql, getOnce, HOLDER_BY_HASH, notifyOnce, progressOnce, RECORDS_OF_HOLDER, submitOnce } from './lib/sql.js'

// ---------------------------------------------------------------- settings

const argv = process.argv.slice(2)
const SHORT = argv.includes('--short') || process.env.BENCH_SHORT === '1'
const PROFILE = argv.includes('--profile')
const FROM_SOURCE = argv.includes('--tsx')
const ONLY = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',')
const wanted = (part: string) => ONLY === undefined || ONLY.includes(part)
const SWEEP_ROWS = argv.find((a) => a.startsWith('--sweep-rows='))?.slice('--sweep-rows='.length)
const HOLD_S = Number(argv.find((a) => a.startsWith('--hold='))?.slice('--hold='.length) ?? 0)

const SETTINGS = SHORT
  ? {
      mode: 'short', durationS: 1, warmupS: 0.5, rounds: 1, connections: [1, 16, 64], minimalAt: [64], poolMax: 10,
      submitPool: 4000, notifyPool: 4000, readPool: 1000, expiredRows: 20_000, idleS: 2,
      sweepLoad: { connections: 4, rate: 100 }, scaleConnections: [1], scaleRounds: 1, quietGateMs: 0, quietBudgetMs: 0
    }
  : {
      mode: 'full', durationS: 4, warmupS: 2, rounds: 3, connections: [1, 16, 64], minimalAt: [1, 16, 64], poolMax: 10,
      submitPool: 20_000, notifyPool: 20_000, readPool: 1000, expiredRows: 1_000_000, idleS: 10,
      sweepLoad: { connections: 4, rate: 100 }, scaleConnections: [1, 16], scaleRounds: 3, quietGateMs: 5000, quietBudgetMs: 90_000
    }

if (SWEEP_ROWS !== undefined) SETTINGS.expiredRows = Number(SWEEP_ROWS)

const ROOT = new URL('..', import.meta.url).pathname
const RESULTS = join(ROOT, 'bench/results')
const LOGS = join(RESULTS, 'logs')
const log = (message: string) => process.stdout.write(`[bench ${((performance.now()) / 1000).toFixed(0).padStart(4)}s] ${message}\n`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function serverUrl (): string {
  const explicit = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  return databaseUrl(explicit !== undefined && explicit !== '' ? explicit : 'postgres://postgres@127.0.0.1:5432/postgres', 'postgres')
}

// ---------------------------------------------------------------- state and clean-up

const processes = new Map<string, Started>()
const databases: string[] = []
let buildDir: string | undefined
let admin: pg.Client
let cleaning: Promise<void> | undefined

async function cleanUp (): Promise<void> {
  cleaning ??= (async () => {
    for (const p of processes.values()) await p.stop().catch(() => undefined)
    processes.clear()
    for (const name of databases) await dropDatabase(admin, name).catch((error: unknown) => log(`could not drop ${name}: ${(error as Error).message}`))
    if ((admin as pg.Client | undefined) !== undefined) await admin.end().catch(() => undefined)
    if (buildDir !== undefined) rmSync(buildDir, { recursive: true, force: true })
  })()
  return cleaning
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { log(`${signal}: cleaning up`); void cleanUp().finally(() => process.exit(130)) })
}

const pidsOfProcesses = () => new Map([...processes].map(([label, p]) => [label, p.pid]))
let meter: CpuMeter

// ---------------------------------------------------------------- measurement

interface RunRecord extends Omit<LoadResult, 'timeline'> {
  target: string
  connections: number
  round: number
  /** Rows the run really changed (submissions made, payments recorded), counted by the reset after it. */
  effective?: number
  cpu: CpuDelta
  /** CPU ms per successful operation, per process. */
  cpuMsPerOp: Record<string, number>
  memory?: { peakRssMb: number; hwmMb: number | undefined }
  waitedForQuietMs: number
}

/**
 * Waits (up to the gate, within an overall budget) until other people's work on the machine stays under
 * 0.3 cores: on a shared machine a run that starts in the middle of someone's test suite measures them.
 */
let quietBudgetMs = SETTINGS.quietBudgetMs
async function waitForQuiet (): Promise<number> {
  if (SETTINGS.quietGateMs === 0) return 0
  const started = performance.now()
  for (;;) {
    const a = await meter.snapshot()
    await sleep(300)
    const d = CpuMeter.delta(a, await meter.snapshot())
    const waited = performance.now() - started
    if (d.otherMs / d.wallMs < 0.3 || waited > Math.min(SETTINGS.quietGateMs, quietBudgetMs)) {
      quietBudgetMs -= waited
      return waited
    }
  }
}

/**
 * Waits until the previous run's work is finished everywhere: autocannon stops counting at the end of the
 * duration, but the requests the server has accepted (up to one per connection, most queued for a pool
 * connection) still run, and would otherwise land in the next run, or after the reset of the data.
 */
async function drain (): Promise<void> {
  const deadline = performance.now() + 30_000
  let quiet = 0
  while (performance.now() < deadline && quiet < 2) {
    const { rows } = await admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and state <> 'idle' and pid <> pg_backend_pid() and datname like $1",
      [`bench_${process.pid}_%`])
    const before = [...pidsOfProcesses().values()].reduce((a, pid) => a + (cpuMs(pid) ?? 0), 0)
    await sleep(100)
    const after = [...pidsOfProcesses().values()].reduce((a, pid) => a + (cpuMs(pid) ?? 0), 0)
    quiet = rows[0]!.n === 0 && after - before <= 10 ? quiet + 1 : 0
  }
}

async function measure (target: string, connections: number, round: number, work: () => Promise<LoadResult>, memoryOf?: Started): Promise<RunRecord> {
  const waitedForQuietMs = await waitForQuiet()
  const before = await meter.snapshot()
  const memory = memoryOf === undefined ? undefined : sampleMemory(memoryOf.pid)
  const result = await work()
  const after = await meter.snapshot()
  await drain()
  const cpu = CpuMeter.delta(before, after)
  const cpuMsPerOp = Object.fromEntries(Object.entries(cpu.byProcess).map(([k, v]) => [k, result.ok > 0 ? v / result.ok : NaN]))
  const { timeline: _timeline, ...rest } = result
  return { ...rest, target, connections, round, cpu, cpuMsPerOp, waitedForQuietMs, ...(memory === undefined ? {} : { memory: memory.stop() }) }
}

interface Summary {
  target: string
  connections: number
  runs: number
  rate: number
  p50: number
  p99: number
  failed: number
  cpuMsPerOp: Record<string, number>
  machineBusyCores: number
  otherCores: number
}

function summarize (runs: RunRecord[]): Summary[] {
  const groups = new Map<string, RunRecord[]>()
  for (const r of runs) {
    const key = `${r.target}@${r.connections}`
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  return [...groups.values()].map((g) => {
    const labels = new Set(g.flatMap((r) => Object.keys(r.cpuMsPerOp)))
    return {
      target: g[0]!.target,
      connections: g[0]!.connections,
      runs: g.length,
      rate: median(g.map((r) => r.rate)),
      p50: median(g.map((r) => r.latency.p50)),
      p99: median(g.map((r) => r.latency.p99)),
      failed: g.reduce((a, r) => a + r.failed + r.errors, 0),
      cpuMsPerOp: Object.fromEntries([...labels].map((l) => [l, median(g.map((r) => r.cpuMsPerOp[l] ?? NaN))])),
      machineBusyCores: median(g.map((r) => r.cpu.machineBusyCores)),
      otherCores: median(g.map((r) => r.cpu.otherMs / r.cpu.wallMs))
    }
  })
}

// ---------------------------------------------------------------- scenarios

interface Target {
  name: 'service' | 'pg' | 'minimal'
  run(connections: number, durationS: number): Promise<LoadResult>
  memoryOf?: Started
}

interface Scenario {
  name: string
  title: string
  targets: Target[]
  /** Puts the data back as it was before a run; returns how many rows the previous run changed. */
  reset?: () => Promise<number>
}

/** Round-robin through a pool: every request or operation takes the next entry. */
function rotation<T> (items: T[]): () => T {
  let i = 0
  return () => items[i++ % items.length]!
}

const json = (value: unknown) => JSON.stringify(value)

/**
 * Compiles src/ as the image does (tsconfig.build.json) into a temporary directory, next to links to
 * node_modules and migrations, so the service runs as `node dist/server.js`: tsx would add its
 * compiler to the process (about 80 MB of RSS) and change what is measured.
 */
async function buildService (): Promise<string> {
  buildDir = mkdtempSync(join(tmpdir(), 'yufu-bench-'))
  symlinkSync(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'))
  symlinkSync(join(ROOT, 'migrations'), join(buildDir, 'migrations'))
  copyFileSync(join(ROOT, 'package.json'), join(buildDir, 'package.json'))
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc')
  const dir = buildDir
  await new Promise<void>((resolve) => {
    execFile(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist'), '--sourceMap', 'false'], { cwd: ROOT }, (error, stdout) => {
      // tsc emits even when others' work in progress has type errors; only a missing entry point is fatal.
      if (error !== null) log(`tsc reported problems (the build is used anyway):\n${stdout.split('\n').slice(0, 5).join('\n')}`)
      resolve()
    })
  })
  const entry = join(dir, 'dist/server.js')
  if (!existsSync(entry)) throw new Error('the service did not compile (no dist/server.js)')
  return entry
}

// ---------------------------------------------------------------- main

async function main (): Promise<void> {
  mkdirSync(LOGS, { recursive: true })
  const server = serverUrl()
  admin = new pg.Client({ connectionString: server, application_name: 'bench-admin' })
  await admin.connect()
  const tag = `bench_${process.pid}`
  const names = { main: `${tag}_main`, small: `${tag}_small`, big: `${tag}_big`, sweep: `${tag}_sweep` }
  meter = new CpuMeter(admin, () => Object.values(names), pidsOfProcesses)

  // Production mode with fresh secrets: what a deployment runs; the bench mints tokens and signs with the same ones.
  const secrets = {
    JWT_SECRET: randomBytes(32).toString('hex'),
    PAYMENT_WEBHOOK_SECRET: randomBytes(24).toString('hex'),
    PII_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    PII_HASH_KEY: randomBytes(32).toString('hex')
  }
  const serviceEnv = (database: string): Record<string, string> => ({
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl(server, database),
    DATABASE_POOL_MAX: String(SETTINGS.poolMax),
    LOG_LEVEL: 'warn',
    DEV_TOKENS: 'false',
    MIGRATE_ON_START: 'false',
    SEED_SAMPLE_DATA: 'false',
    PROGRESS_QUERY_LIMIT_PER_TOKEN: '100000',
    PROGRESS_QUERY_LIMIT_PER_IP: '1000000',
    EXPIRY_SWEEP_INTERVAL_MS: '86400000',
    OUTBOX_DISPATCH_INTERVAL_MS: '3600000',
    ...secrets
  })
  const config = loadConfig(serviceEnv(names.main))
  const pii = createPiiCipher(config.pii)
  const mint = createTokenMinter(config.jwt, systemClock)
  const citizenToken = (h: PoolHolder) => `Bearer ${mint(claimsFor({ role: 'citizen', identity: h.identity }, pii)).token}`
  const profileFlags = (label: string) => PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS, 'profiles', label)}`] : []
  const built = FROM_SOURCE ? undefined : buildService()
  const startService = async (label: string, database: string) => {
    const entry = built === undefined ? undefined : await built
    const started = await startNode({
      name: label, script: entry ?? 'src/server.ts', tsx: entry === undefined, cwd: ROOT, env: serviceEnv(database), readyPath: '/health/live', logDir: LOGS, nodeFlags: profileFlags(label)
    })
    processes.set(label, started)
    return started
  }
  const stopProcess = async (label: string) => {
    await processes.get(label)?.stop()
    processes.delete(label)
  }

  const meta = await machineInfo()
  log(`mode ${SETTINGS.mode}; ${meta.cpuModel}, ${meta.cores} cores; ${meta.postgres}`)
  const results: Record<string, unknown> = {
    meta, settings: SETTINGS, command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`, serviceRuntime: FROM_SOURCE ? 'node --import tsx src/server.ts' : 'node dist/server.js (tsc -p tsconfig.build.json)'
  }

  // ------------------------------------------------------------ the main database and its pools
  const now = new Date()
  databases.push(names.main)
  await createDatabase(admin, names.main)
  const mainUrl = databaseUrl(server, names.main)
  await migrate(mainUrl)
  const seedClient = new pg.Client({ connectionString: mainUrl })
  await seedClient.connect()
  await seedClient.query('set session_replication_role = replica') // no NOTIFY trigger while seeding
  const base = await seedBase(seedClient, now)
  const readers = await seedHolders(seedClient, pii, { first: 0, count: SETTINGS.readPool, photoId: base.photoId, now })
  await seedApplications(seedClient, readers, { kind: 'R', stage: 'PAID', codeYear: '97', base, now })
  const submitters = await seedHolders(seedClient, pii, { first: 100_000, count: SETTINGS.submitPool, photoId: base.photoId, now })
  const payers = await seedHolders(seedClient, pii, { first: 200_000, count: SETTINGS.notifyPool, photoId: base.photoId, now })
  await seedApplications(seedClient, payers, { kind: 'N', stage: 'AWAITING_PAYMENT', codeYear: '98', base, now })
  await seedClient.query('set session_replication_role = origin')
  await vacuum(seedClient)
  log(`seeded ${names.main}: ${readers.length} readers with an application, ${submitters.length} holders to submit, ${payers.length} unpaid applications`)

  const readerTokens = new Map(readers.map((h) => [h.index, citizenToken(h)]))
  const submitterTokens = new Map(submitters.map((h) => [h.index, citizenToken(h)]))

  const mainAdmin = seedClient
  const pool = new pg.Pool({ connectionString: mainUrl, max: SETTINGS.poolMax, connectionTimeoutMillis: 3000, idleTimeoutMillis: 30_000, application_name: 'bench-raw-pg' })
  const service = await startService('service', names.main)
  const minimal = await startNode({ name: 'minimal', script: 'bench/minimal-server.ts', cwd: ROOT, env: { DATABASE_URL: mainUrl, DATABASE_POOL_MAX: String(SETTINGS.poolMax) }, readyPath: '/health', logDir: LOGS, nodeFlags: profileFlags('minimal') })
  processes.set('minimal', minimal)
  const empty = await startNode({ name: 'empty', script: 'bench/empty-server.ts', cwd: ROOT, env: {}, readyPath: '/', logDir: LOGS })
  processes.set('empty', empty)
  const serviceBaseRss = memoryMb(service.pid)?.rss
  if (HOLD_S > 0) {
    const h = readers[0]!
    writeFileSync(join(RESULTS, 'hold.json'), JSON.stringify({
      service: { url: service.url, pid: service.pid }, minimal: { url: minimal.url, pid: minimal.pid }, empty: { url: empty.url, pid: empty.pid },
      reader: { authorization: readerTokens.get(h.index), identity: h.identity, identityHash: h.identityHash, applicationId: h.applicationId }
    }, null, 2))
    log(`holding for ${HOLD_S} s: bench/results/hold.json`)
    await sleep(HOLD_S * 1000)
  }

  const http = (target: Started, make: () => () => HttpRequest, name: 'service' | 'minimal'): Target => ({
    name,
    memoryOf: name === 'service' ? target : undefined,
    run: (connections, durationS) => runHttp({ url: target.url, connections, durationS, next: make() })
  })
  const raw = (op: () => (index: number) => Promise<unknown>): Target => ({
    name: 'pg',
    run: (connections, durationS) => runPg({ concurrency: connections, durationS, op: op() })
  })
  const JSON_TYPE = { 'content-type': 'application/json' }

  let notificationRun = 0
  const notification = (h: PoolHolder) => {
    const body = json({
      notificationId: `n-${h.paymentCode}-${notificationRun}`, paymentCode: h.paymentCode, amountFen: 2000,
      paidAt: new Date().toISOString(), platformTransactionId: `t-${h.paymentCode}-${notificationRun}`
    })
    return { body, signature: signPayload(config.paymentWebhookSecret, Math.floor(Date.now() / 1000), body) }
  }

  const scenarios: Scenario[] = [
    {
      name: 'submit',
      title: 'Submit an application (POST /v1/applications)',
      targets: [
        http(service, () => {
          const next = rotation(submitters)
          return () => {
            const h = next()
            return { method: 'POST', path: '/v1/applications', headers: { ...JSON_TYPE, authorization: submitterTokens.get(h.index)! }, body: json({ type: 'LOST', pickupStationId: base.stationIds[h.index % base.stationIds.length], oldCardConfirmed: true, photo: { source: 'CARD' } }) }
          }
        }, 'service'),
        raw(() => {
          const next = rotation(submitters)
          return () => {
            const h = next()
            return submitOnce(pool, { identityHash: h.identityHash, stationId: base.stationIds[h.index % base.stationIds.length]!, regionCode: config.paymentRegionCode, feeFen: 2000, now: new Date() })
          }
        }),
        http(minimal, () => {
          const next = rotation(submitters)
          return () => {
            const h = next()
            return { method: 'POST', path: '/submit', headers: JSON_TYPE, body: json({ h: h.identityHash, s: base.stationIds[h.index % base.stationIds.length] }) }
          }
        }, 'minimal')
      ],
      // Closes the run's submissions (as if cancelled) so every holder may apply again in the next run.
      reset: async () => {
        const { rows } = await mainAdmin.query<{ n: number }>(`
          with a as (
            update applications set status = 'CLOSED', stage = 'CANCELLED', outcome = 'CANCELLED', closed_at = now(), updated_at = now(), version = version + 1
            where status = 'IN_PROGRESS' and stage = 'AWAITING_PAYMENT' and reference_no not like 'YFB%' returning id, old_card_id
          ), p as (
            update payments set status = 'EXPIRED', updated_at = now() where application_id in (select id from a) and status = 'PENDING'
          ), c as (
            update cards set status = 'ACTIVE' where id in (select old_card_id from a) and status = 'REPORTED_LOST'
          )
          select count(*)::int as n from a`)
        return rows[0]!.n
      }
    },
    {
      name: 'progress',
      title: 'Progress query (POST /v1/progress-queries, citizen)',
      targets: [
        http(service, () => {
          const next = rotation(readers)
          return () => {
            const h = next()
            return { method: 'POST', path: '/v1/progress-queries', headers: { ...JSON_TYPE, authorization: readerTokens.get(h.index)! }, body: json(h.identity) }
          }
        }, 'service'),
        raw(() => {
          const next = rotation(readers)
          return () => { const h = next(); return progressOnce(pool, { identityHash: h.identityHash, name: h.identity.name }) }
        }),
        http(minimal, () => {
          const next = rotation(readers)
          return () => { const h = next(); return { method: 'POST', path: '/progress', headers: JSON_TYPE, body: json({ h: h.identityHash, n: h.identity.name }) } }
        }, 'minimal')
      ]
    },
    {
      name: 'notify',
      title: 'Payment notification (POST /v1/payment-notifications, signed)',
      targets: [
        http(service, () => {
          const next = rotation(payers)
          return () => {
            const { body, signature } = notification(next())
            return { method: 'POST', path: '/v1/payment-notifications', headers: { ...JSON_TYPE, 'x-payment-signature': signature }, body }
          }
        }, 'service'),
        raw(() => {
          const next = rotation(payers)
          return () => {
            const { body, signature } = notification(next())
            const n = JSON.parse(body) as { notificationId: string; paymentCode: string; amountFen: number; paidAt: string; platformTransactionId: string }
            return notifyOnce(pool, { ...n, rawBody: body, signature, now: new Date() })
          }
        }),
        http(minimal, () => {
          const next = rotation(payers)
          return () => {
            const { body, signature } = notification(next())
            return { method: 'POST', path: '/notify', headers: { 'content-type': 'text/plain', 'x-payment-signature': signature }, body }
          }
        }, 'minimal')
      ],
      // Makes the run's paid applications unpaid again, so the next run records fresh payments.
      reset: async () => {
        notificationRun++
        const { rows } = await mainAdmin.query<{ n: number }>(`
          with p as (
            update payments set status = 'PENDING', paid_at = null, platform_transaction_id = null
            where code like '44010098%' and status = 'PAID' returning application_id
          ), a as (
            update applications set stage = 'AWAITING_PAYMENT', version = 1 where id in (select application_id from p) returning id
          ), e as (
            delete from timeline_events where type = 'PAYMENT_RECEIVED' and application_id in (select id from a)
          )
          select count(*)::int as n from p`)
        return rows[0]!.n
      }
    },
    {
      name: 'get',
      title: 'One application (GET /v1/applications/{id}, citizen)',
      targets: [
        http(service, () => {
          const next = rotation(readers)
          return () => { const h = next(); return { method: 'GET', path: `/v1/applications/${h.applicationId}`, headers: { authorization: readerTokens.get(h.index)! } } }
        }, 'service'),
        raw(() => {
          const next = rotation(readers)
          return () => { const h = next(); return getOnce(pool, { applicationId: h.applicationId!, identityHash: h.identityHash }) }
        }),
        http(minimal, () => {
          const next = rotation(readers)
          return () => { const h = next(); return { method: 'GET', path: `/applications/${h.applicationId}?h=${h.identityHash}` } }
        }, 'minimal')
      ]
    }
  ]

  // ------------------------------------------------------------ (0) the empty route, the framework's limit
  if (wanted('empty')) {
    const runs: RunRecord[] = []
    for (const connections of SETTINGS.connections) {
      await runHttp({ url: empty.url, connections, durationS: SETTINGS.warmupS, next: () => ({ method: 'GET', path: '/' }) })
      await drain()
      for (let round = 1; round <= SETTINGS.rounds; round++) {
        runs.push(await measure('empty', connections, round, () => runHttp({ url: empty.url, connections, durationS: SETTINGS.durationS, next: () => ({ method: 'GET', path: '/' }) })))
      }
      log(`empty route @${connections}: ${runs.at(-1)!.rate.toFixed(0)} req/s`)
    }
    results.empty = { runs, summary: summarize(runs) }
  }

  // ------------------------------------------------------------ (1)-(4) and (6): the request types
  const requests: Record<string, { title: string; runs: RunRecord[]; summary: Summary[] }> = {}
  for (const scenario of scenarios.filter((s) => wanted(s.name))) {
    const runs: RunRecord[] = []
    for (const connections of SETTINGS.connections) {
      await vacuum(mainAdmin)
      const targets = scenario.targets.filter((t) => t.name !== 'minimal' || SETTINGS.minimalAt.includes(connections))
      for (const target of targets) {
        await scenario.reset?.()
        await target.run(connections, SETTINGS.warmupS)
        await drain()
      }
      await scenario.reset?.()
      for (let round = 1; round <= SETTINGS.rounds; round++) {
        // Alternate the order from round to round, so no target always runs first or last.
        const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!)
        for (const target of order) {
          const record = await measure(target.name, connections, round, () => target.run(connections, SETTINGS.durationS),
            target.name === 'service' && connections === 64 ? target.memoryOf : undefined)
          if (scenario.reset !== undefined) record.effective = await scenario.reset()
          runs.push(record)
          log(`${scenario.name} ${target.name}@${connections} round ${round}: ${record.rate.toFixed(0)} ops/s, p50 ${record.latency.p50.toFixed(2)} ms, p99 ${record.latency.p99.toFixed(2)} ms` +
            (record.failed + record.errors > 0 ? `, ${record.failed + record.errors} failed ${json(record.statusCodes)}` : '') +
            (record.effective !== undefined && record.effective !== record.ok ? ` (rows changed: ${record.effective})` : ''))
        }
      }
    }
    requests[scenario.name] = { title: scenario.title, runs, summary: summarize(runs) }
  }
  results.requests = requests

  // (6) memory: the service's peak RSS under the 64-connection runs.
  const memoryRuns = Object.entries(requests).flatMap(([name, r]) => r.runs.filter((x) => x.memory !== undefined).map((x) => ({ scenario: name, round: x.round, ...x.memory! })))
  results.memory = {
    serviceRssAtStartMb: serviceBaseRss,
    peakRssMb: Math.max(...memoryRuns.map((m) => m.peakRssMb), 0),
    peakHwmMb: Math.max(...memoryRuns.map((m) => m.hwmMb ?? 0), 0),
    runs: memoryRuns
  }
  await pool.end()
  await mainAdmin.end()
  for (const label of ['service', 'minimal', 'empty']) await stopProcess(label)

  // ------------------------------------------------------------ (5) the sweep, (7) progress with 1,000 and 1,000,000 rows
  if (wanted('sweep')) results.sweep = await sweepSection({ server, names, pii, mint: (claims) => mint(claims).token, citizenToken, startService, stopProcess })

  results.quietGate = { budgetMs: SETTINGS.quietBudgetMs, waitedMs: SETTINGS.quietBudgetMs - quietBudgetMs }
  results.elapsedS = performance.now() / 1000
  results.targets = targetsOf(results)
  const markdown = renderMarkdown(results)
  // latest.* is whatever ran last; full.* / short.* keep the last complete run of each mode (partial runs: *-partial.*).
  const name = ONLY !== undefined || HOLD_S > 0 ? `${SETTINGS.mode}-partial` : SETTINGS.mode
  for (const file of ['latest', name]) {
    writeFileSync(join(RESULTS, `${file}.json`), JSON.stringify(results, null, 2))
    writeFileSync(join(RESULTS, `${file}.md`), markdown)
  }
  const explain = (results.sweep as { explain?: Record<string, string> } | undefined)?.explain
  if (explain !== undefined) writeFileSync(join(RESULTS, `${name}-explain.txt`), Object.entries(explain).map(([k, v]) => `== ${k}\n${v}\n`).join('\n'))
  process.stdout.write(`\n${markdown}\n`)
  log(`results in bench/results/latest.json and ${name}.json (and .md)`)
}

// ---------------------------------------------------------------- (5) and (7)

interface SweepDeps {
  server: string
  names: { small: string; big: string; sweep: string }
  pii: ReturnType<typeof createPiiCipher>
  mint: (claims: ReturnType<typeof claimsFor>) => string
  citizenToken: (h: PoolHolder) => string
  startService: (label: string, database: string) => Promise<Started>
  stopProcess: (label: string) => Promise<void>
}

async function sweepSection (deps: SweepDeps): Promise<Record<string, unknown>> {
  const { server, names, pii } = deps
  const now = new Date()
  const urlOf = (name: string) => databaseUrl(server, name)
  const connect = async (name: string) => {
    const client = new pg.Client({ connectionString: urlOf(name), application_name: 'bench-admin' })
    await client.connect()
    return client
  }

  // The 1,000-application database: the reader pool only.
  databases.push(names.small, names.big, names.sweep)
  await createDatabase(admin, names.small)
  await migrate(urlOf(names.small))
  let client = await connect(names.small)
  await client.query('set session_replication_role = replica')
  const base: Base = await seedBase(client, now)
  const readers = await seedHolders(client, pii, { first: 0, count: SETTINGS.readPool, photoId: base.photoId, now })
  await seedApplications(client, readers, { kind: 'R', stage: 'PAID', codeYear: '97', base, now })
  await client.query('set session_replication_role = origin')
  await vacuum(client)
  await client.end()

  // The 1,000,000-application database: a copy of it plus the expired unpaid applications; and a copy of that for the service's sweep.
  let t0 = performance.now()
  await createDatabase(admin, names.big, names.small)
  client = await connect(names.big)
  await seedExpired(client, SETTINGS.expiredRows, { base, now })
  await vacuum(client)
  await client.query('checkpoint')
  const counts = (await client.query<{ applications: number; due: number }>(
    "select count(*)::int as applications, count(*) filter (where status = 'IN_PROGRESS' and stage = 'AWAITING_PAYMENT' and expires_at <= now())::int as due from applications")).rows[0]!
  await client.end()
  await createDatabase(admin, names.sweep, names.big)
  log(`seeded ${SETTINGS.expiredRows} expired applications and copied the database in ${((performance.now() - t0) / 1000).toFixed(0)} s (${counts.applications} applications, ${counts.due} due)`)

  const tokens = new Map(readers.map((h) => [h.index, deps.citizenToken(h)]))
  const progressNext = () => {
    const next = rotation(readers)
    return (): HttpRequest => {
      const h = next()
      return { method: 'POST', path: '/v1/progress-queries', headers: { 'content-type': 'application/json', authorization: tokens.get(h.index)! }, body: json(h.identity) }
    }
  }

  // (7) progress latency with 1,000 and with 1,000,000 applications in the table, alternating.
  const small = await deps.startService('service-small', names.small)
  const swept = await deps.startService('service-sweep', names.sweep)
  const scaleRuns: RunRecord[] = []
  const targets = [{ label: 'rows-1k', service: small }, { label: 'rows-1m', service: swept }]
  for (const connections of SETTINGS.scaleConnections) {
    for (const t of targets) {
      await runHttp({ url: t.service.url, connections, durationS: SETTINGS.warmupS, next: progressNext() })
      await drain()
    }
    for (let round = 1; round <= SETTINGS.scaleRounds; round++) {
      for (const t of round % 2 === 1 ? targets : [...targets].reverse()) {
        const record = await measure(t.label, connections, round, () => runHttp({ url: t.service.url, connections, durationS: SETTINGS.durationS, next: progressNext() }))
        scaleRuns.push(record)
        log(`progress ${t.label}@${connections} round ${round}: p50 ${record.latency.p50.toFixed(2)} ms, p99 ${record.latency.p99.toFixed(2)} ms, ${record.rate.toFixed(0)} req/s`)
      }
    }
  }
  await deps.stopProcess('service-small')

  // EXPLAIN ANALYZE of the statements involved, with 1,000 and 1,000,000 rows (DML rolled back).
  const explain: Record<string, string> = {}
  const reader = readers[0]!
  for (const [label, name] of [['1k', names.small], ['1m', names.big]] as const) {
    client = await connect(name)
    const plan = async (key: string, text: string, values: unknown[], dml = false) => {
      if (dml) await client.query('begin')
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${text}`, values)
      if (dml) await client.query('rollback')
      explain[`${key} (${label})`] = rows.map((r) => r['QUERY PLAN']).join('\n')
    }
    const holder = (await client.query({ text: HOLDER_BY_HASH, values: ['DEACTIVATED', reader.identityHash, 1], rowMode: 'array' })).rows[0] as unknown[]
    await plan('progress: holder by identity hash', HOLDER_BY_HASH, ['DEACTIVATED', reader.identityHash, 1])
    await plan('progress: applications of the holder', RECORDS_OF_HOLDER, [holder[0], 50])
    const ids = (await client.query({ text: RECORDS_OF_HOLDER, values: [holder[0], 50], rowMode: 'array' })).rows.map((r: unknown[]) => r[0])
    await plan('progress: their timeline events', eventsOf(ids.length), ids)
    await plan('submit: expireDue for one holder', expireDueSql(true), [now, holder[0], 1, now, now], true)
    if (label === '1m') await plan('sweep: one batch of 500', expireDueSql(false), [now, 500, now, now], true)
    await client.end()
  }

  // (5) progress p99 idle, then during the service's sweep (POST /v1/admin/jobs/expire-unpaid), at a steady rate.
  const { connections: loadConnections, rate } = SETTINGS.sweepLoad
  const idle = await measure('progress-idle', loadConnections, 1, () =>
    runHttp({ url: swept.url, connections: loadConnections, durationS: SETTINGS.idleS, overallRate: rate, next: progressNext() }))
  log(`progress at ${rate} req/s, idle: p50 ${idle.latency.p50.toFixed(2)} ms, p99 ${idle.latency.p99.toFixed(2)} ms`)

  const adminToken = deps.mint(claimsFor({ role: 'admin', subject: 'bench-admin' }, pii))
  let sweepMs = 0
  let sweepAnswer = ''
  let sweepStart = 0
  let sweepEnd = 0
  let timeline: Array<[number, number]> = []
  const during = await measure('service-sweep', loadConnections, 1, async () => {
    const load = runHttp({
      url: swept.url, connections: loadConnections, durationS: 3600, overallRate: rate, next: progressNext(), keepTimeline: true,
      onStart: (stop) => {
        void (async () => {
          await sleep(1000)
          const started = performance.now()
          sweepStart = started
          sweepAnswer = await post(`${swept.url}/v1/admin/jobs/expire-unpaid`, { authorization: `Bearer ${adminToken}` })
          sweepEnd = performance.now()
          sweepMs = sweepEnd - started
          await sleep(200)
          stop()
        })().catch((error: unknown) => { log(`sweep failed: ${(error as Error).message}`); stop() })
      }
    })
    const loadStarted = performance.now()
    const result = await load
    // Only the queries that completed while the sweep ran.
    timeline = (result.timeline ?? []).filter(([at]) => loadStarted + at >= sweepStart && loadStarted + at <= sweepEnd)
    const latencies = timeline.map(([, latency]) => latency)
    return { ...result, ok: latencies.length, latency: latencyOf(latencies), seconds: sweepMs / 1000, rate: latencies.length / (sweepMs / 1000) }
  }, swept)
  log(`service sweep: ${sweepAnswer} in ${(sweepMs / 1000).toFixed(1)} s; progress during it: p50 ${during.latency.p50.toFixed(2)} ms, p99 ${during.latency.p99.toFixed(2)} ms (${during.ok} queries)`)

  // (7) once more, after the sweep: 1,000,000 closed applications.
  const after = await measure('rows-1m-swept', 1, 1, () => runHttp({ url: swept.url, connections: 1, durationS: SETTINGS.durationS, next: progressNext() }))
  await deps.stopProcess('service-sweep')
  client = await connect(names.sweep)
  const sweptRows = (await client.query<{ n: number }>("select count(*)::int as n from applications where stage = 'EXPIRED_UNPAID'")).rows[0]!.n
  await client.end()

  // The baseline: the same closure of the same rows as one statement (the sweep's own statement, unbounded) on the identical copy.
  client = await connect(names.big)
  t0 = performance.now()
  const bulkBefore = await meter.snapshot()
  await client.query('begin')
  const bulkAnswer = (await client.query(expireDueSql(false), [now, 2_147_483_647, now, now])).rows[0] as Record<string, number>
  await client.query('commit')
  const bulkMs = performance.now() - t0
  const bulkCpu = CpuMeter.delta(bulkBefore, await meter.snapshot())
  await client.end()
  log(`bulk UPDATE: ${json(bulkAnswer)} in ${(bulkMs / 1000).toFixed(1)} s`)

  for (const name of [names.small, names.big, names.sweep]) await dropDatabase(admin, name)

  const scale = summarize(scaleRuns)
  return {
    rows: SETTINGS.expiredRows,
    applicationsInTable: counts.applications,
    service: { ms: sweepMs, answer: sweepAnswer, closedRows: sweptRows, cpu: during.cpu, memory: during.memory },
    bulk: { ms: bulkMs, answer: bulkAnswer, cpu: bulkCpu },
    ratio: sweepMs / bulkMs,
    progressLoad: { connections: loadConnections, ratePerSecond: rate },
    progressIdle: { ...idle.latency, count: idle.ok },
    progressDuringSweep: { ...during.latency, count: during.ok },
    p99Ratio: during.latency.p99 / idle.latency.p99,
    scale: { runs: scaleRuns, summary: scale, afterSweep: { ...after.latency, rate: after.rate } },
    explain
  }
}

function post (url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode} ${body}`)))
    })
    req.on('error', reject)
    req.end()
  })
}

// ---------------------------------------------------------------- machine, targets, report

async function machineInfo () {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const sh = (cmd: string, args: string[]) => { try { return execFileSync(cmd, args, { encoding: 'utf8', cwd: ROOT }).trim() } catch { return '' } }
  const settings = await admin.query<{ name: string; setting: string; unit: string | null }>(
    "select name, setting, unit from pg_settings where name in ('shared_buffers', 'fsync', 'synchronous_commit', 'autovacuum', 'max_connections', 'work_mem', 'wal_level', 'full_page_writes')")
  return {
    date: new Date().toISOString(),
    cores: cpus().length,
    nproc: sh('nproc', []),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    memoryGb: +(totalmem() / 2 ** 30).toFixed(1),
    free: sh('free', ['-h']),
    loadavgAtStart: loadavg(),
    node: process.version,
    postgres: (await admin.query<{ version: string }>('select version()')).rows[0]!.version,
    postgresSettings: Object.fromEntries(settings.rows.map((r) => [r.name, `${r.setting}${r.unit === null ? '' : ` ${r.unit}`}`])),
    git: { commit: sh('git', ['rev-parse', '--short', 'HEAD']), dirtySrc: sh('git', ['status', '--porcelain', 'src']).split('\n').filter(Boolean).length }
  }
}

interface TargetCheck { target: string; measured: string; limit: string; met: boolean }

function targetsOf (results: Record<string, unknown>): TargetCheck[] {
  const checks: TargetCheck[] = []
  const requests = (results.requests ?? {}) as Record<string, { summary: Summary[] }>
  for (const [name, r] of Object.entries(requests)) {
    const service = r.summary.find((s) => s.target === 'service' && s.connections === 64)
    const raw = r.summary.find((s) => s.target === 'pg' && s.connections === 64)
    if (service === undefined || raw === undefined) continue
    const ratio = service.rate / raw.rate
    checks.push({ target: `${name} @64: service ≥ 60% of raw pg`, measured: `${(ratio * 100).toFixed(0)}% (${service.rate.toFixed(0)} / ${raw.rate.toFixed(0)})`, limit: '≥ 60%', met: ratio >= 0.6 })
  }
  const sweep = results.sweep as undefined | { ratio: number; service: { ms: number }; bulk: { ms: number }; p99Ratio: number; progressIdle: Latency; progressDuringSweep: Latency; scale: { summary: Summary[] } }
  if (sweep !== undefined) {
    checks.push({ target: 'sweep ≤ 2× bulk UPDATE', measured: `${sweep.ratio.toFixed(2)}× (${(sweep.service.ms / 1000).toFixed(1)} s / ${(sweep.bulk.ms / 1000).toFixed(1)} s)`, limit: '≤ 2×', met: sweep.ratio <= 2 })
    checks.push({ target: 'progress p99 during sweep ≤ 2× idle', measured: `${sweep.p99Ratio.toFixed(2)}× (${sweep.progressDuringSweep.p99.toFixed(1)} / ${sweep.progressIdle.p99.toFixed(1)} ms)`, limit: '≤ 2×', met: sweep.p99Ratio <= 2 })
    for (const connections of SETTINGS.scaleConnections) {
      const k = sweep.scale.summary.find((s) => s.target === 'rows-1k' && s.connections === connections)
      const m = sweep.scale.summary.find((s) => s.target === 'rows-1m' && s.connections === connections)
      if (k === undefined || m === undefined) continue
      for (const p of ['p50', 'p99'] as const) {
        const ratio = m[p] / k[p]
        checks.push({ target: `progress ${p} @${connections}: 1,000,000 rows ≤ 1.5× 1,000 rows`, measured: `${ratio.toFixed(2)}× (${m[p].toFixed(2)} / ${k[p].toFixed(2)} ms)`, limit: '≤ 1.5×', met: ratio <= 1.5 })
      }
    }
  }
  const memory = results.memory as undefined | { peakRssMb: number; peakHwmMb: number }
  if (memory !== undefined && memory.peakRssMb > 0) {
    const peak = Math.max(memory.peakRssMb, memory.peakHwmMb)
    checks.push({ target: 'service peak RSS under the 64-connection runs', measured: `${peak.toFixed(0)} MB`, limit: '< 250 MB', met: peak < 250 })
  }
  return checks
}

const f = (n: number | undefined, digits = 0) => n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const ms = (n: number | undefined) => f(n, n !== undefined && n < 10 ? 2 : 1)

function renderMarkdown (results: Record<string, unknown>): string {
  const meta = results.meta as Awaited<ReturnType<typeof machineInfo>>
  const lines: string[] = []
  lines.push(`## Results (${SETTINGS.mode} mode, ${meta.date})`, '')
  lines.push(`Machine: ${meta.cpuModel}, ${meta.cores} cores, ${meta.memoryGb} GB; Node ${meta.node}; ${meta.postgres.split(' on ')[0]} ` +
    `(${Object.entries(meta.postgresSettings).map(([k, v]) => `${k}=${v}`).join(', ')}); commit ${meta.git.commit}` +
    (meta.git.dirtySrc > 0 ? ` with ${meta.git.dirtySrc} uncommitted change(s) under src/` : '') + '.', '')
  lines.push(`Each figure is the median of ${SETTINGS.rounds} run(s) of ${SETTINGS.durationS} s after a ${SETTINGS.warmupS} s warm-up; service, raw pg and minimal route alternate. ` +
    `Pool: ${SETTINGS.poolMax} connections everywhere. Latencies in ms.`, '')

  const empty = ((results.empty as { summary: Summary[] } | undefined)?.summary ?? [])
  const requests = (results.requests ?? {}) as Record<string, { title: string; summary: Summary[] }>
  lines.push('| request | conns | service req/s | p50 | p99 | raw pg ops/s | p50 | p99 | **service / pg** | minimal route req/s | minimal / pg | service / minimal | empty route req/s | service / empty |')
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const [name, r] of Object.entries(requests)) {
    for (const connections of SETTINGS.connections) {
      const s = r.summary.find((x) => x.target === 'service' && x.connections === connections)
      const p = r.summary.find((x) => x.target === 'pg' && x.connections === connections)
      const m = r.summary.find((x) => x.target === 'minimal' && x.connections === connections)
      const e = empty.find((x) => x.connections === connections)
      if (s === undefined) continue
      const ratio = (a?: Summary, b?: Summary) => a === undefined || b === undefined ? '–' : f(a.rate / b.rate, 2)
      lines.push(`| ${name} | ${connections} | ${f(s.rate)} | ${ms(s.p50)} | ${ms(s.p99)} | ${f(p?.rate)} | ${ms(p?.p50)} | ${ms(p?.p99)} | **${ratio(s, p)}** | ` +
        `${f(m?.rate)} | ${ratio(m, p)} | ${ratio(s, m)} | ${f(e?.rate)} | ${ratio(s, e)} |` + (s.failed > 0 ? ` (${s.failed} failed)` : ''))
    }
  }
  lines.push('')

  lines.push('CPU per operation at 64 connections (ms of CPU time per successful operation, median of the runs; "other" is the rest of the machine\'s busy time, in cores):', '')
  lines.push('"pg total / total" is the throughput ratio to raw pg that the CPU cost alone allows when the two cores are saturated, whoever else uses them.', '')
  lines.push('| request | target | HTTP server process | PostgreSQL backends | PostgreSQL background | load generator | total | pg total / total | machine busy cores | other cores |')
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
  const totalOf = (s: Summary) => (s.target === 'service' ? s.cpuMsPerOp.service ?? 0 : s.target === 'minimal' ? s.cpuMsPerOp.minimal ?? 0 : 0) +
    (s.cpuMsPerOp.postgres ?? 0) + (s.cpuMsPerOp.postgresBackground ?? 0) + (s.cpuMsPerOp.loadgen ?? 0)
  for (const [name, r] of Object.entries(requests)) {
    const raw = r.summary.find((x) => x.connections === 64 && x.target === 'pg')
    for (const s of r.summary.filter((x) => x.connections === 64)) {
      const server = s.target === 'service' ? s.cpuMsPerOp.service : s.target === 'minimal' ? s.cpuMsPerOp.minimal : undefined
      const ceiling = raw === undefined || s.target === 'pg' ? '–' : f(totalOf(raw) / totalOf(s), 2)
      lines.push(`| ${name} | ${s.target} | ${ms(server)} | ${ms(s.cpuMsPerOp.postgres)} | ${ms(s.cpuMsPerOp.postgresBackground)} | ${ms(s.cpuMsPerOp.loadgen)} | ${ms(totalOf(s))} | ${ceiling} | ${f(s.machineBusyCores, 2)} | ${f(s.otherCores, 2)} |`)
    }
  }
  for (const s of empty.filter((x) => x.connections === 64)) {
    lines.push(`| empty route | empty | ${ms(s.cpuMsPerOp.empty)} | – | – | ${ms(s.cpuMsPerOp.loadgen)} | ${ms((s.cpuMsPerOp.empty ?? 0) + (s.cpuMsPerOp.loadgen ?? 0))} | – | ${f(s.machineBusyCores, 2)} | ${f(s.otherCores, 2)} |`)
  }
  lines.push('')

  const memory = results.memory as undefined | { serviceRssAtStartMb?: number; peakRssMb: number; peakHwmMb: number }
  if (memory !== undefined && memory.peakRssMb > 0) {
    lines.push(`Service memory: ${f(memory.serviceRssAtStartMb)} MB RSS after start; peak under the 64-connection runs ${f(memory.peakRssMb)} MB sampled every 100 ms, VmHWM ${f(memory.peakHwmMb)} MB.`, '')
  }

  const sweep = results.sweep as undefined | {
    rows: number; applicationsInTable: number; service: { ms: number; closedRows: number; memory?: { peakRssMb: number; hwmMb?: number }; cpu: CpuDelta }; bulk: { ms: number; cpu: CpuDelta }; ratio: number
    progressLoad: { connections: number; ratePerSecond: number }; progressIdle: Latency & { count: number }; progressDuringSweep: Latency & { count: number }; p99Ratio: number
    scale: { summary: Summary[]; afterSweep: Latency }
  }
  if (sweep !== undefined) {
    lines.push(`Expiry sweep of ${f(sweep.rows)} expired unpaid applications (${f(sweep.applicationsInTable)} in the table):`, '')
    lines.push('| | time | service CPU | PostgreSQL CPU |')
    lines.push('|---|---:|---:|---:|')
    const pgCpu = (cpu: CpuDelta) => f(((cpu.byProcess.postgres ?? 0) + (cpu.byProcess.postgresBackground ?? 0)) / 1000, 1)
    lines.push(`| service sweep (POST /v1/admin/jobs/expire-unpaid, batches of 500) | ${f(sweep.service.ms / 1000, 1)} s | ${f((sweep.service.cpu.byProcess['service-sweep'] ?? 0) / 1000, 1)} s | ${pgCpu(sweep.service.cpu)} s |`)
    lines.push(`| baseline: the same statement once, unbounded, on an identical copy | ${f(sweep.bulk.ms / 1000, 1)} s | – | ${pgCpu(sweep.bulk.cpu)} s |`)
    lines.push(`| **ratio** | **${f(sweep.ratio, 2)}×** | | |`, '')
    lines.push(`Progress queries at ${sweep.progressLoad.ratePerSecond} req/s over ${sweep.progressLoad.connections} connections: idle p50 ${ms(sweep.progressIdle.p50)} / p99 ${ms(sweep.progressIdle.p99)} ms (${sweep.progressIdle.count} queries); ` +
      `during the sweep p50 ${ms(sweep.progressDuringSweep.p50)} / p99 ${ms(sweep.progressDuringSweep.p99)} ms (${sweep.progressDuringSweep.count} queries): **${f(sweep.p99Ratio, 2)}×**. ` +
      (sweep.service.memory === undefined ? '' : `Service peak RSS during the sweep: ${f(sweep.service.memory.peakRssMb)} MB.`), '')
    lines.push('Progress query latency by table size (closed loop, ms):', '')
    lines.push('| conns | 1,000 rows p50 | p99 | req/s | 1,000,000 rows p50 | p99 | req/s | ratio p50 | ratio p99 |')
    lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const connections of SETTINGS.scaleConnections) {
      const k = sweep.scale.summary.find((s) => s.target === 'rows-1k' && s.connections === connections)
      const m = sweep.scale.summary.find((s) => s.target === 'rows-1m' && s.connections === connections)
      if (k === undefined || m === undefined) continue
      lines.push(`| ${connections} | ${ms(k.p50)} | ${ms(k.p99)} | ${f(k.rate)} | ${ms(m.p50)} | ${ms(m.p99)} | ${f(m.rate)} | ${f(m.p50 / k.p50, 2)} | ${f(m.p99 / k.p99, 2)} |`)
    }
    lines.push('', `After the sweep (the 1,000,000 rows closed), 1 connection: p50 ${ms(sweep.scale.afterSweep.p50)} / p99 ${ms(sweep.scale.afterSweep.p99)} ms.`, '')
  }

  const targets = (results.targets ?? []) as TargetCheck[]
  lines.push('| target | measured | limit | met |', '|---|---|---|---|')
  for (const t of targets) lines.push(`| ${t.target} | ${t.measured} | ${t.limit} | ${t.met ? 'yes' : '**no**'} |`)
  if (SHORT) lines.push('', 'Short mode: targets are reported, not enforced, and the figures are too brief to quote.')
  return lines.join('\n')
}

try {
  await main()
} catch (error) {
  log(`failed: ${(error as Error).stack ?? String(error)}`)
  process.exitCode = 1
} finally {
  await cleanUp()
}
