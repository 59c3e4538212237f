// Starts the service and the baseline servers as separate processes, so each one's CPU and memory can be read.
/* eslint-disable no-restricted-properties -- passes PATH and HOME on to the child processes */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, openSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

export interface Started {
  name: string
  pid: number
  port: number
  url: string
  stop(): Promise<void>
}

export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

async function waitReady (child: ChildProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before it was ready`)
    try {
      const response = await fetch(url)
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`not ready within ${timeoutMs} ms`)
}

export interface StartOptions {
  name: string
  script: string
  env: Record<string, string>
  readyPath: string
  logDir: string
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[]
  /** Load the script through tsx (TypeScript source); default true. */
  tsx?: boolean
  cwd?: string
}

/** `node [--import tsx] <script>` with the given environment; resolves once `readyPath` answers 2xx. */
export async function startNode (options: StartOptions): Promise<Started> {
  const port = await freePort()
  mkdirSync(options.logDir, { recursive: true })
  const log = openSync(join(options.logDir, `${options.name}.log`), 'a')
  const loader = options.tsx === false ? [] : ['--import', 'tsx']
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...loader, options.script], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env, PORT: String(port) },
    stdio: ['ignore', log, log],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd })
  })
  const url = `http://127.0.0.1:${port}`
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    await exited
    clearTimeout(timer)
  }
  try {
    await waitReady(child, url + options.readyPath, 60_000)
  } catch (error) {
    await stop()
    throw new Error(`${options.name}: ${(error as Error).message} (see ${join(options.logDir, `${options.name}.log`)})`)
  }
  return { name: options.name, pid: child.pid!, port, url, stop }
}
