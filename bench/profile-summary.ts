// Summarises a V8 .cpuprofile (from `npm run bench -- --profile`): self time by package or source file, and the
// hottest functions, with idle time left out.
// Usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top] [--from=<seconds>] (skip start-up: module loading, schema compilation)
import { readFileSync } from 'node:fs'

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const args = process.argv.slice(2)
const from = Number(args.find((a) => a.startsWith('--from='))?.slice('--from='.length) ?? 0) * 1e6
const [file, topArg] = args.filter((a) => !a.startsWith('--'))
if (file === undefined) {
  process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n')
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const selfUs = new Map<number, number>()
let elapsed = 0
profile.samples.forEach((id, i) => {
  elapsed += profile.timeDeltas[i] ?? 0
  if (elapsed >= from) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
})

function category (url: string, name: string): string {
  if (url === '') return `(${name || 'native'})`
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg !== null) return pkg[1]!
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0]
  const own = /\/(dist|src|bench)\/(.*)$/.exec(url)
  return own === null ? url : `${own[1]}/${own[2]}`
}

const byCategory = new Map<string, number>()
const byFunction = new Map<string, number>()
let busy = 0
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame
  if (functionName === '(idle)') continue
  busy += us
  const c = category(url, functionName)
  byCategory.set(c, (byCategory.get(c) ?? 0) + us)
  const f = `${functionName || '(anonymous)'} ${category(url, functionName)}:${lineNumber + 1}`
  byFunction.set(f, (byFunction.get(f) ?? 0) + us)
}

// Inclusive time of our own (dist/src) functions: where the service's time goes, by its own code paths.
const inclusive = new Map<string, number>()
for (const [id, us] of selfUs) {
  if (byId.get(id)!.callFrame.functionName === '(idle)') continue
  const seen = new Set<string>()
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const { functionName, url, lineNumber } = byId.get(at)!.callFrame
    if (!/\/(dist|src)\//.test(url) || url.includes('node_modules')) continue
    const key = `${functionName || '(anonymous)'} ${category(url, functionName)}:${lineNumber + 1}`
    if (seen.has(key)) continue
    seen.add(key)
    inclusive.set(key, (inclusive.get(key) ?? 0) + us)
  }
}

const wall = (profile.endTime - profile.startTime - Math.min(from, profile.endTime - profile.startTime)) / 1e6
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`
const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`)
  for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`)
}
process.stdout.write(`${file}: ${wall.toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / (wall * 1e6)).toFixed(0)}% of one core)\n`)
print('Self time by package / file', byCategory)
print('Self time by function', byFunction)
print('Inclusive time of the service\'s own functions', inclusive)
