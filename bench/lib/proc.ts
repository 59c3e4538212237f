// What each process costs, read from /proc: CPU time (utime + stime), resident memory and its peak.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import type pg from 'pg'

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
const TICK_MS = 1000 / CLK_TCK

/** CPU time of a process in ms (user + system), or undefined when it is gone. */
export function cpuMs (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  } catch {
    return undefined
  }
}

/** VmRSS and VmHWM (peak RSS since start or since the last resetPeak) in MB. */
export function memoryMb (pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
  } catch {
    return undefined
  }
}

/** Resets VmHWM to the current RSS (Linux clear_refs "5"); false when not permitted. */
export function resetPeak (pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/** Busy and total CPU time of the whole machine in ms (all cores). */
export function machineMs (): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number)
  const total = v.reduce((a, b) => a + b, 0)
  const idle = (v[3] ?? 0) + (v[4] ?? 0)
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS }
}

/** All processes named `postgres`, with their CPU ms. */
function postgresProcesses (): Map<number, number> {
  const result = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue
    } catch {
      continue
    }
    const ms = cpuMs(Number(entry))
    if (ms !== undefined) result.set(Number(entry), ms)
  }
  return result
}

export interface CpuSnapshot {
  at: number
  machine: { busy: number; total: number }
  self: NodeJS.CpuUsage
  pids: Map<string, number>
  postgres: Map<number, number>
  /** Client backends connected to our databases. */
  ourBackends: Set<number>
  /** Client backends of other databases: someone else's work on a shared server. */
  foreignBackends: Set<number>
}

export interface CpuDelta {
  wallMs: number
  /**
   * CPU ms per labelled process (service, minimal, empty …), the load generator (`loadgen`, this process),
   * PostgreSQL's backends serving our databases (`postgres`) and its shared background processes
   * (`postgresBackground`: WAL writer, checkpointer …, which also work for other databases on the server).
   */
  byProcess: Record<string, number>
  /** Busy CPU ms of the machine not accounted for above: other people's work on a shared machine. */
  otherMs: number
  machineBusyMs: number
  /** Average busy cores of the machine over the interval. */
  machineBusyCores: number
}

/** Samples CPU of our processes; PostgreSQL backends of other databases count as someone else's. */
export class CpuMeter {
  constructor (private readonly admin: pg.Client, private readonly databases: () => string[], private readonly pids: () => Map<string, number>) {}

  async snapshot (): Promise<CpuSnapshot> {
    const { rows } = await this.admin.query<{ pid: number; ours: boolean }>(
      "select pid, coalesce(datname = any($1::text[]), false) as ours from pg_stat_activity where backend_type = 'client backend'",
      [this.databases()])
    const pids = new Map<string, number>()
    for (const [label, pid] of this.pids()) {
      const ms = cpuMs(pid)
      if (ms !== undefined) pids.set(label, ms)
    }
    return {
      at: performance.now(),
      machine: machineMs(),
      self: process.cpuUsage(),
      pids,
      postgres: postgresProcesses(),
      ourBackends: new Set(rows.filter((r) => r.ours).map((r) => r.pid)),
      foreignBackends: new Set(rows.filter((r) => !r.ours).map((r) => r.pid))
    }
  }

  static delta (a: CpuSnapshot, b: CpuSnapshot): CpuDelta {
    const byProcess: Record<string, number> = {}
    for (const [label, ms] of b.pids) byProcess[label] = ms - (a.pids.get(label) ?? ms)
    byProcess.loadgen = (b.self.user + b.self.system - a.self.user - a.self.system) / 1000
    let postgres = 0
    let background = 0
    for (const [pid, ms] of b.postgres) {
      const used = ms - (a.postgres.get(pid) ?? 0)
      if (b.ourBackends.has(pid) || a.ourBackends.has(pid)) postgres += used
      else if (!b.foreignBackends.has(pid) && !a.foreignBackends.has(pid)) background += used
    }
    byProcess.postgres = postgres
    byProcess.postgresBackground = background
    const machineBusyMs = b.machine.busy - a.machine.busy
    const ours = Object.values(byProcess).reduce((x, y) => x + y, 0)
    const wallMs = b.at - a.at
    return {
      wallMs,
      byProcess,
      otherMs: Math.max(0, machineBusyMs - ours),
      machineBusyMs,
      machineBusyCores: machineBusyMs / wallMs
    }
  }
}

/** Samples a process's RSS every `intervalMs` until stopped; reports the largest sample and VmHWM. */
export function sampleMemory (pid: number, intervalMs = 100): { stop(): { peakRssMb: number; hwmMb: number | undefined } } {
  const reset = resetPeak(pid)
  let peak = memoryMb(pid)?.rss ?? 0
  const timer = setInterval(() => { peak = Math.max(peak, memoryMb(pid)?.rss ?? 0) }, intervalMs)
  return {
    stop () {
      clearInterval(timer)
      const m = memoryMb(pid)
      peak = Math.max(peak, m?.rss ?? 0)
      return { peakRssMb: peak, hwmMb: reset ? m?.hwm : undefined }
    }
  }
}
