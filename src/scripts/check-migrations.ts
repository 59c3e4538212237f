// `npm run migrations:check`: fails when src/db/schema.ts has changes that no committed migration holds.
import { execFileSync } from 'node:child_process'
import { cp, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
// Generate into a copy, so the check never writes to the real migrations/ folder.
// drizzle-kit wants a path relative to the project, hence a scratch folder inside it (git-ignored).
const scratch = '.migrations-check'
const copy = join(root, scratch)
await rm(copy, { recursive: true, force: true })
try {
  await cp(join(root, 'migrations'), copy, { recursive: true })
  const before = (await readdir(copy)).sort()
  execFileSync('npx', ['drizzle-kit', 'generate', '--dialect', 'postgresql', '--schema', './src/db/schema.ts', '--out', scratch, '--name', 'drift'],
    { cwd: root, stdio: 'pipe' })
  const added = (await readdir(copy)).filter((f) => !before.includes(f))
  if (added.length > 0) {
    process.stderr.write('src/db/schema.ts has changes without a migration: run `npm run migrations:generate` and commit migrations/\n')
    process.exit(1)
  }
  process.stdout.write('migrations match src/db/schema.ts\n')
} finally {
  await rm(copy, { recursive: true, force: true })
}
