// Service processes for the scripts: spawned from src/server.ts on free ports, ready-checked, and always killed at the end.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { sleep, type Cleanup } from './checks.js'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/**
 * The environment every service of a script shares (apart from PORT and CLOCK_START); the scripts mint
 * tokens and sign notifications with loadConfig() over this same environment, so the secrets always agree.
 */
export function baseServiceEnv (databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value
  return {
    ...env,
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DEV_TOKENS: 'true',
    MIGRATE_ON_START: 'false',
    SEED_SAMPLE_DATA: 'false',
    EXPIRY_SWEEP_INTERVAL_MS: '1000',
    OUTBOX_DISPATCH_INTERVAL_MS: '200',
    PROGRESS_QUERY_LIMIT_PER_TOKEN: '100000',
    PROGRESS_QUERY_LIMIT_PER_IP: '1000000',
    ...extra
  }
}

export interface Exit { code: number | null; signal: NodeJS.Signals | null; at: number }

export interface Service {
  name: string
  port: number
  url: string
  pid: number
  child: ChildProcess
  /** performance.now() when spawned. */
  spawnedAt: number
  /** Resolves when the process has exited. */
  exited: Promise<Exit>
  alive(): boolean
  /** The last lines the process wrote (JSON log lines at LOG_LEVEL and anything on stderr). */
  output(): string[]
  /** Log lines at level error (50) or above. */
  errorLines(): string[]
  signal(signal: NodeJS.Signals): void
}

export interface ServiceSpec { name: string; env: Record<string, string> }

function spawnService (spec: ServiceSpec, port: number): Service {
  const spawnedAt = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: REPO_ROOT,
    env: { ...spec.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines: string[] = []
  const errors: string[] = []
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let pending = ''
    stream?.setEncoding('utf8')
    stream?.on('data', (chunk: string) => {
      pending += chunk
      const parts = pending.split('\n')
      pending = parts.pop() ?? ''
      for (const line of parts) {
        if (line.trim() === '') continue
        lines.push(line)
        if (lines.length > 300) lines.shift()
        try {
          if ((JSON.parse(line) as { level?: number }).level! >= 50 && errors.length < 200) errors.push(line)
        } catch { /* not a log line */ }
      }
    })
  }
  collect(child.stdout)
  collect(child.stderr)
  let exit: Exit | undefined
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => { exit = { code, signal, at: performance.now() }; resolve(exit) })
  })
  return {
    name: spec.name,
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    child,
    spawnedAt,
    exited,
    alive: () => exit === undefined,
    output: () => [...lines],
    errorLines: () => [...errors],
    signal: (signal) => { if (exit === undefined) child.kill(signal) }
  }
}

const everyChild = new Set<ChildProcess>()
process.once('exit', () => {
  // Last resort if a script dies before its cleanup ran: never leave a service behind.
  for (const child of everyChild) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

async function waitReady (service: Service, deadline: number): Promise<void> {
  while (performance.now() < deadline) {
    if (!service.alive()) break
    try {
      const res = await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch { /* not listening yet */ }
    await sleep(100)
  }
  const tail = service.output().slice(-15).join('\n')
  throw new Error(`${service.name} (pid ${service.pid}) did not become ready${service.alive() ? ' in time' : ' (it exited)'}; last output:\n${tail}`)
}

/**
 * Spawns the services together (each gets a fresh free port and its own env), waits until every one
 * answers /health/ready, and registers their termination (SIGTERM, then SIGKILL) with the cleanup.
 */
export async function startServices (specs: ServiceSpec[], cleanup: Cleanup, readyTimeoutMs = 45_000): Promise<Service[]> {
  const ports: number[] = []
  for (let i = 0; i < specs.length; i++) {
    let port = await freePort()
    while (ports.includes(port)) port = await freePort()
    ports.push(port)
  }
  const services = specs.map((spec, i) => spawnService(spec, ports[i]!))
  for (const service of services) {
    everyChild.add(service.child)
    cleanup.add(`stop ${service.name}`, async () => { await stopService(service) })
  }
  const deadline = performance.now() + readyTimeoutMs
  await Promise.all(services.map((s) => waitReady(s, deadline)))
  return services
}

/** SIGTERM, and SIGKILL if it has not exited within `graceMs`. */
export async function stopService (service: Service, graceMs = 6000): Promise<Exit> {
  if (!service.alive()) return service.exited
  service.signal('SIGTERM')
  const timer = setTimeout(() => service.signal('SIGKILL'), graceMs)
  const exit = await service.exited
  clearTimeout(timer)
  return exit
}
